"""What ``crm run``, ``crm status``, ``crm lists``, ``crm report`` and ``crm docs`` print.

Each command reads what the warehouse and the run records hold; nothing here changes data.
"""
from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console

from python_tasks import run_watch
from python_tasks.config import Settings

log = logging.getLogger(__name__)

_STATE_STYLE = {"success": "green", "failed": "bold red", "upstream_failed": "red", "skipped": "yellow",
                "running": "cyan", "removed": "dim", "killed": "bold red"}
_STATE_MARK = {"success": "✓", "failed": "✗", "upstream_failed": "✗", "skipped": "–", "running": "…",
               "removed": "–"}


def progress_printer(console: Console):
    """An ``on_event`` for :func:`run_watch.run_dag`: one line per task that starts or ends."""

    def show(event: run_watch.TaskEvent) -> None:
        style = _STATE_STYLE.get(event.state, "")
        elapsed = f"{event.seconds:7.1f}s" if event.seconds is not None else " " * 8
        mark = _STATE_MARK.get(event.state, " ")
        if event.state == "running":
            console.print(f"  [dim]{mark} {event.label:<48} started[/]", highlight=False)
        else:
            console.print(f"  [{style}]{mark} {event.label:<48} {event.state:<16}[/]{elapsed}", highlight=False)

    return show


# --- status -------------------------------------------------------------------------------------

