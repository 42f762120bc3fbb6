"""Where the warehouse and the core-banking source live, and how to reach them.

One place decides: ``CRM_PG_DSN`` when set, otherwise a private PostgreSQL from the
``pgserver`` wheel with its data under ``$CRM_HOME/pgdata``. The core-banking source is its
own database on the same server unless ``CRM_SOURCE_DSN`` says otherwise.
"""
from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from python_tasks.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_WAREHOUSE_DB = "crm"
EMBEDDED_SOURCE_DB = "corebank"


@dataclass(frozen=True)
class Endpoints:
    warehouse_dsn: str
    source_dsn: str
    embedded: bool


def _pgdata(settings: Settings) -> Path:
    return settings.home / "pgdata"


def _pgserver():
    """Import pgserver only when the embedded default is used."""
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver
        import pgserver._commands

    return pgserver


# The embedded server's settings for a warehouse (reloadable ones: no restart). Postgres' defaults
# checkpoint every 1 GB of WAL: a daily build writing millions of rows then checkpoints every few
# seconds, and after each checkpoint the first change to every index page logs the whole page.
# work_mem as dbt's model pre-hook sets it, for the sessions no hook reaches: dbt's tests (a
# million-row check hashed at the default 4 MB spills to disk: 5.2 s at 1M where 1.9 s fits in
# memory).
# A server of the bank's own (CRM_PG_DSN) is its DBA's to tune (docs/operations.md).
EMBEDDED_SERVER_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min", "work_mem": "256MB"}


def start_embedded(settings: Settings):
    """Start (or reuse) the embedded server. It keeps running after this process exits."""
    pgserver = _pgserver()
    settings.home.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pgserver.get_server(_pgdata(settings), cleanup_mode=None)
    tune_server(make_conninfo(server.get_uri("postgres")), EMBEDDED_SERVER_SETTINGS)
    return server


def tune_server(admin_dsn: str, wanted: dict[str, str]) -> None:
    """Set reloadable server settings (ALTER SYSTEM) that differ from ``wanted``, then reload."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        changed = False
        for name, value in wanted.items():
            current = conn.execute("select current_setting(%s)", (name,)).fetchone()[0]
            if current.replace(" ", "").lower() != value.lower():
                conn.execute(sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                changed = True
        if changed:
            conn.execute("select pg_reload_conf()")
            log.info("embedded server tuned: %s", wanted)


def embedded_status(settings: Settings) -> dict:
    pid_file = _pgdata(settings) / "postmaster.pid"
    if not pid_file.exists():
        return {"running": False, "pgdata": str(_pgdata(settings))}
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        import os

        os.kill(pid, 0)
        running = True
    except OSError:
        running = False
    return {"running": running, "pid": pid, "pgdata": str(_pgdata(settings))}


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs. Returns whether one was stopped."""
    import subprocess

    bin_path = _pgserver()._commands.POSTGRES_BIN_PATH
    if not embedded_status(settings)["running"]:
        return False
    pgdata = _pgdata(settings)
    cmd = [str(bin_path / "pg_ctl"), "-D", str(pgdata), "-w", "stop", "-m", "fast"]
    import os

    if os.geteuid() == 0:  # pgserver runs the server as its own system user when we are root
        cmd = ["su", "pgserver", "-s", "/bin/sh", "-c", " ".join(cmd)]
    subprocess.run(cmd, check=True, capture_output=True)
    return True


def with_dbname(dsn: str, dbname: str) -> str:
    parts = conninfo_to_dict(dsn)
    parts["dbname"] = dbname
    return make_conninfo(**parts)


def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` if the server lacks it."""
    dbname = conninfo_to_dict(dsn).get("dbname") or "postgres"
    admin = with_dbname(dsn, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            log.info("creating database %s", dbname)
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def resolve(settings: Settings, *, create: bool = True) -> Endpoints:
    """Decide where the warehouse and the source are, starting the embedded server if needed."""
    if settings.pg_dsn:
        warehouse = settings.pg_dsn
        base = conninfo_to_dict(warehouse).get("dbname") or "crm"
        source = settings.source_dsn or with_dbname(warehouse, f"{base}_corebank")
        embedded = False
    else:
        server = start_embedded(settings)
        warehouse = make_conninfo(server.get_uri(EMBEDDED_WAREHOUSE_DB))
        source = settings.source_dsn or make_conninfo(server.get_uri(EMBEDDED_SOURCE_DB))
        embedded = True
    if create:
        ensure_database(warehouse)
        ensure_database(source)
    return Endpoints(warehouse_dsn=warehouse, source_dsn=source, embedded=embedded)


def airflow_conn_json(dsn: str) -> str:
    """The ``AIRFLOW_CONN_*`` value (JSON form) for a libpq DSN, unix sockets included."""
    p = conninfo_to_dict(dsn)
    conn = {
        "conn_type": "postgres",
        "host": p.get("host") or "localhost",
        "port": int(p.get("port") or 5432),
        "login": p.get("user") or "postgres",
        "password": p.get("password") or "",
        "schema": p.get("dbname") or "postgres",
    }
    return json.dumps(conn)


def dsn_from_parts(host: str, port: int | None, login: str | None, password: str | None,
                   dbname: str | None) -> str:
    """A libpq DSN from connection parts (as an Airflow Connection holds them)."""
    parts = {"host": host, "port": port or 5432, "user": login or "postgres", "dbname": dbname or "postgres"}
    if password:
        parts["password"] = password
    return make_conninfo(**parts)
