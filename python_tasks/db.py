"""Small helpers around psycopg 3 shared by the loaders, exporters and reports."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

log = logging.getLogger(__name__)


@contextmanager
def connect(dsn: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A connection that says which database it failed to reach."""
    try:
        conn = psycopg.connect(dsn, autocommit=autocommit, application_name="crm-warehouse")
    except psycopg.OperationalError as exc:
        raise ConnectionError(
            f"cannot reach Postgres at {_redact(dsn)}: {exc}. "
            "Start the embedded server with `crm db start`, or set CRM_PG_DSN to a reachable server."
        ) from exc
    with conn:
        yield conn


def _redact(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    if "password" in parts:
        parts["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in parts.items())
