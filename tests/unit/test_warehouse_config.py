"""Where the warehouse is: one place decides, from the environment."""
from __future__ import annotations

import json
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from python_tasks.config import Settings
from python_tasks.warehouse import airflow_conn_json, dsn_from_parts, with_dbname


def test_settings_default_everything_under_crm_home(tmp_path: Path):
    s = Settings.from_env({"CRM_HOME": str(tmp_path)})
    assert s.landing_dir == tmp_path / "landing"
    assert s.export_dir == tmp_path / "exports"
    assert s.pg_dsn is None


def test_settings_take_an_external_warehouse():
    s = Settings.from_env({"CRM_PG_DSN": "host=db dbname=crm", "CRM_EXPORT_DIR": "/srv/exports"})
    assert s.pg_dsn == "host=db dbname=crm"
    assert s.export_dir == Path("/srv/exports")


def test_source_database_name_is_swapped_keeping_the_server():
    dsn = with_dbname("host=db port=6432 user=etl dbname=crm", "crm_corebank")
    assert conninfo_to_dict(dsn) == {"host": "db", "port": "6432", "user": "etl", "dbname": "crm_corebank"}


def test_unix_socket_dsn_round_trips_through_an_airflow_connection():
    dsn = "postgresql://postgres:@/crm?host=/work/.crm/pgdata"
    conn = json.loads(airflow_conn_json(dsn))
    assert conn["host"] == "/work/.crm/pgdata" and conn["schema"] == "crm"
    back = dsn_from_parts(conn["host"], conn["port"], conn["login"], conn["password"], conn["schema"])
    assert conninfo_to_dict(back) == {"host": "/work/.crm/pgdata", "port": "5432", "user": "postgres", "dbname": "crm"}


def test_password_is_kept_only_when_there_is_one():
    assert "password" not in conninfo_to_dict(dsn_from_parts("h", 5432, "u", "", "d"))
    assert conninfo_to_dict(dsn_from_parts("h", 5432, "u", "s3cret", "d"))["password"] == "s3cret"
