"""Run a DAG through ``airflow dags test`` and say what it is doing while it runs.

- Progress: the run's task states are read from its SQLite metadata DB once a second, and each
  task that starts or finishes is reported (task, state, elapsed).
- Failures: the failed task, its log file and the first error line in it are named.
- Logs: every run gets its own log file (``<CRM_HOME>/logs/<dag>_<date>_<UTC time>.log``); earlier
  runs' logs are kept. ``<CRM_HOME>/logs/runs.jsonl`` records each run's outcome (``crm status``).
- Process group: Airflow runs in a session of its own. When ``crm`` is interrupted or terminated
  it stops that whole group; if ``crm`` itself is killed outright, the next run stops the group
  left behind (its id is kept in ``<AIRFLOW_HOME>/run.pgid``) before it starts, so no orphan goes
  on writing into the metadata DB the next run starts afresh.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from python_tasks.config import Settings
from python_tasks.orchestration import _airflow, airflow_env, fresh_metadata_db, metadata_db
from python_tasks.warehouse import Endpoints

log = logging.getLogger(__name__)

# dbt's own progress lines ("12 of 138 OK created sql table model ..."): `dags test` runs the whole
# build inside one task, minutes long at scale, so its count is reported while it runs.
_DBT_PROGRESS = re.compile(r"\b(\d+) of (\d+) (OK|PASS|ERROR|FAIL|WARN|SKIP)\b")
DBT_PROGRESS_EVERY_SECONDS = 15.0
FINISHED = ("success", "failed", "upstream_failed", "skipped", "removed")
STOP_GRACE_SECONDS = 15.0
_ANSI = re.compile(r"\x1b\[[0-9;]*m|\[[0-9;]*m(?=\S)")
# dbt says what failed on the line after "Database Error in model X": both are worth a person's eye.
_DBT_ERROR = re.compile(r"(Database|Compilation|Runtime|Parsing|Dependency) Error in ")
_ERROR_LINE = re.compile(r"(\bERROR\b|Error:|Exception:|Traceback \(most recent call last\)|\bFAILED\b)")


@dataclass(frozen=True)
class TaskEvent:
    task_id: str
    state: str
    seconds: float | None
    map_index: int = -1

    @property
    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass
class RunRecord:
    dag_id: str
    logical_date: str
    started_at: str
    finished_at: str | None = None
    state: str = "running"
    seconds: float | None = None
    log_path: str = ""
    failed_tasks: list[str] = field(default_factory=list)
    failed_task_log: str | None = None
    first_error: str | None = None
    exit_code: int | None = None


class RunFailed(RuntimeError):
    def __init__(self, record: RunRecord) -> None:
        self.record = record
        parts = [f"{record.dag_id} for {record.logical_date} {record.state}"]
        if record.failed_tasks:
            parts.append(f"failed task: {', '.join(record.failed_tasks)}")
        if record.first_error:
            parts.append(f"first error: {record.first_error}")
        parts.append(f"log: {record.failed_task_log or record.log_path}")
        super().__init__("\n  ".join(parts))


def logs_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def runs_file(settings: Settings) -> Path:
    return logs_dir(settings) / "runs.jsonl"


def run_log_path(settings: Settings, dag_id: str, logical_date: date, now: datetime | None = None) -> Path:
    """A new log file per run: earlier runs' logs of the same date stay readable."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return logs_dir(settings) / f"{dag_id}_{logical_date.isoformat()}_{stamp}.log"


def read_runs(settings: Settings) -> list[RunRecord]:
    path = runs_file(settings)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(RunRecord(**json.loads(line)))
        except (ValueError, TypeError):
            log.warning("skipping an unreadable line in %s", path)
    return records


def _append_run(settings: Settings, record: RunRecord) -> None:
    path = runs_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")


# --- process group ------------------------------------------------------------------------------

