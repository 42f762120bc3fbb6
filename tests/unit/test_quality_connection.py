"""libpq DSN -> SQLAlchemy URL for GX (no database needed)."""
from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from python_tasks.quality.connection import effective_params, sqlalchemy_url


def connect_kwargs(dsn: str, connected: dict | None = None) -> dict:
    """What SQLAlchemy's psycopg dialect would hand to psycopg.connect for the built URL."""
    url = make_url(sqlalchemy_url(effective_params(dsn, connected)))
    _, kwargs = url.get_dialect()().create_connect_args(url)
    return {k: str(v) for k, v in kwargs.items()}


def gx_accepts(dsn: str, connected: dict | None = None) -> None:
    """GX's Postgres data source validates the URL with pydantic's PostgresDsn."""
    from great_expectations.compatibility.pydantic import PostgresDsn, parse_obj_as

    parse_obj_as(PostgresDsn, sqlalchemy_url(effective_params(dsn, connected)))


def test_tcp_keyword_dsn() -> None:
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=crm"
    url = sqlalchemy_url(effective_params(dsn))
    assert url == "postgresql+psycopg://postgres@127.0.0.1:5432/crm"
    gx_accepts(dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "host=/some/socket/dir port=5432 user=postgres dbname=crm",
        "postgresql://postgres:@/crm?host=/some/socket/dir&port=5432",
    ],
    ids=["keyword", "uri"],
)
def test_unix_socket_dir_goes_to_the_host_query_parameter(dsn: str) -> None:
    url = make_url(sqlalchemy_url(effective_params(dsn)))
    assert url.drivername == "postgresql+psycopg"
    assert url.query["host"] == "/some/socket/dir"
    kwargs = connect_kwargs(dsn)
    assert kwargs["host"] == "/some/socket/dir"  # the placeholder URL host never reaches libpq
    assert kwargs["port"] == "5432"
    assert (kwargs["user"], kwargs["dbname"]) == ("postgres", "crm")
    gx_accepts(dsn)


def test_missing_parts_come_from_the_live_connection() -> None:
    dsn = "dbname=crm"
    connected = {"host": "/run/postgresql", "port": 5433, "user": "etl", "dbname": "crm"}
    kwargs = connect_kwargs(dsn, connected)
    assert (kwargs["host"], kwargs["port"], kwargs["user"]) == ("/run/postgresql", "5433", "etl")
    gx_accepts(dsn, connected)


def test_password_and_extra_keywords_survive() -> None:
    dsn = "host=db.internal port=6432 user=etl password='p@ss w/rd:#${HOME}' dbname=crm sslmode=require"
    kwargs = connect_kwargs(dsn)
    assert kwargs["password"] == "p@ss w/rd:#${HOME}"
    assert kwargs["sslmode"] == "require"
    assert (kwargs["host"], kwargs["port"]) == ("db.internal", "6432")
    gx_accepts(dsn)


def test_multi_host_goes_to_the_query() -> None:
    kwargs = connect_kwargs("host=a.internal,b.internal port=5432,5433 user=etl dbname=crm")
    assert kwargs["host"] == "a.internal,b.internal"
    assert kwargs["port"] == "5432,5433"