def _fetch(conn: psycopg.Connection, table: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql``, or none when ``table`` does not exist yet (a warehouse before its first run)."""
    if not conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]:
        return []
    return conn.execute(sql, params).fetchall()


def warehouse_by_date(dsn: str, limit: int = 10) -> dict[date, dict[str, Any]]:
    """Per business date: what was loaded, built, gated and exported (from the ops tables and marts)."""
    out: dict[date, dict[str, Any]] = {}

    def day(d: date) -> dict[str, Any]:
        return out.setdefault(d, {})

    with psycopg.connect(dsn, connect_timeout=5) as conn:
        for d, sources, loaded, quarantined in _fetch(conn, "ops.load_audit", """
                select logical_date, count(distinct source), sum(rows_loaded), sum(rows_quarantined)
                from ops.load_audit a
                where run_id = (select run_id from ops.load_audit b where b.logical_date = a.logical_date
                                order by finished_at desc limit 1)
                group by 1 order by 1 desc limit %s""", (limit,)):
            day(d)["loaded"] = f"{sources} sources, {int(loaded):,} rows, {int(quarantined):,} quarantined"
        for d, customers in _fetch(conn, "marts.mart_customer_tier", """
                select as_of_date, count(*) from marts.mart_customer_tier group by 1 order by 1 desc limit %s""",
                                   (limit,)):
            day(d)["built"] = f"{customers:,} customers graded"
        for d, total, critical, warnings in _fetch(conn, "ops.dq_results", """
                select as_of_date, count(*), count(*) filter (where not success and severity = 'critical'),
                       count(*) filter (where not success and severity <> 'critical')
                from ops.dq_results r
                where run_id = (select run_id from ops.dq_results s where s.as_of_date = r.as_of_date
                                order by checked_at desc limit 1)
                group by 1 order by 1 desc limit %s""", (limit,)):
            verdict = "PASSED" if total and not critical else "FAILED"
            day(d)["gated"] = f"{verdict} ({total} checks, {critical} critical, {warnings} warnings)"
        for d, files, rows in _fetch(conn, "ops.export_log", """
                select as_of_date, count(*), sum(rows_exported) from ops.export_log e
                where run_id = (select run_id from ops.export_log f where f.as_of_date = e.as_of_date
                                order by exported_at desc limit 1)
                group by 1 order by 1 desc limit %s""", (limit,)):
            day(d)["exported"] = f"{files} files, {int(rows):,} rows"
        # Earlier dates than the marts' one: the tier history says who was graded what on each.
        for d in [d for d in out if "built" not in out[d]]:
            for (graded,) in _fetch(conn, "marts.mart_customer_tier_history", """
                    select count(*) from marts.mart_customer_tier_history
                    where valid_from <= %s and (valid_to is null or valid_to > %s)""", (d, d)):
                if graded:
                    day(d)["built"] = f"{graded:,} customers graded (tier history)"
    return dict(sorted(out.items(), reverse=True)[:limit])


def _warehouse_dsn(settings: Settings) -> tuple[str | None, str]:
    """The warehouse DSN and a line on the server; never starts the embedded server."""
    from python_tasks import warehouse

    if settings.pg_dsn:
        try:
            with psycopg.connect(settings.pg_dsn, connect_timeout=5):
                return settings.pg_dsn, "up (CRM_PG_DSN)"
        except psycopg.Error as exc:
            return None, f"DOWN: CRM_PG_DSN unreachable ({str(exc).splitlines()[0]})"
    status = warehouse.embedded_status(settings)
    if not status.get("running"):
        return None, f"stopped (embedded, {status.get('pgdata')}); start it with `crm db start`"
    return warehouse.resolve(settings, create=False).warehouse_dsn, f"up (embedded, pid {status.get('pid', '?')})"


def status(settings: Settings, console: Console, limit: int = 10) -> int:
    dsn, server = _warehouse_dsn(settings)
    console.print(f"Warehouse server: {server}")
    running = run_watch.run_in_progress(settings)
    console.print(f"Run in progress:  {running or 'none'}")

    latest: dict[str, run_watch.RunRecord] = {}
    for r in run_watch.read_runs(settings):
        latest[r.logical_date] = r
    console.print("\n[bold]Last run per date[/] (crm run)")
    if not latest:
        console.print("  no runs recorded yet")
    for d in sorted(latest, reverse=True)[:limit]:
        r = latest[d]
        took = f"{r.seconds:.0f}s" if r.seconds is not None else "?"
        console.print(f"  {d}  [{_STATE_STYLE.get(r.state, '')}]{r.state:<8}[/] finished {r.finished_at or '-'}"
                      f"  took {took}  log {r.log_path}")
        if r.state != "success":
            if r.failed_tasks:
                console.print(f"      failed task: {r.failed_tasks[0]}  ({r.failed_task_log or r.log_path})")
            if r.first_error:
                console.print(f"      first error: {r.first_error}")

    if dsn is None:
        return 1
    try:
        days = warehouse_by_date(dsn, limit)
    except psycopg.Error as exc:
        console.print(f"[red]cannot read the warehouse: {exc}[/]")
        return 1
    console.print("\n[bold]Per business date in the warehouse[/]")
    if not days:
        console.print("  no loaded date yet")
    for d, facts in days.items():
        console.print(f"  {d.isoformat()}")
        for stage in ("loaded", "built", "gated", "exported"):
            console.print(f"    {stage:<9} {facts.get(stage, '-')}")
    return 0


# --- lists --------------------------------------------------------------------------------------

def campaign_lists(dsn: str, as_of_date: date) -> dict[str, Any]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        members = _fetch(conn, "exports.campaign_members", """
            select campaign_code, count(*), count(distinct channel) from exports.campaign_members
            where as_of_date = %s group by 1 order by 1""", (as_of_date,))
        files = _fetch(conn, "ops.export_log", """
            select campaign_code, file_format, rows_exported, file_path, run_id, exported_at from ops.export_log e
            where as_of_date = %s and run_id = (select run_id from ops.export_log f where f.as_of_date = e.as_of_date
                                                order by exported_at desc limit 1)
            order by 1, 2""", (as_of_date,))
        suppressed = _fetch(conn, "ops.export_suppressions", """
            select campaign_code, reason, customers from ops.export_suppressions
            where as_of_date = %s order by 1, 2""", (as_of_date,))
    return {
        "members": [{"campaign": r[0], "customers": r[1], "channels": r[2]} for r in members],
        "files": [{"campaign": r[0], "format": r[1], "rows": r[2], "path": r[3], "run_id": r[4]} for r in files],
        "suppressed": [{"campaign": r[0], "reason": r[1], "customers": r[2]} for r in suppressed],
    }


def lists(settings: Settings, as_of_date: date, console: Console) -> int:
    dsn, server = _warehouse_dsn(settings)
    if dsn is None:
        console.print(f"Warehouse server: {server}")
        return 1
    data = campaign_lists(dsn, as_of_date)
    if not data["members"] and not data["files"]:
        console.print(f"No campaign lists for {as_of_date}: run the date first (crm run --date {as_of_date}).")
        return 1
    sizes = {m["campaign"]: m["customers"] for m in data["members"]}
    campaigns = sorted(set(sizes) | {f["campaign"] for f in data["files"]}
                       | {s["campaign"] for s in data["suppressed"]})
    console.print(f"[bold]Campaign lists for {as_of_date}[/]")
    for c in campaigns:
        console.print(f"  {c:<32} {sizes.get(c, 0):>9,} customers")
        left_off = [f"{s['reason']} {s['customers']:,}" for s in data["suppressed"] if s["campaign"] == c]
        if left_off:
            console.print(f"      left off: {', '.join(left_off)}")
        files = [f for f in data["files"] if f["campaign"] == c]
        for f in files:
            console.print(f"      {f['format']:<8} {f['rows']:>9,} rows  {f['path']}")
        if not files:
            console.print("      not exported (the gate did not pass, or the export has not run)")
    return 0


# --- dbt docs -----------------------------------------------------------------------------------

def build_dbt_docs(dsn: str, reports_dir: Path) -> Path:
    """``dbt docs generate --static`` into ``<reports_dir>/dbt_docs/``: one file that opens offline."""
    from python_tasks.transform.dbt_build import run_dbt

    out = reports_dir / "dbt_docs"
    work = out / "target"
    # Models compile against a business date (their SQL shows it): the latest one the marts hold.
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        rows = _fetch(conn, "marts.mart_customer_tier", "select max(as_of_date) from marts.mart_customer_tier")
    as_of = rows[0][0] if rows and rows[0][0] else date.today()
    run_dbt(dsn, ["docs", "generate", "--static"], as_of_date=as_of, target_path=work)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("static_index.html", "manifest.json", "catalog.json"):
        if not (work / name).exists():
            raise FileNotFoundError(f"dbt docs generate wrote no {name} in {work}")
    shutil.copyfile(work / "static_index.html", out / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(work / name, out / name)
    shutil.rmtree(work, ignore_errors=True)  # compiled SQL of every model: not a docs site's business
    from python_tasks.reporting.report_html import write_index

    write_index(reports_dir)
    return out / "index.html"
