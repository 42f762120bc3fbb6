"""The dbt warehouse at scale: a full build, the next day's incremental build, and the same full
build through Airflow and Cosmos, in one run.

    python -m bench.dbt_scale_benchmark --customers 1000000 --days 30

1. Generate ``days + 1`` days of the synthetic bank; extract core banking as of day ``days``
   (one initial batch) and load every channel drop up to that day.
2. Copy the loaded warehouse database (``create database ... template``) to
   ``bench_scale_<n>_loaded``, so both orchestrations start from the same bytes and
   ``--reuse`` can measure the builds again without generating and loading again.
3. **Full build**: one plain ``dbt build`` as of day ``days`` (the baseline).
4. **Next day**: extract and load day ``days + 1``; ``dbt build`` again (incremental facts).
5. **Through Airflow + Cosmos**: ``airflow dags test crm_rebuild_marts`` for day ``days`` on the
   copy: the same full build as the DAG runs it (Cosmos' watcher mode: one ``dbt build`` task,
   then a task per model reporting its result), on a LocalExecutor running as many tasks at once
   as ``dbt build`` runs models (its profile's ``threads``).

``--snapshot-next-day`` keeps the warehouse as it stands before the next-day build; then
``--next-day-only`` measures that build alone again from those bytes (a profile, not the ratio).
At 1M customers the snapshot does not fit beside the warehouse on a 100 GB disk: the run then
stops after the next day's load (the copy refuses), and ``--next-day-in-place`` builds that
loaded day on the warehouse itself, once.

Writes bench/results/dbt_scale_benchmark_<customers>.md (after each stage, so a long run
that stops part way still leaves what it measured), with the slowest models of each build (from dbt's
run_results.json, kept per stage beside it) so the next optimisation starts from a profile, not a
guess.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from python_tasks.config import DBT_PROJECT_DIR, REPO_ROOT, Settings
from python_tasks.warehouse import Endpoints, ensure_database, resolve, with_dbname

RESULTS = REPO_ROOT / "bench" / "results"
log = logging.getLogger("bench.dbt_scale_benchmark")


def _admin(dsn: str) -> str:
    return with_dbname(dsn, "postgres")


def _drop(admin: str, *names: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _copy_database(admin: str, source: str, target: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target}" with (force)')
        _check_room_for_copy(conn, source)
        conn.execute(f'create database "{target}" template "{source}"')


def _check_room_for_copy(conn: psycopg.Connection, source: str) -> None:
    """Refuse a copy the disk cannot hold. A full disk mid-copy stops the server (and with it every
    later stage) rather than failing the one statement; at 1M customers each database is tens of GB."""
    try:
        size, data_dir = conn.execute("select pg_database_size(%s), current_setting('data_directory')",
                                      (source,)).fetchone()
    except psycopg.errors.InsufficientPrivilege:  # not a superuser: the server's disk is not ours either
        return
    if not Path(data_dir).is_dir():  # a server on another machine: its disk is not ours to measure
        return
    free = shutil.disk_usage(data_dir).free
    headroom = 2 * 1024**3  # the WAL of the copy, and room for the server to keep running
    if free < size + headroom:
        raise SystemExit(f"copying {source} needs {(size + headroom) / 1024**3:.1f} GB, the disk under "
                         f"{data_dir} has {free / 1024**3:.1f} GB free: drop the bench_* databases a "
                         f"--keep run left, or run without --snapshot-next-day")


def _slowest(run_results: Path, n: int = 8) -> list[tuple[str, float]]:
    results = json.loads(run_results.read_text())["results"]
    timed = sorted(((r["unique_id"].split(".")[-1], r.get("execution_time") or 0.0) for r in results),
                   key=lambda t: -t[1])
    return timed[:n]


def _keep_run_results(customers: int, stage: str) -> Path:
    """dbt overwrites run_results.json each build: keep each stage's, for the timeline of a profile."""
    from python_tasks.transform.dbt_build import target_dir

    kept = RESULTS / f"dbt_scale_benchmark_{customers}_{stage}_run_results.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target_dir() / "run_results.json", kept)
    return kept


# The per-day histories: where a next day's time goes, statement by statement.
PROFILED_MODELS = ("fct_daily_balances", "fct_transactions", "int_customer_txn_days", "int_customer_balance_days")


def _profile(run_results: Path) -> list[str]:
    """The next-day build's timeline, and its history models split into their statements."""
    from bench.dbt_profile import node_statements, render_statements, render_timeline, timeline

    lines = ["Next-day timeline (nodes of 2 s or more; seconds from the build's first node):", "",
             *render_timeline(timeline(json.loads(run_results.read_text())), min_seconds=2.0), ""]
    log = DBT_PROJECT_DIR / "logs" / "dbt.log"
    if log.exists():
        log_lines = log.read_text(errors="replace").splitlines()
        lines += [f"- {node}: {render_statements(node_statements(log_lines, node))}" for node in PROFILED_MODELS]
        lines.append("")
    return lines


