"""Persist gate outcomes in ``ops.dq_results``: one row per evaluated expectation per run."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

TABLE = "ops.dq_results"

DDL = """
create schema if not exists ops;
create table if not exists ops.dq_results (
    run_id           text        not null,
    as_of_date       date        not null,
    suite            text        not null,
    expectation_type text        not null,
    column_name      text,
    severity         text        not null,
    success          boolean     not null,
    observed         jsonb,
    checked_at       timestamptz not null default now()
);
create index if not exists dq_results_run_idx on ops.dq_results (run_id, as_of_date);
"""

# Two gates starting at once would race on "create table if not exists" (it is not atomic in
# Postgres) and on the delete/insert of one run; a transaction-scoped advisory lock serialises
# both. The key is arbitrary but fixed: hashtext('ops.dq_results').
_LOCK = "select pg_advisory_xact_lock(hashtext('ops.dq_results'))"


@dataclass(frozen=True)
class ResultRow:
    suite: str
    expectation_type: str
    column_name: str | None
    severity: str
    success: bool
    observed: dict[str, Any] | None


def replace_results(
    conn: psycopg.Connection, run_id: str, as_of_date: date, rows: Iterable[ResultRow]
) -> int:
    """Replace the rows of ``as_of_date`` in one transaction; returns rows written.

    Delete-then-insert of the date, whichever run wrote them: a retry, a clear or a new run of the
    date leaves exactly one set of rows (the latest gate's, which is the one exports check), and
    readers never see a half-written set.
    """
    params: Sequence[tuple[Any, ...]] = [
        (
            run_id,
            as_of_date,
            r.suite,
            r.expectation_type,
            r.column_name,
            r.severity,
            r.success,
            Jsonb(r.observed) if r.observed is not None else None,
        )
        for r in rows
    ]
    with conn.transaction():
        conn.execute(_LOCK)
        conn.execute(DDL)
        deleted = conn.execute(
            "delete from ops.dq_results where as_of_date = %s",
            (as_of_date,),
        ).rowcount
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.dq_results (run_id, as_of_date, suite, expectation_type,"
                " column_name, severity, success, observed)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                params,
            )
    log.info(
        "%s: replaced %d row(s) with %d for run_id=%s as_of_date=%s",
        TABLE, deleted, len(params), run_id, as_of_date,
    )
    return len(params)
