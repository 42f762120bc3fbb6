"""The run report at scale: how long ``build_report`` takes on marts of N customers.

    python -m bench.report_benchmark --customers 1000000 --date 2026-09-30

It copies a warehouse that has been built for ``--date`` (the embedded one after `make demo`,
or CRM_PG_DSN) into a scratch database, scales the date's rows of the tables the report reads
(mart_customer_tier, mart_pareto, mart_tier_movements, exports.campaign_members) to
``--customers`` by repeating the real rows under new customer ids, recomputes the Pareto ranks
and summary as the dbt models do, then builds the report ``--repeat`` times. The scratch
database is dropped at the end. Writes bench/results/report_benchmark.md.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from python_tasks.config import REPO_ROOT, Settings
from python_tasks.reporting.report import build_report
from python_tasks.warehouse import resolve, with_dbname

RESULTS = REPO_ROOT / "bench" / "results"
log = logging.getLogger("bench.report")


def _copy_database(admin_dsn: str, source_db: str, target_db: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                     "and pid <> pg_backend_pid()", (source_db,))
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(target_db)))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(target_db),
                                                                       sql.Identifier(source_db)))


def _scale(dsn: str, d: date, customers: int) -> dict[str, int]:
    """Repeat the date's rows under new ids until each customer-level table holds ``customers``."""
    with psycopg.connect(dsn) as conn:
        base = conn.execute("select count(*) from marts.mart_customer_tier where as_of_date = %s", (d,)).fetchone()[0]
        if base == 0:
            raise SystemExit(f"marts.mart_customer_tier holds no rows for {d}: build the date first (crm run)")
        copies = -(-customers // base)
        conn.execute("set work_mem = '256MB'")
        conn.execute("create temp table copies as select generate_series(1, %s - 1) as n", (copies,))

        def grow(table: str, key: str = "customer_id", date_col: str = "as_of_date") -> int:
            cols = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema || '.' || table_name = %s "
                "order by ordinal_position", (table,))]
            select = ", ".join(f"{c} || '#' || copies.n" if c == key else c for c in cols)
            conn.execute(f"insert into {table} ({', '.join(cols)}) select {select} from {table} cross join copies "
                         f"where {date_col} = %s", (d,))
            return conn.execute(f"select count(*) from {table} where {date_col} = %s", (d,)).fetchone()[0]

        sizes = {"marts.mart_customer_tier": grow("marts.mart_customer_tier")}
        if conn.execute("select to_regclass('marts.mart_tier_movements') is not null").fetchone()[0]:
            sizes["marts.mart_tier_movements"] = grow("marts.mart_tier_movements")
        if conn.execute("select to_regclass('exports.campaign_members') is not null").fetchone()[0]:
            sizes["exports.campaign_members"] = grow("exports.campaign_members")
        # The Pareto mart as dbt builds it (models/marts/mart_pareto.sql), over the scaled book.
        conn.execute("delete from marts.mart_pareto where as_of_date = %s", (d,))
        conn.execute("""
            insert into marts.mart_pareto
            with ranked as (
                select as_of_date, customer_id, profit_contribution_cny,
                       row_number() over (order by profit_contribution_cny desc, customer_id) as profit_rank,
                       count(*) over () as customers, sum(profit_contribution_cny) over () as total
                from marts.mart_customer_tier where as_of_date = %s
            )
            select as_of_date, customer_id, profit_contribution_cny, profit_rank,
                   (profit_rank::numeric / customers)::numeric(8, 6),
                   sum(profit_contribution_cny) over (order by profit_rank),
                   (sum(profit_contribution_cny) over (order by profit_rank) / nullif(total, 0))::numeric(12, 6),
                   profit_rank <= ceil(customers * 0.2)
            from ranked""", (d,))
        sizes["marts.mart_pareto"] = conn.execute("select count(*) from marts.mart_pareto where as_of_date = %s",
                                                  (d,)).fetchone()[0]
        conn.execute("""
            update marts.mart_pareto_summary s set customers = p.customers, total_profit_cny = p.total,
                   top_20pct_profit_cny = p.top, top_20pct_profit_share = (p.top / nullif(p.total, 0))::numeric(8, 4)
            from (select count(*) as customers, sum(profit_contribution_cny) as total,
                         sum(profit_contribution_cny) filter (where is_top_20pct) as top
                  from marts.mart_pareto where as_of_date = %s) p
            where s.as_of_date = %s""", (d, d))
        conn.commit()
        conn.autocommit = True
        for table in sizes:
            conn.execute(f"vacuum analyze {table}")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--date", required=True, help="a date the warehouse has built")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    d = date.fromisoformat(args.date)
    settings = Settings.from_env()
    endpoints = resolve(settings, create=False)
    source_db = psycopg.conninfo.conninfo_to_dict(endpoints.warehouse_dsn)["dbname"]
    scratch = f"{source_db}_report_bench"
    admin = with_dbname(endpoints.warehouse_dsn, "postgres")
    _copy_database(admin, source_db, scratch)
    dsn = with_dbname(endpoints.warehouse_dsn, scratch)
    try:
        started = time.perf_counter()
        sizes = _scale(dsn, d, args.customers)
        log.info("scaled in %.1fs: %s", time.perf_counter() - started, sizes)
        times = []
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                path = build_report(dsn, d, Path(out))
                times.append(time.perf_counter() - t0)
            size_mb = path.stat().st_size / 1e6
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(scratch)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Run report benchmark", "",
        f"date {d}; rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()), "",
        f"build_report, {args.repeat} runs: " + ", ".join(f"{t:.2f}s" for t in times)
        + f"; median {statistics.median(times):.2f}s; report {size_mb:.1f} MB",
    ]
    (RESULTS / "report_benchmark.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
