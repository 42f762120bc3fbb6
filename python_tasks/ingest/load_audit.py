"""ops.load_audit holds one row per source and logical date: the latest load of it."""
from __future__ import annotations

from datetime import date

import psycopg


def replace_audit(conn: psycopg.Connection, logical_date: date, source: str) -> None:
    """Remove the date's audit rows of ``source`` before its load writes its own, in the load's
    transaction: a re-run of the date, a retry, or a run after a killed one (whose files loaded
    before the kill left their rows) leaves the rows of one run."""
    conn.execute("delete from ops.load_audit where logical_date = %s and source = %s", (logical_date, source))