def _table_rows(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("marts.fct_transactions", "marts.fct_daily_balances", "marts.mart_customer_tier")}


def render(args, generated, rows_full: dict, timings: dict[str, float], full: dict, nxt: dict | None,
           slow_full: list, slow_next: list, airflow_s: float | None, next_profile: list[str] = ()) -> str:
    full_s = timings["full build"]
    lines = [
        f"## dbt at scale: {args.customers:,} customers, {args.days} days (+1 next day)",
        "",
        f"Generated: {generated.row_counts.get('core.transactions', 0):,} transactions, "
        f"{generated.row_counts.get('core.daily_balances', 0):,} daily balances. After the full build: "
        + ", ".join(f"{k} {v:,}" for k, v in rows_full.items()) + ".",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in timings.items()],
        "",
    ]
    if nxt is not None:
        lines.append(f"- next-day build / full build: **{timings['next-day build'] / full_s:.1%}** "
                     "(target at most 10 %)")
    if airflow_s is not None:
        lines.append(f"- full build through Airflow + Cosmos / plain `dbt build`: **{airflow_s / full_s:.2f}x** "
                     f"(target at most 1.25x)")
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines += [
        f"- dbt's own elapsed time: full {full['elapsed_s']} s"
        + (f", next day {nxt['elapsed_s']} s" if nxt else "") + f"; largest child RSS {peak_children:.0f} MB",
        "",
        "Slowest nodes, full build: " + ", ".join(f"{n} {s:.1f}s" for n, s in slow_full) + ".",
        "",
    ]
    if slow_next:
        lines += ["Slowest nodes, next-day build: " + ", ".join(f"{n} {s:.1f}s" for n, s in slow_next) + ".", ""]
    lines += next_profile
    text = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"dbt_scale_benchmark_{args.customers}.md").write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-airflow", action="store_true", help="only the two plain dbt builds")
    parser.add_argument("--keep", action="store_true",
                        help="keep the benchmark databases and landing files (for inspection or --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="start from the loaded database and landing files a --keep run left")
    parser.add_argument("--reload", action="store_true",
                        help="load again from the source database and landing files a --keep run left "
                             "(skips the generation, not the load)")
    parser.add_argument("--prepare", action="store_true",
                        help="generate and load only, keeping the databases for later --reuse runs")
    parser.add_argument("--snapshot-next-day", action="store_true",
                        help="copy the warehouse to bench_scale_<n>_next_day after the next day's load, so "
                             "the next-day build can be tried again (profiling) from the same bytes")
    parser.add_argument("--airflow-only", action="store_true",
                        help="only the full build through Airflow + Cosmos, on a copy of the loaded database "
                             "a --keep run left (compare with that run's plain full build: no ratio here)")
    parser.add_argument("--next-day-only", action="store_true",
                        help="only the next-day build, on a copy of the warehouse --snapshot-next-day left "
                             "(the full build's time is not measured: no ratio)")
    parser.add_argument("--next-day-in-place", action="store_true",
                        help="only the next-day build, on the warehouse itself as a --keep run left it with "
                             "the next day loaded and not built (once: the build changes those bytes)")
    parser.add_argument("--warehouse-suffix", default="",
                        help="build in bench_scale_<n>_wh<suffix>: a second checkout measures its build from the same "
                             "--keep'd loaded database beside another's (use with --reuse --keep)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from python_tasks.access import ensure_roles
    from python_tasks.ingest.corebank import load_corebank
    from python_tasks.ingest.landing import load_landing
    from python_tasks.orchestration import test_dag
    from python_tasks.synthetic.bank import GenerationResult, GenerationSpec, generate
    from python_tasks.transform.dbt_build import build, dbt_threads

    # A private dbt target: the run must not read another dbt's run_results.json.
    os.environ.setdefault("DBT_TARGET_PATH", str(REPO_ROOT / ".crm" / "bench-dbt-target"))

    base = resolve(Settings.from_env())
    admin = _admin(base.warehouse_dsn)
    spec = GenerationSpec(customers=args.customers, days=args.days + 1, seed=args.seed)
    next_day: date = spec.end_date
    full_day = next_day - timedelta(days=1)
    tag = f"scale_{args.customers}"
    wh_db, src_db, loaded_db, copy_db = (f"bench_{tag}_wh{args.warehouse_suffix}", f"bench_{tag}_src",
                                         f"bench_{tag}_loaded", f"bench_{tag}_wh_airflow")
    ep = Endpoints(warehouse_dsn=with_dbname(base.warehouse_dsn, wh_db),
                   source_dsn=with_dbname(base.warehouse_dsn, src_db), embedded=base.embedded)
    work = REPO_ROOT / ".crm" / f"bench_{tag}"
    generated_file = work / "generated.json"
    settings = Settings.from_env({**os.environ, "CRM_HOME": str(work), "CRM_PG_DSN": ep.warehouse_dsn})
    timings: dict[str, float] = {}

    def timed(label: str, fn, *a, **kw):
        started = time.perf_counter()
        out = fn(*a, **kw)
        timings[label] = time.perf_counter() - started
        log.info("%s: %.1fs", label, timings[label])
        return out

    def saved_generation() -> GenerationResult:
        if not generated_file.exists():
            raise SystemExit(f"--reuse/--reload: no {generated_file}; run once with --keep first")
        saved = json.loads(generated_file.read_text())
        return GenerationResult(spec=spec, start_date=date.fromisoformat(saved["start_date"]),
                                end_date=date.fromisoformat(saved["end_date"]),
                                row_counts=saved["row_counts"], landing_files=saved["landing_files"])

    def airflow_full_build() -> float:
        """The full build of ``full_day`` through Airflow + Cosmos on a copy of the loaded database."""
        # At 1M customers the databases do not all fit beside each other's build on a 250 GB
        # disk: the plain build's warehouse goes first.
        _drop(admin, wh_db)
        _copy_database(admin, loaded_db, copy_db)
        ep_af = Endpoints(warehouse_dsn=with_dbname(base.warehouse_dsn, copy_db), source_dsn=ep.source_dsn,
                          embedded=base.embedded)
        af_settings = Settings.from_env({**os.environ, "CRM_HOME": str(work / "airflow"),
                                         "CRM_PG_DSN": ep_af.warehouse_dsn})
        # As many tasks at once as the plain build's dbt threads, as a LocalExecutor deployment
        # of that size would run them: the build task, then the model tasks two at a time.
        result = test_dag(af_settings, ep_af, full_day, "crm_rebuild_marts", parallelism=dbt_threads())
        log.info("full build through Airflow + Cosmos: %.1fs", result.seconds)
        _drop(admin, copy_db)
        return result.seconds

    if args.airflow_only:
        airflow_full_build()
        return
    if args.next_day_only or args.next_day_in_place:
        if args.next_day_only:
            _copy_database(admin, f"bench_{tag}_next_day", wh_db)
        started = time.perf_counter()
        build(ep.warehouse_dsn, next_day)
        kept = _keep_run_results(args.customers, "next_day_only")
        log.info("next-day build alone: %.1fs (run results: %s)", time.perf_counter() - started, kept)
        print("\n".join(_profile(kept)))
        return
    if args.reuse:
        generated = saved_generation()
        _copy_database(admin, loaded_db, wh_db)
        log.info("reusing %s and %s (generated and loaded by an earlier --keep run)", loaded_db, src_db)
    else:
        if args.reload:
            generated = saved_generation()
            _drop(admin, wh_db, loaded_db, copy_db)
            ensure_database(ep.warehouse_dsn)
        else:
            _drop(admin, wh_db, src_db, loaded_db, copy_db)
            shutil.rmtree(work, ignore_errors=True)
            ensure_database(ep.warehouse_dsn)
            ensure_database(ep.source_dsn)
            generated = timed("generate", generate, ep.source_dsn, settings.landing_dir, spec)
        timed("load", lambda: (
            load_corebank(ep.source_dsn, ep.warehouse_dsn, full_day, "bench-full"),
            [load_landing(ep.warehouse_dsn, settings.landing_dir, spec.start_date + timedelta(days=i),
                          "bench-full")
             for i in range(args.days)],
            ensure_roles(ep.warehouse_dsn)))
        work.mkdir(parents=True, exist_ok=True)
        generated_file.write_text(json.dumps({
            "start_date": generated.start_date.isoformat(), "end_date": generated.end_date.isoformat(),
            "row_counts": generated.row_counts, "landing_files": generated.landing_files}))
        if not args.skip_airflow or args.keep or args.prepare:
            _copy_database(admin, wh_db, loaded_db)
        if args.prepare:
            log.info("prepared %s and %s: measure with --reuse", loaded_db, src_db)
            return

    full = timed("full build", build, ep.warehouse_dsn, full_day)
    slow_full = _slowest(_keep_run_results(args.customers, "full"))
    rows_full = _table_rows(ep.warehouse_dsn)
    render(args, generated, rows_full, timings, full, None, slow_full, [], None)

    timed("next-day load", lambda: (
        load_corebank(ep.source_dsn, ep.warehouse_dsn, next_day, "bench-next"),
        load_landing(ep.warehouse_dsn, settings.landing_dir, next_day, "bench-next")))
    if args.snapshot_next_day:
        _copy_database(admin, wh_db, f"bench_{tag}_next_day")
    nxt = timed("next-day build", build, ep.warehouse_dsn, next_day)
    kept_next = _keep_run_results(args.customers, "next_day")
    slow_next, next_profile = _slowest(kept_next), _profile(kept_next)
    render(args, generated, rows_full, timings, full, nxt, slow_full, slow_next, None, next_profile)

    airflow_s = None
    if not args.skip_airflow:
        airflow_s = timings["full build through Airflow + Cosmos"] = airflow_full_build()
    print(render(args, generated, rows_full, timings, full, nxt, slow_full, slow_next, airflow_s, next_profile))

    if not args.keep:
        _drop(admin, wh_db, src_db, loaded_db)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
