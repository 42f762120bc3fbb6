"""The daily pipeline at a given scale: each stage called directly (the baseline), then the
same date through Airflow (`airflow dags test` with Cosmos), in one run on fresh databases.

    python -m bench.pipeline_benchmark --customers 10000 --days 90

Writes bench/results/pipeline_benchmark.md. Times are wall clock on this machine; peak memory
is the largest resident set of this process or any child (dbt, Airflow) it waited for.
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from python_tasks.config import EXPECTATIONS_DIR, REPO_ROOT, Settings
from python_tasks.warehouse import Endpoints, ensure_database, resolve, with_dbname

RESULTS = REPO_ROOT / "bench" / "results"


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def timed(label: str, fn, rows: list, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    rows.append((label, time.perf_counter() - started))
    logging.info("%s: %.1fs", label, rows[-1][1])
    return out


def fresh_endpoints(base: Endpoints, tag: str) -> Endpoints:
    import psycopg

    wh = with_dbname(base.warehouse_dsn, f"bench_{tag}_wh")
    src = with_dbname(base.warehouse_dsn, f"bench_{tag}_src")
    admin = with_dbname(base.warehouse_dsn, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        for db in (f"bench_{tag}_wh", f"bench_{tag}_src"):
            conn.execute(f'drop database if exists "{db}" with (force)')
    ensure_database(wh)
    ensure_database(src)
    return Endpoints(warehouse_dsn=wh, source_dsn=src, embedded=base.embedded)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from python_tasks.access import ensure_roles
    from python_tasks.clustering import run_clustering
    from python_tasks.exports.audience import build_campaign_members
    from python_tasks.exports.files import export_campaign_files
    from python_tasks.ingest.corebank import load_corebank
    from python_tasks.ingest.landing import load_landing
    from python_tasks.orchestration import test_dag
    from python_tasks.quality import run_quality_gate
    from python_tasks.synthetic.bank import GenerationSpec, generate
    from python_tasks.transform.dbt_build import build

    base = resolve(Settings.from_env())
    spec = GenerationSpec(customers=args.customers, days=args.days, seed=args.seed)
    run_date: date = spec.end_date
    work = Path(tempfile.mkdtemp(prefix="crm_bench_"))

    # Baseline: the same stages as plain function calls, no orchestrator.
    direct: list[tuple[str, float]] = []
    ep = fresh_endpoints(base, "direct")
    settings = Settings.from_env({**os.environ, "CRM_HOME": str(work / "direct"), "CRM_PG_DSN": ep.warehouse_dsn})
    timed("generate synthetic bank", generate, direct, ep.source_dsn, settings.landing_dir, spec)
    started = time.perf_counter()
    timed("extract core banking (COPY)", load_corebank, direct, ep.source_dsn, ep.warehouse_dsn, run_date, "bench")
    timed("load channel drops", load_landing, direct, ep.warehouse_dsn, settings.landing_dir, run_date, "bench")
    ensure_roles(ep.warehouse_dsn)
    timed("dbt build (one invocation)", build, direct, ep.warehouse_dsn, run_date)
    timed("clustering", run_clustering, direct, ep.warehouse_dsn, run_date)
    timed("campaign lists", build_campaign_members, direct, ep.warehouse_dsn, run_date)
    timed("GX gate", run_quality_gate, direct, ep.warehouse_dsn, run_date, "bench", suites_dir=EXPECTATIONS_DIR)
    timed("export files", export_campaign_files, direct, ep.warehouse_dsn, run_date, "bench", settings.export_dir)
    direct_total = time.perf_counter() - started

    # The product: the same date through Airflow and Cosmos.
    ep2 = fresh_endpoints(base, "airflow")
    settings2 = Settings.from_env({**os.environ, "CRM_HOME": str(work / "airflow"), "CRM_PG_DSN": ep2.warehouse_dsn})
    generate(ep2.source_dsn, settings2.landing_dir, spec)
    result = test_dag(settings2, ep2, run_date)
    own, children = peak_rss_mb()

    lines = [
        f"## Daily pipeline, {args.customers:,} customers x {args.days} days (run date {run_date})",
        "",
        "| stage (direct calls, the baseline) | seconds |",
        "|---|---:|",
        *[f"| {label} | {sec:.1f} |" for label, sec in direct],
        f"| **pipeline total, direct (excl. generate)** | **{direct_total:.1f}** |",
        f"| **pipeline through Airflow + Cosmos (`airflow dags test`)** | **{result.seconds:.1f}** |",
        "",
        f"Orchestration overhead: {result.seconds / direct_total:.2f}x the direct calls. "
        f"Peak RSS: this process {own:.0f} MB, largest child {children:.0f} MB.",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "pipeline_benchmark.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
