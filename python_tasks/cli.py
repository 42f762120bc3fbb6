"""``crm``: the one command a person runs. Everything else is behind it."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date, timedelta

from python_tasks.config import Settings

log = logging.getLogger("crm")


def _endpoints(settings: Settings):
    from python_tasks.warehouse import resolve

    return resolve(settings)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks import warehouse

    if settings.pg_dsn and args.action in ("start", "stop"):
        print(f"CRM_PG_DSN is set: the warehouse is not embedded; nothing to {args.action}.")
        return 0
    if args.action == "start":
        endpoints = _endpoints(settings)
        print(f"warehouse: {endpoints.warehouse_dsn}\nsource:    {endpoints.source_dsn}")
    elif args.action == "stop":
        print("stopped" if warehouse.stop_embedded(settings) else "not running")
    else:
        status = warehouse.embedded_status(settings) if not settings.pg_dsn else {"external": True}
        print(json.dumps(status))
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.synthetic.bank import GenerationSpec, generate

    endpoints = _endpoints(settings)
    spec = GenerationSpec(customers=args.customers, days=args.days, seed=args.seed,
                          end_date=date.fromisoformat(args.end_date))
    started = time.perf_counter()
    result = generate(endpoints.source_dsn, settings.landing_dir, spec)
    print(f"generated {spec.customers:,} customers x {spec.days} days "
          f"({result.start_date} .. {result.end_date}) in {time.perf_counter() - started:.1f}s")
    for table, n in sorted(result.row_counts.items()):
        print(f"  {table:<40} {n:>12,}")
    return 0


def _latest_generated_date(source_dsn: str) -> date | None:
    import psycopg

    try:
        with psycopg.connect(source_dsn) as conn:
            row = conn.execute("select max(end_date) from synthetic_truth.generation").fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.orchestration import test_dag
    from python_tasks.reporting import run_summary

    endpoints = _endpoints(settings)
    if args.date:
        run_date = date.fromisoformat(args.date)
    else:
        run_date = _latest_generated_date(endpoints.source_dsn) or (date.today() - timedelta(days=1))
    print(f"running crm_daily for {run_date} through Airflow (warehouse: "
          f"{'embedded' if endpoints.embedded else 'CRM_PG_DSN'}) ...", flush=True)
    result = test_dag(settings, endpoints, run_date)
    summary_path = settings.reports_dir / run_date.isoformat() / "run_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    print(run_summary.render(summary))
    print(f"\nDAG run took {result.seconds:.1f}s; Airflow log: {result.log_path}; summary: {summary_path}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.ingest.landing_history import load_landing_history

    started = time.perf_counter()
    cmd_generate(args, settings)
    # The daily run loads its own date's channel drops; a new warehouse also needs the earlier ones.
    history = load_landing_history(_endpoints(settings).warehouse_dsn, settings.landing_dir,
                                   date.fromisoformat(args.end_date), "demo-history")
    print(f"loaded the channel drops of {history} earlier dates "
          f"({time.perf_counter() - started:.1f}s since start)")
    args.date = None
    cmd_run(args, settings)
    print(f"demo finished in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.predictions.run import train_models

    endpoints = _endpoints(settings)
    run_date = date.fromisoformat(args.date) if args.date else _latest_generated_date(endpoints.source_dsn)
    if run_date is None:
        print("no date given and no generated bank found: pass --date YYYY-MM-DD")
        return 1
    result = train_models(endpoints.warehouse_dsn, run_date)
    print(json.dumps(result, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="Bank CRM warehouse")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded Postgres (ignored when CRM_PG_DSN is set)")
    db.add_argument("action", choices=["start", "stop", "status"])
    db.set_defaults(func=cmd_db)

    def scale(p: argparse.ArgumentParser) -> None:
        p.add_argument("--customers", type=int, default=10_000)
        # Two years: a 365-day feature window, a 90-day label horizon and a year of training dates.
        p.add_argument("--days", type=int, default=730)
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--end-date", default="2026-09-30", help="last business date generated")

    gen = sub.add_parser("generate", help="fill the core-banking source and landing folder with a synthetic bank")
    scale(gen)
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="run crm_daily for one business date through Airflow")
    run.add_argument("--date", help="business date (default: the latest generated date)")
    run.set_defaults(func=cmd_run)

    train = sub.add_parser("train", help="train and register the churn, value and next-best-product models")
    train.add_argument("--date", help="train on the feature history up to this date (default: the latest generated)")
    train.set_defaults(func=cmd_train)

    demo = sub.add_parser("demo", help="generate a synthetic bank, then run crm_daily for its latest date")
    scale(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    try:
        return args.func(args, settings)
    except Exception as exc:  # the CLI's edge: one clear line, full detail with -v
        if args.verbose:
            raise
        print(f"crm {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
