"""Create the ``raw`` and ``ops`` schemas the loaders write to."""
from __future__ import annotations

from importlib.resources import files

import psycopg


def ensure_ops_schema(conn: psycopg.Connection) -> None:
    conn.execute(files("python_tasks.ingest").joinpath("ops_schema.sql").read_text())