def _pgid_file(settings: Settings) -> Path:
    return metadata_db(settings).parent / "run.pgid"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_group(pgid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.2)
    if _group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_leftover_run(settings: Settings) -> int | None:
    """Stop the Airflow process group a killed ``crm run`` left behind; returns its id if one ran."""
    path = _pgid_file(settings)
    if not path.exists():
        return None
    try:
        pgid = int(path.read_text().strip())
    except ValueError:
        path.unlink(missing_ok=True)
        return None
    alive = _group_alive(pgid) and _is_airflow_group(pgid)
    if alive:
        log.warning("stopping Airflow process group %s left running by an interrupted run", pgid)
        stop_group(pgid)
    path.unlink(missing_ok=True)
    return pgid if alive else None


def _is_airflow_group(pgid: int) -> bool:
    """Only a group whose leader runs airflow is ours to stop (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # leader gone, members left: the group is still the one we started
    return b"airflow" in cmdline


def run_in_progress(settings: Settings) -> str | None:
    """A line on the ``crm run`` going on now, if any (its Airflow process group is alive)."""
    path = _pgid_file(settings)
    if not path.exists():
        return None
    try:
        pgid = int(path.read_text().strip())
    except ValueError:
        return None
    if not _group_alive(pgid):
        return None
    records = read_runs(settings)
    return f"Airflow process group {pgid}" + (f"; last recorded run: {records[-1].logical_date}" if records else "")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when ``crm`` dies, even by SIGKILL (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


# --- task states --------------------------------------------------------------------------------

def task_states(db: Path, dag_id: str) -> dict[tuple[str, int], tuple[str | None, str | None, str | None]]:
    """(task_id, map_index) -> (state, start_date, end_date) of the DAG's run in the metadata DB."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as conn:
            rows = conn.execute(
                "select task_id, map_index, state, start_date, end_date from task_instance where dag_id = ?",
                (dag_id,),
            ).fetchall()
    except sqlite3.Error:
        return {}  # the DB is being migrated or written: read again on the next tick
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


class _LogFollower:
    """Reads what the run log gained since the last call; keeps dbt's latest "N of M" count."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.done: tuple[int, int] | None = None
        self.reported: tuple[int, int] | None = None
        self.last_report = 0.0

    def dbt_progress(self, now: float) -> str | None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return None
        cut = chunk.rfind(b"\n") + 1  # whole lines only; the rest is read next time
        self.offset += cut
        for m in _DBT_PROGRESS.finditer(chunk[:cut].decode("utf-8", errors="replace")):
            self.done = (int(m.group(1)), int(m.group(2)))
        if self.done and self.done != self.reported and now - self.last_report >= DBT_PROGRESS_EVERY_SECONDS:
            self.reported, self.last_report = self.done, now
            return f"dbt build: {self.done[0]} of {self.done[1]} nodes done"
        return None


class _Tracker:
    """Turns successive snapshots of task states into events, each reported once."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], str | None] = {}

    def events(self, states: dict[tuple[str, int], tuple[str | None, str | None, str | None]]) -> list[TaskEvent]:
        out = []
        for key, (state, start, end) in sorted(states.items(), key=lambda kv: (kv[1][2] or "", kv[0])):
            if state == self.seen.get(key) or state not in FINISHED + ("running",):
                continue
            self.seen[key] = state
            out.append(TaskEvent(key[0], state, _seconds(start, end), key[1]))
        return out


# --- failure diagnosis --------------------------------------------------------------------------

def task_section(text: str, task_id: str) -> str | None:
    """The lines ``airflow dags test`` logged for one task (its last attempt), or None.

    ``dags test`` writes every task's log into its own output, between "starting task_id=X" and
    "end task task_id=X" markers; there are no per-task files to point at.
    """
    start = f"starting task_id={task_id} "
    end = f"end task task_id={task_id} "
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if start in line]
    if not starts:
        return None
    first = starts[-1]
    last = next((i for i in range(first, len(lines)) if end in lines[i]), len(lines) - 1)
    return "\n".join(lines[first:last + 1]) + "\n"


