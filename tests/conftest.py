"""Test fixtures: a real Postgres for every integration test.

The embedded server (pgserver) is the default, so `make test` needs nothing on the machine.
Set CRM_PG_DSN (or CRM_TEST_PG_ADMIN_DSN) to run the same tests against another server.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import pytest

from python_tasks.config import REPO_ROOT
from python_tasks.warehouse import with_dbname
from tests.pgtools import create_database, drop_database

# pgserver logs from an atexit hook, after pytest has closed the streams.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def _start_embedded_admin_dsn() -> str:
    from psycopg.conninfo import make_conninfo

    pgdata = Path(os.environ.get("CRM_TEST_PGDATA", REPO_ROOT / ".crm" / "test-pgdata"))
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode=None)
    return make_conninfo(server.get_uri("postgres"))


def pytest_configure(config: pytest.Config) -> None:
    # One admin DSN for the whole session, shared by every test module's own fixtures.
    if os.environ.get("CRM_TEST_PG_ADMIN_DSN"):
        return
    if os.environ.get("CRM_PG_DSN"):
        os.environ["CRM_TEST_PG_ADMIN_DSN"] = with_dbname(os.environ["CRM_PG_DSN"], "postgres")
    else:
        os.environ["CRM_TEST_PG_ADMIN_DSN"] = _start_embedded_admin_dsn()


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    return os.environ["CRM_TEST_PG_ADMIN_DSN"]


@pytest.fixture
def fresh_db(pg_admin_dsn: str):
    """An empty database of its own for one test."""
    dsn = create_database(pg_admin_dsn, "crmtest")
    yield dsn
    drop_database(pg_admin_dsn, dsn)
