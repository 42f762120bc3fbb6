"""What the gate validated, so an export can prove it writes those very rows.

The gate records, per business date, its verdict and a fingerprint of the campaign list rows it
validated (``ops.dq_gate``). The export recomputes the fingerprint in the snapshot it reads the
rows from and refuses when it differs: a retry or clear of the export after the list changed needs
a new gate, whatever run id it carries. The fingerprint is the row count and the sum of a 64-bit
hash of each row (Postgres' hashtextextended of the row's text): any changed, added or removed
row changes it (but for odds of 2^-64), and it needs no sort (an md5 over the rows in key order
took four times as long at a million rows). It guards against change, not against a forger: who
can write the list table can write the gate's record too.
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
    list_checksum text not null,
    gated_at     timestamptz not null default now()
);
"""

FINGERPRINT_SQL = """
select count(*), coalesce(sum(hashtextextended(members::text, 0)::numeric), 0)::text
from exports.campaign_members as members
where as_of_date = %s
"""


class ExportBlocked(RuntimeError):
    """The data-quality gate did not pass for these rows: nothing may be exported."""


@dataclass(frozen=True)
class ListFingerprint:
    rows: int
    checksum: str


@dataclass(frozen=True)
class GateRecord:
    as_of_date: date
    run_id: str
    passed: bool
    fingerprint: ListFingerprint


def list_fingerprint(conn: psycopg.Connection, as_of_date: date) -> ListFingerprint:
    """The fingerprint of the date's campaign list rows (no rows: the empty fingerprint)."""
    if conn.execute("select to_regclass('exports.campaign_members')").fetchone()[0] is None:
        return ListFingerprint(0, "0")
    rows, checksum = conn.execute(FINGERPRINT_SQL, (as_of_date,)).fetchone()
    return ListFingerprint(rows, checksum)


def record_gate(conn: psycopg.Connection, as_of_date: date, run_id: str, *, passed: bool,
                fingerprint: ListFingerprint | None = None) -> GateRecord:
    """Replace the date's gate record (one per date: a re-run's verdict is the one that counts)."""
    fingerprint = fingerprint if fingerprint is not None else list_fingerprint(conn, as_of_date)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('ops.dq_gate'))")
        conn.execute(DDL)
        conn.execute(
            """
            insert into ops.dq_gate (as_of_date, run_id, passed, list_rows, list_checksum)
            values (%s, %s, %s, %s, %s)
            on conflict (as_of_date) do update set run_id = excluded.run_id, passed = excluded.passed,
                list_rows = excluded.list_rows, list_checksum = excluded.list_checksum, gated_at = now()
            """,
            (as_of_date, run_id, passed, fingerprint.rows, fingerprint.checksum),
        )
    return GateRecord(as_of_date, run_id, passed, fingerprint)


def assert_rows_gated(conn: psycopg.Connection, as_of_date: date) -> GateRecord:
    """The date's gate record, if it passed over exactly the rows there now; else ExportBlocked.

    Call it inside the transaction (repeatable read) that then reads the rows it exports.
    """
    if conn.execute("select to_regclass('ops.dq_gate')").fetchone()[0] is None:
        row = None
    else:
        row = conn.execute("select run_id, passed, list_rows, list_checksum from ops.dq_gate where as_of_date = %s",
                           (as_of_date,)).fetchone()
    if row is None:
        raise ExportBlocked(f"no data-quality gate recorded for {as_of_date}: run the quality_gate task first")
    run_id, passed, rows, checksum = row
    if not passed:
        raise ExportBlocked(
            f"data-quality gate failed for {as_of_date} (run {run_id}); see ops.dq_results. Nothing was exported."
        )
    now = list_fingerprint(conn, as_of_date)
    if now != ListFingerprint(rows, checksum):
        raise ExportBlocked(
            f"the campaign lists of {as_of_date} changed since the gate of run {run_id} validated them "
            f"({rows} rows then, {now.rows} now, or the same count with other values). Nothing was exported: "
            "run the quality_gate task again (clear it and its downstream tasks), then export."
        )
    return GateRecord(as_of_date, run_id, passed, now)
