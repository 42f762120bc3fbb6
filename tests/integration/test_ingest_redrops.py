"""Re-drops against a real Postgres and the real loader: a file is its date, feed and content.

A corrected file replaces its date's rows; bytes already loaded for another date are loaded for
this one too and reported as misfiled, never skipped."""
from __future__ import annotations

from datetime import date

import pytest

from python_tasks.ingest.landing import load_landing
from tests.integration.test_ingest_landing import FEED, HEADER, D, audit, good, load, one, rows, write

pytestmark = pytest.mark.integration

NEXT = date(2026, 10, 1)


def consent_file(ids: range, day: date) -> str:
    return HEADER + "".join(good(i).replace("2026-09-30", day.isoformat()) for i in ids)


def by_date(dsn: str) -> list[tuple]:
    return rows(dsn, "select _logical_date, count(*), min(event_id), max(event_id) from raw.channel__events "
                     "group by 1 order by 1")


def misfiled(dsn: str) -> list[tuple]:
    return rows(dsn, "select logical_date, other_logical_date from ops.misfiled_files order by 1, 2")


def test_next_days_bytes_in_todays_folder_then_the_right_files_land_every_row(fresh_db, tmp_path, caplog):
    next_bytes = consent_file(range(100, 120), NEXT)
    today_bytes = consent_file(range(1, 11), D)
    load(fresh_db, FEED, write(tmp_path, next_bytes, d=D))  # misfiled: the next day's file in today's folder
    # The next day's run gets its own (right) file: the same bytes, loaded for its date, reported.
    result = load(fresh_db, FEED, write(tmp_path, next_bytes, d=NEXT), d=NEXT, run_id="run-2")
    assert (result.read, result.loaded) == (20, 20)
    assert misfiled(fresh_db) == [(NEXT, D)]
    assert "misfiled" in caplog.text and D.isoformat() in caplog.text
    # Today's right file comes later: it replaces the misfiled batch through the partition swap.
    load(fresh_db, FEED, write(tmp_path, today_bytes, d=D), run_id="run-3")
    assert by_date(fresh_db) == [(D, 10, "E00001", "E00010"), (NEXT, 20, "E00100", "E00119")]
    assert one(fresh_db, "select count(*) from ops.load_audit where status like 'skipped%%'") == 0


def test_corrected_file_arriving_before_the_next_day_leaves_nothing_to_report(fresh_db, tmp_path):
    next_bytes = consent_file(range(100, 120), NEXT)
    load(fresh_db, FEED, write(tmp_path, next_bytes, d=D))
    load(fresh_db, FEED, write(tmp_path, consent_file(range(1, 11), D), d=D), run_id="run-2")
    load(fresh_db, FEED, write(tmp_path, next_bytes, d=NEXT), d=NEXT, run_id="run-3")
    assert misfiled(fresh_db) == []
    assert by_date(fresh_db) == [(D, 10, "E00001", "E00010"), (NEXT, 20, "E00100", "E00119")]


def test_same_bytes_renamed_for_another_date_are_loaded_and_reported_not_skipped(fresh_db, tmp_path):
    first = write(tmp_path, HEADER + "".join(good(i) for i in range(1, 21)))
    load(fresh_db, FEED, first)
    renamed = write(tmp_path, first.read_bytes(), name="events_resent.csv", d=NEXT)
    result = load(fresh_db, FEED, renamed, d=NEXT, run_id="run-2")
    assert (result.read, result.loaded, result.misfiled_as) == (20, 20, [D.isoformat()])
    assert one(fresh_db, "select count(*) from raw.channel__events where _logical_date = %s", NEXT) == 20
    assert audit(fresh_db) == [(20, 20, 0, "loaded"), (20, 20, 0, "loaded")]
    assert rows(fresh_db, "select source_file, other_source_file from ops.misfiled_files") == [
        (str(renamed), str(first))]
    # a re-run of the date replaces its own report, it does not add a second one
    load(fresh_db, FEED, renamed, d=NEXT, run_id="run-3")
    assert misfiled(fresh_db) == [(NEXT, D)]


def test_header_only_files_are_never_reported_as_misfiled(fresh_db, tmp_path):
    load(fresh_db, FEED, write(tmp_path, HEADER))
    load(fresh_db, FEED, write(tmp_path, HEADER, d=NEXT), d=NEXT)
    assert misfiled(fresh_db) == []


def test_rerun_of_a_date_with_the_same_bytes_replaces_and_reports_nothing(fresh_db, tmp_path):
    path = write(tmp_path, HEADER + "".join(good(i) for i in range(1, 6)))
    load(fresh_db, FEED, path)
    load(fresh_db, FEED, path, run_id="run-2")
    assert misfiled(fresh_db) == []
    assert by_date(fresh_db) == [(D, 5, "E00001", "E00005")]
    assert rows(fresh_db, "select logical_date, run_id from ops.file_registry") == [(D, "run-2")]


def test_load_landing_reports_misfiled_drops_in_its_result(fresh_db, tmp_path):
    from python_tasks.ingest.feeds import FEEDS

    feed = FEEDS["consent_changes"]
    text = ",".join(feed.columns) + "\nX1,C1,sms,withdrawn,2026-10-01T09:00:00+08:00\n"
    write(tmp_path, text, name=feed.filename(), d=D)
    write(tmp_path, text, name=feed.filename(), d=NEXT)
    load_landing(fresh_db, tmp_path, D, "run-1", feeds=("consent_changes",))
    result = load_landing(fresh_db, tmp_path, NEXT, "run-2", feeds=("consent_changes",))
    assert result["consent_changes"]["misfiled_as"] == [D.isoformat()]
    from python_tasks.reporting.run_summary import collect, render

    summary = collect(fresh_db, NEXT, "run-2")
    assert [(m["source"], m["same_bytes_as_date"]) for m in summary["misfiled_files"]] == [
        ("landing.consent_changes", D.isoformat())]
    assert "Misfiled? " in render(summary)
    assert one(fresh_db, "select count(*) from raw.channel__consent_changes where _logical_date = %s", NEXT) == 1


def test_a_registry_keyed_by_content_alone_is_converted_keeping_each_dates_latest_file(fresh_db, tmp_path):
    import psycopg

    from python_tasks.ingest.bootstrap import ensure_ops_schema

    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema ops")
        conn.execute("create table ops.file_registry (sha256 text primary key, feed text not null, "
                     "logical_date date not null, path text not null, bytes bigint not null, run_id text not null, "
                     "registered_at timestamptz not null default now())")
        conn.execute("insert into ops.file_registry values "
                     "('aaa', 'events', '2026-09-30', '/old/v1.csv', 10, 'r1', '2026-10-01 01:00+08'), "
                     "('bbb', 'events', '2026-09-30', '/old/v2.csv', 12, 'r2', '2026-10-01 02:00+08'), "
                     "('ccc', 'events', '2026-10-01', '/old/n.csv', 9, 'r3', '2026-10-02 01:00+08')")
        ensure_ops_schema(conn)
        ensure_ops_schema(conn)  # idempotent
    assert rows(fresh_db, "select logical_date, sha256, path from ops.file_registry order by 1") == [
        (D, "bbb", "/old/v2.csv"), (NEXT, "ccc", "/old/n.csv")]
    # and the loader works on it: a new file for the next day replaces that date's entry only
    load(fresh_db, FEED, write(tmp_path, HEADER + good(1), d=NEXT), d=NEXT)
    assert rows(fresh_db, "select logical_date, sha256 in ('bbb', 'ccc') from ops.file_registry order by 1") == [
        (D, True), (NEXT, False)]
