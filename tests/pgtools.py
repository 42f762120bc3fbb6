"""Create and drop throwaway databases on the test server."""
from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from python_tasks.warehouse import with_dbname


def create_database(admin_dsn: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_dbname(admin_dsn, name)


def drop_database(admin_dsn: str, dsn: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
