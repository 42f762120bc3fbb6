"""crm run's watcher: progress events, failure diagnosis, per-run logs, the process group."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime

from python_tasks import run_watch
from python_tasks.config import Settings


def test_each_state_change_is_reported_once():
    tracker = run_watch._Tracker()
    running = {("extract", -1): ("running", "2026-01-01T00:00:00+00:00", None)}
    assert [e.state for e in tracker.events(running)] == ["running"]
    assert tracker.events(running) == []
    done = {("extract", -1): ("success", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:02.500000+00:00"),
            ("queued", -1): ("scheduled", None, None)}
    events = tracker.events(done)
    assert [(e.task_id, e.state, e.seconds) for e in events] == [("extract", "success", 2.5)]


def test_first_error_line_is_the_exception_not_the_traceback_header():
    log = "\n".join([
        "INFO starting task_id=load",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "    boom()",
        "ValueError: landing file orders.csv line 7: unbalanced quote",
        "ERROR later noise",
    ])
    assert run_watch.first_error_line(log) == "ValueError: landing file orders.csv line 7: unbalanced quote"


def test_first_error_line_gives_dbts_reason_with_the_model():
    log = ("21:04:54  3 of 9 ERROR creating sql view model stg.x ... [\x1b[31mERROR\x1b[0m]\n"
           "21:05:21    Database Error in model x (models/x.sql)\n"
           '  relation "raw.y" does not exist\n')
    line = run_watch.first_error_line(log)
    assert "Database Error in model x" in line and 'relation "raw.y" does not exist' in line
    assert "\x1b" not in line


def test_task_section_is_the_tasks_last_attempt():
    log = "\n".join([
        "[DAG TEST] starting task_id=a map_index=-1",
        "first attempt",
        "[DAG TEST] end task task_id=a map_index=-1",
        "[DAG TEST] starting task_id=b map_index=-1",
        "[DAG TEST] end task task_id=b map_index=-1",
        "[DAG TEST] starting task_id=a map_index=-1",
        "ERROR second attempt",
        "[DAG TEST] end task task_id=a map_index=-1",
    ])
    section = run_watch.task_section(log, "a")
    assert "second attempt" in section and "first attempt" not in section and "task_id=b" not in section
    assert run_watch.task_section(log, "zzz") is None


def test_a_new_run_never_reuses_an_earlier_runs_log(tmp_path):
    settings = Settings.from_env({"CRM_HOME": str(tmp_path)})
    d = date(2026, 9, 30)
    first = run_watch.run_log_path(settings, "crm_daily", d, datetime(2026, 10, 1, 1, 0, 0, 1, UTC))
    second = run_watch.run_log_path(settings, "crm_daily", d, datetime(2026, 10, 1, 1, 0, 0, 2, UTC))
    assert first != second and first.name.startswith("crm_daily_2026-09-30_")


def _spawn_group(argv0: str = "airflow") -> subprocess.Popen:
    # A leader and a grandchild, in a session of their own, as `airflow dags test` runs its tasks.
    code = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); time.sleep(300)")
    return subprocess.Popen([sys.executable, "-c", code, argv0], start_new_session=True)


def _wait_gone(pgid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not run_watch._group_alive(pgid):
            return True
        time.sleep(0.1)
    return False


def test_stop_group_ends_the_leader_and_its_children():
    proc = _spawn_group()
    time.sleep(0.5)
    run_watch.stop_group(proc.pid, grace=5)
    proc.wait(10)
    assert _wait_gone(proc.pid)


def test_the_next_run_stops_a_group_a_killed_crm_left(tmp_path):
    settings = Settings.from_env({"CRM_HOME": str(tmp_path)})
    proc = _spawn_group()
    pgid_file = settings.home / "airflow" / "run.pgid"
    pgid_file.parent.mkdir(parents=True)
    pgid_file.write_text(str(proc.pid))
    time.sleep(0.5)
    assert run_watch.run_in_progress(settings)
    assert run_watch.stop_leftover_run(settings) == proc.pid
    proc.wait(10)
    assert _wait_gone(proc.pid) and not pgid_file.exists()


def test_a_group_that_is_not_airflow_is_left_alone(tmp_path):
    settings = Settings.from_env({"CRM_HOME": str(tmp_path)})
    proc = _spawn_group(argv0="something-else")
    try:
        pgid_file = settings.home / "airflow" / "run.pgid"
        pgid_file.parent.mkdir(parents=True)
        pgid_file.write_text(str(proc.pid))
        time.sleep(0.5)
        assert run_watch.stop_leftover_run(settings) is None
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_run_records_survive_a_garbled_line(tmp_path):
    settings = Settings.from_env({"CRM_HOME": str(tmp_path)})
    record = run_watch.RunRecord("crm_daily", "2026-09-30", "2026-10-01T00:00:00+00:00", state="success")
    run_watch._append_run(settings, record)
    with run_watch.runs_file(settings).open("a") as fh:
        fh.write("{not json\n")
    assert [r.state for r in run_watch.read_runs(settings)] == ["success"]


def test_dbt_progress_is_read_from_the_growing_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("x 1 of 3 START sql table model a\nx 1 of 3 OK created sql table model a\nx 2 of 3 PA")
    follower = run_watch._LogFollower(log)
    assert follower.dbt_progress(now=100.0) == "dbt build: 1 of 3 nodes done"
    with log.open("a") as fh:
        fh.write("SS test b\n")
    assert follower.dbt_progress(now=101.0) is None  # not yet: one line per DBT_PROGRESS_EVERY_SECONDS
    assert follower.dbt_progress(now=200.0) == "dbt build: 2 of 3 nodes done"
    assert follower.dbt_progress(now=300.0) is None  # nothing new
