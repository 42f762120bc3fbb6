"""A re-run of a date replaces the ops rows its first run wrote: the same counts as one run."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks.db import connect
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.feeds import Feed
from python_tasks.ingest.landing import load_file
from python_tasks.synthetic.bank import GenerationSpec, generate
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
FEED = Feed("events", "utf-8", ("event_id", "customer_id", "event_ts", "note"), "event_id")


def count(dsn: str, query: str, *params) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_rerun_of_a_file_under_a_new_run_id_replaces_its_audit_row(fresh_db: str, tmp_path: Path):
    path = tmp_path / D.isoformat() / "events.csv"
    path.parent.mkdir(parents=True)
    path.write_text("event_id,customer_id,event_ts,note\nE1,C00000001,2026-09-30T10:00:00+08:00,x\n")
    with connect(fresh_db) as conn:
        ensure_ops_schema(conn)
        conn.commit()
        load_file(conn, FEED, path, D, "run-killed")  # the file a killed run had loaded and audited
        load_file(conn, FEED, path, D, "run-again")
    assert count(fresh_db, "select count(*) from ops.load_audit where logical_date = %s", D) == 1
    assert count(fresh_db, "select count(*) from ops.load_audit where run_id = 'run-again'") == 1


@pytest.fixture(scope="module")
def source(pg_admin_dsn, tmp_path_factory):
    dsn = create_database(pg_admin_dsn, "reruns_src")
    try:
        generate(dsn, tmp_path_factory.mktemp("landing"), GenerationSpec(customers=40, days=3, seed=5, end_date=D))
        yield dsn
    finally:
        drop_database(pg_admin_dsn, dsn)


def test_rerun_of_a_corebank_extract_leaves_one_audit_row_per_table(source: str, fresh_db: str):
    load_corebank(source, fresh_db, D, "run-1")
    once = count(fresh_db, "select count(*) from ops.load_audit where logical_date = %s", D)
    load_corebank(source, fresh_db, D, "run-2")
    assert once > 0
    assert count(fresh_db, "select count(*) from ops.load_audit where logical_date = %s", D) == once
    assert count(fresh_db, "select count(distinct run_id) from ops.load_audit where logical_date = %s", D) == 1
