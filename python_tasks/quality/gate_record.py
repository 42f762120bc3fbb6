"""What the gate validated, so an export can prove it writes those very rows.

The gate records, per business date, its verdict and a fingerprint of the campaign list rows it
validated (``ops.dq_gate``). The export recomputes the fingerprint in the snapshot it reads the
rows from and refuses when it differs: a retry or clear of the export after the list changed needs
a new gate, whatever run id it carries. The fingerprint is an md5 over the rows' md5s in key order:
any changed, added or removed row changes it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import psycopg

log = logging.getLogger(__name__)

DDL = """
create schema if not exists ops;
create table if not exists ops.dq_gate (
    as_of_date   date primary key,
    run_id       text not null,
    passed       boolean not null,
    list_rows    bigint not null,
    list_md5     text not null,
    gated_at     timestamptz not null default now()
);
"""

_FINGERPRINT = """
select count(*), coalesce(md5(string_agg(md5(members::text), '' order by campaign_code, customer_id)), '')
from exports.campaign_members as members
where as_of_date = %s
"""


class ExportBlocked(RuntimeError):
    """The data-quality gate did not pass for these rows: nothing may be exported."""


@dataclass(frozen=True)
class ListFingerprint:
    rows: int
    md5: str


@dataclass(frozen=True)
class GateRecord:
    as_of_date: date
    run_id: str
    passed: bool
    fingerprint: ListFingerprint


def list_fingerprint(conn: psycopg.Connection, as_of_date: date) -> ListFingerprint:
    """The fingerprint of the date's campaign list rows (no rows: the empty fingerprint)."""
    if conn.execute("select to_regclass('exports.campaign_members')").fetchone()[0] is None:
        return ListFingerprint(0, "")
    rows, md5 = conn.execute(_FINGERPRINT, (as_of_date,)).fetchone()
    return ListFingerprint(rows, md5)


def record_gate(conn: psycopg.Connection, as_of_date: date, run_id: str, *, passed: bool,
                fingerprint: ListFingerprint | None = None) -> GateRecord:
    """Replace the date's gate record (one per date: a re-run's verdict is the one that counts)."""
    fingerprint = fingerprint if fingerprint is not None else list_fingerprint(conn, as_of_date)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('ops.dq_gate'))")
        conn.execute(DDL)
        conn.execute(
            """
            insert into ops.dq_gate (as_of_date, run_id, passed, list_rows, list_md5)
            values (%s, %s, %s, %s, %s)
            on conflict (as_of_date) do update set run_id = excluded.run_id, passed = excluded.passed,
                list_rows = excluded.list_rows, list_md5 = excluded.list_md5, gated_at = now()
            """,
            (as_of_date, run_id, passed, fingerprint.rows, fingerprint.md5),
        )
    return GateRecord(as_of_date, run_id, passed, fingerprint)


def assert_rows_gated(conn: psycopg.Connection, as_of_date: date) -> GateRecord:
    """The date's gate record, if it passed over exactly the rows there now; else ExportBlocked.

    Call it inside the transaction (repeatable read) that then reads the rows it exports.
    """
    if conn.execute("select to_regclass('ops.dq_gate')").fetchone()[0] is None:
        row = None
    else:
        row = conn.execute("select run_id, passed, list_rows, list_md5 from ops.dq_gate where as_of_date = %s",
                           (as_of_date,)).fetchone()
    if row is None:
        raise ExportBlocked(f"no data-quality gate recorded for {as_of_date}: run the quality_gate task first")
    run_id, passed, rows, md5 = row
    if not passed:
        raise ExportBlocked(
            f"data-quality gate failed for {as_of_date} (run {run_id}); see ops.dq_results. Nothing was exported."
        )
    now = list_fingerprint(conn, as_of_date)
    if now != ListFingerprint(rows, md5):
        raise ExportBlocked(
            f"the campaign lists of {as_of_date} changed since the gate of run {run_id} validated them "
            f"({rows} rows then, {now.rows} now, or the same count with other values). Nothing was exported: "
            "run the quality_gate task again (clear it and its downstream tasks), then export."
        )
    return GateRecord(as_of_date, run_id, passed, now)
