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
from rich.table import Table

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
        for d, movements, previous in _fetch(conn, "marts.mart_tier_movements", """
                select as_of_date, count(*), max(previous_as_of_date) from marts.mart_tier_movements
                group by 1 order by 1 desc limit %s""", (limit,)):
            day(d).setdefault("built", f"graded ({movements:,} tier movements since {previous})")
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
    console.print(f"[bold]Warehouse server[/]: {server}", highlight=False)
    running = run_watch.run_in_progress(settings)
    console.print(f"[bold]Run in progress[/]: {running or 'none'}", highlight=False)

    runs = run_watch.read_runs(settings)
    latest: dict[str, run_watch.RunRecord] = {}
    for r in runs:
        latest[r.logical_date] = r
    table = Table(title="Last run per date (crm run)", title_justify="left")
    for col in ("date", "state", "finished (UTC)", "took", "failed task / first error", "log"):
        table.add_column(col)
    for d in sorted(latest, reverse=True)[:limit]:
        r = latest[d]
        why = ", ".join(r.failed_tasks) + (f": {r.first_error}" if r.first_error else "") if r.state != "success" else ""
        table.add_row(d, f"[{_STATE_STYLE.get(r.state, '')}]{r.state}[/]", r.finished_at or "",
                      f"{r.seconds:.0f}s" if r.seconds is not None else "", why, r.failed_task_log or r.log_path)
    console.print(table if latest else "No runs recorded yet (crm run).")

    if dsn is None:
        return 1
    try:
        days = warehouse_by_date(dsn, limit)
    except psycopg.Error as exc:
        console.print(f"[red]cannot read the warehouse: {exc}[/]")
        return 1
    table = Table(title="Per business date in the warehouse", title_justify="left")
    for col in ("date", "loaded", "built", "gated", "exported"):
        table.add_column(col)
    for d, facts in days.items():
        table.add_row(d.isoformat(), facts.get("loaded", "-"), facts.get("built", "-"), facts.get("gated", "-"),
                      facts.get("exported", "-"))
    console.print(table if days else "The warehouse holds no loaded date yet.")
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
        console.print(f"warehouse {server}")
        return 1
    data = campaign_lists(dsn, as_of_date)
    if not data["members"] and not data["files"]:
        console.print(f"No campaign lists for {as_of_date}: run the date first (crm run --date {as_of_date}).")
        return 1
    suppressed: dict[str, list[str]] = {}
    for s in data["suppressed"]:
        suppressed.setdefault(s["campaign"], []).append(f"{s['reason']} {s['customers']:,}")
    files: dict[str, list[dict]] = {}
    for f in data["files"]:
        files.setdefault(f["campaign"], []).append(f)
    table = Table(title=f"Campaign lists for {as_of_date}", title_justify="left")
    for col in ("campaign", "customers", "suppressed (reason count)", "files (rows)"):
        table.add_column(col, overflow="fold")
    campaigns = sorted({m["campaign"] for m in data["members"]} | set(files))
    sizes = {m["campaign"]: m["customers"] for m in data["members"]}
    for c in campaigns:
        file_lines = "\n".join(f"{f['path']} ({f['rows']:,})" for f in files.get(c, [])) or "not exported"
        table.add_row(c, f"{sizes.get(c, 0):,}", "\n".join(suppressed.get(c, [])) or "-", file_lines)
    console.print(table)
    return 0


# --- dbt docs -----------------------------------------------------------------------------------

def build_dbt_docs(dsn: str, reports_dir: Path) -> Path:
    """``dbt docs generate --static`` into ``<reports_dir>/dbt_docs/``: one file that opens offline."""
    from python_tasks.transform.dbt_build import run_dbt

    out = reports_dir / "dbt_docs"
    work = out / "target"
    run_dbt(dsn, ["docs", "generate", "--static"], target_path=work)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("static_index.html", "manifest.json", "catalog.json"):
        if not (work / name).exists():
            raise FileNotFoundError(f"dbt docs generate wrote no {name} in {work}")
    shutil.copyfile(work / "static_index.html", out / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(work / name, out / name)
    shutil.rmtree(work, ignore_errors=True)  # compiled SQL of every model: not a docs site's business
    return out / "index.html"
