"""Create the ``raw`` and ``ops`` schemas the loaders write to."""
from __future__ import annotations

from importlib.resources import files

import psycopg


def ensure_ops_schema(conn: psycopg.Connection) -> None:
    """Idempotent DDL. Loaders run in parallel (core banking beside the file drops), and
    concurrent `create ... if not exists` / `create or replace function` can collide in
    Postgres: one transaction-scoped advisory lock serialises them. The caller commits."""
    conn.execute("select pg_advisory_xact_lock(hashtext('crm.ops_schema'))")
    conn.execute(files("python_tasks.ingest").joinpath("ops_schema.sql").read_text())