def first_error_line(text: str, task_id: str | None = None) -> str | None:
    """The first line that reads as an error, preferring lines that mention ``task_id``.

    A traceback header says nothing by itself: the exception line that ends it is returned.
    """
    lines = [_ANSI.sub("", line) for line in text.splitlines()]
    for i, line in enumerate(lines):
        if _DBT_ERROR.search(line):
            detail = next((s.strip() for s in lines[i + 1:i + 4] if s.strip()), "")
            return f"{line.strip()} — {detail}"[:500]
    candidates = [i for i, line in enumerate(lines) if _ERROR_LINE.search(line)]
    if task_id:
        own = [i for i in candidates if task_id in lines[i]]
        candidates = own or candidates
    for i in candidates:
        line = lines[i].strip()
        if "Traceback (most recent call last)" in line:
            for follow in lines[i + 1:i + 200]:
                s = follow.strip()
                if s and not s.startswith(("File ", "^", "~")) and not follow.startswith((" ", "\t")):
                    return s[:500]
            continue
        return line[:500]
    return None


def diagnose(record: RunRecord, states: dict) -> None:
    """Name the first failed task, write its part of the run log to a file of its own, find its error."""
    # The first to fail is the cause; later failures (the summary, say) follow from it.
    failed = list(dict.fromkeys(k[0] for k, v in sorted(states.items(), key=lambda kv: kv[1][2] or "")
                                if v[0] == "failed"))
    record.failed_tasks = failed
    run_log = Path(record.log_path)
    text = run_log.read_text(encoding="utf-8", errors="replace") if run_log.exists() else ""
    if failed:
        section = task_section(text, failed[0])
        if section:
            task_log = run_log.with_name(f"{run_log.stem}__{failed[0]}.log")
            task_log.write_text(section, encoding="utf-8")
            record.failed_task_log = str(task_log)
            record.first_error = first_error_line(section)
    if record.first_error is None:
        record.first_error = first_error_line(text, failed[0] if failed else None)


# --- the run ------------------------------------------------------------------------------------

def run_dag(settings: Settings, endpoints: Endpoints, logical_date: date, dag_id: str = "crm_daily",
            on_event: Callable[[TaskEvent], None] | None = None, poll_seconds: float = 1.0,
            on_note: Callable[[str], None] | None = None) -> RunRecord:
    """Run ``dag_id`` for ``logical_date`` to the end; raise :class:`RunFailed` naming what failed."""
    from python_tasks.transform.dbt_build import parse_manifest

    stop_leftover_run(settings)
    env = airflow_env(settings, endpoints)
    parse_manifest(endpoints.warehouse_dsn)  # the DAG renders its dbt tasks from the manifest
    fresh_metadata_db(env)  # a new, empty metadata DB: no DagRun or XCom of an earlier run is left
    log_path = run_log_path(settings, dag_id, logical_date)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    record = RunRecord(dag_id, logical_date.isoformat(), datetime.now(UTC).isoformat(timespec="seconds"),
                       log_path=str(log_path))
    db = metadata_db(settings)
    tracker = _Tracker()
    follower = _LogFollower(log_path)
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen([_airflow(), "dags", "test", dag_id, logical_date.isoformat()], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent)
        _pgid_file(settings).write_text(str(proc.pid))
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

        def _stop(signum: int, _frame: object) -> None:
            stop_group(proc.pid)
            record.state = "killed"
            record.exit_code = -signum
            _finish(settings, record, started)
            raise SystemExit(128 + signum)

        for s in previous:
            signal.signal(s, _stop)
        try:
            while proc.poll() is None:
                time.sleep(poll_seconds)
                for event in tracker.events(task_states(db, dag_id)):
                    if on_event:
                        on_event(event)
                note = follower.dbt_progress(time.monotonic())
                if note and on_note:
                    on_note(note)
            states = task_states(db, dag_id)
            for event in tracker.events(states):
                if on_event:
                    on_event(event)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if proc.poll() is None:
                stop_group(proc.pid)
            _pgid_file(settings).unlink(missing_ok=True)
    record.exit_code = proc.returncode
    failed = proc.returncode != 0 or any(v[0] == "failed" for v in states.values())
    record.state = "failed" if failed else "success"
    if failed:
        diagnose(record, states)
    _finish(settings, record, started)
    if failed:
        raise RunFailed(record)
    return record


def _finish(settings: Settings, record: RunRecord, started: float) -> None:
    record.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    record.seconds = round(time.monotonic() - started, 1)
    _append_run(settings, record)
