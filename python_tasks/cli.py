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
    from rich.console import Console

    from python_tasks import run_watch
    from python_tasks.cli_views import progress_printer
    from python_tasks.reporting import run_summary

    endpoints = _endpoints(settings)
    if args.date:
        run_date = date.fromisoformat(args.date)
    else:
        run_date = _latest_generated_date(endpoints.source_dsn) or (date.today() - timedelta(days=1))
    console = Console(highlight=False, soft_wrap=True)  # a path or an error line stays on one line
    print(f"running crm_daily for {run_date} through Airflow (warehouse: "
          f"{'embedded' if endpoints.embedded else 'CRM_PG_DSN'}) ...", flush=True)
    try:
        record = run_watch.run_dag(settings, endpoints, run_date, on_event=progress_printer(console),
                                   on_note=lambda note: console.print(f"  [dim]… {note}[/]"))
    except run_watch.RunFailed as exc:
        r = exc.record
        console.print(f"\n[bold red]crm_daily for {run_date} {r.state}[/] after {r.seconds:.0f}s")
        if r.failed_tasks:
            console.print(f"  failed task: [bold]{r.failed_tasks[0]}[/]"
                          + (f" (also: {', '.join(r.failed_tasks[1:])})" if r.failed_tasks[1:] else ""))
        console.print(f"  first error: {r.first_error or 'none found in the log'}")
        console.print(f"  task log:    {r.failed_task_log or '-'}")
        console.print(f"  run log:     {r.log_path}")
        report = settings.reports_dir / run_date.isoformat() / "index.html"
        if report.exists():
            console.print(f"  report:      {report}")
        return 1
    summary_path = settings.reports_dir / run_date.isoformat() / "run_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    print(run_summary.render(summary))
    print(f"\nDAG run took {record.seconds:.1f}s; Airflow log: {record.log_path}; summary: {summary_path}")
    print(f"Report: {settings.reports_dir / run_date.isoformat() / 'index.html'}")
    return 0


def cmd_dbt_parse(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.transform.dbt_build import parse_manifest

    print(f"wrote {parse_manifest(_endpoints(settings).warehouse_dsn)}")
    return 0


def cmd_dbt(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.transform import dbt_by_hand

    as_of = date.fromisoformat(args.date) if args.date else None
    return dbt_by_hand.run(_endpoints(settings).warehouse_dsn, args.dbt_args, as_of)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.ingest.landing_history import load_landing_history

    started = time.perf_counter()
    cmd_generate(args, settings)
    # The daily run loads its own date's channel drops; a new warehouse also needs the earlier ones.
    loader_log = logging.getLogger("python_tasks.ingest.landing")
    level = loader_log.level
    loader_log.setLevel(logging.WARNING)  # two lines per file, thousands of files: keep warnings only
    try:
        history = load_landing_history(_endpoints(settings).warehouse_dsn, settings.landing_dir,
                                       date.fromisoformat(args.end_date), "demo-history")
    finally:
        loader_log.setLevel(level)
    print(f"loaded the channel drops of {history} earlier dates "
          f"({time.perf_counter() - started:.1f}s since start)")
    args.date = None
    status = cmd_run(args, settings)
    if status:
        return status
    print(f"demo finished in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_airflow(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks import airflow_service

    if args.action == "up":
        executor = airflow_service.CELERY_EXECUTOR if args.executor == "celery" else airflow_service.LOCAL_EXECUTOR
        state = airflow_service.up(settings, _endpoints(settings), executor=executor, port=args.port,
                                   broker_url=args.broker_url)
        print(f"Airflow UI: {state.url}  login: {airflow_service.ADMIN_USER} / {state.admin_password()}\n"
              f"executor: {state.executor}; logs: {state.log_dir}\n"
              "trigger crm_daily from the UI (Trigger, business date) or: crm airflow down to stop")
    elif args.action == "down":
        stopped = airflow_service.down(settings)
        print(f"stopped: {', '.join(stopped)}" if stopped else "not running")
    else:
        print(json.dumps(airflow_service.status(settings), indent=2))
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



def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from python_tasks.cli_views import status

    return status(settings, Console(highlight=False, soft_wrap=True), args.limit)


def cmd_lists(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from python_tasks.cli_views import lists

    return lists(settings, date.fromisoformat(args.date), Console(highlight=False, soft_wrap=True))


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.reporting.report import build_report

    endpoints = _endpoints(settings)
    print(f"report: {build_report(endpoints.warehouse_dsn, date.fromisoformat(args.date), settings.reports_dir)}")
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from python_tasks.cli_views import build_dbt_docs

    endpoints = _endpoints(settings)
    print(f"dbt docs: {build_dbt_docs(endpoints.warehouse_dsn, settings.reports_dir)}")
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

    af = sub.add_parser("airflow", help="a real Airflow (scheduler, UI, API) on this machine")
    af.add_argument("action", choices=["up", "down", "status"])
    af.add_argument("--port", type=int, help="the UI's port (default: a free one)")
    af.add_argument("--executor", choices=["local", "celery"], default="local")
    af.add_argument("--broker-url", help="Celery's broker, e.g. redis://127.0.0.1:6379/0")
    af.set_defaults(func=cmd_airflow)
    train = sub.add_parser("train", help="train and register the churn, value and next-best-product models")
    train.add_argument("--date", help="train on the feature history up to this date (default: the latest generated)")
    train.set_defaults(func=cmd_train)

    st = sub.add_parser(
        "status", help="the server, the last runs, and per date what was loaded, built, gated, exported")
    st.add_argument("--limit", type=int, default=10, help="dates to show")
    st.set_defaults(func=cmd_status)

    ls = sub.add_parser("lists", help="the campaign lists of a date: sizes, suppressions, files")
    ls.add_argument("--date", required=True, help="business date")
    ls.set_defaults(func=cmd_lists)

    rep = sub.add_parser("report", help="(re)build the HTML report of a built date")
    rep.add_argument("--date", required=True, help="business date")
    rep.set_defaults(func=cmd_report)

    docs = sub.add_parser("docs", help="build the static dbt docs site into <CRM_HOME>/reports/dbt_docs/")
    docs.set_defaults(func=cmd_docs)

    parse = sub.add_parser("dbt-parse", help="write the dbt manifest the DAGs render their dbt tasks from")
    parse.set_defaults(func=cmd_dbt_parse)

    dbt = sub.add_parser("dbt", help="run dbt on the warehouse: crm dbt --date 2026-09-30 build --select mart_pareto")
    dbt.add_argument("--date", help="business date the models describe (CRM_AS_OF_DATE)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt's own command and options")
    dbt.set_defaults(func=cmd_dbt)

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
