"""dbt inside Airflow (Cosmos' watcher mode, dags/crm_dbt.py): when the one `dbt build` fails,
the failed model's own task fails, and nothing after the dbt group runs."""
from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from python_tasks.config import Settings
from python_tasks.orchestration import DagRunFailed, metadata_db
from python_tasks.orchestration import test_dag as run_dag
from python_tasks.warehouse import Endpoints
from tests.pgtools import create_database, drop_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _task_states(settings: Settings) -> dict[str, str]:
    with sqlite3.connect(metadata_db(settings)) as conn:
        return dict(conn.execute("select task_id, state from task_instance"))


def test_a_failed_build_fails_the_models_own_task_and_stops_before_the_marts(pg_admin_dsn, tmp_path):
    # A warehouse with nothing loaded: the staging models' sources do not exist.
    warehouse = create_database(pg_admin_dsn, "af_fail")
    settings = Settings.from_env({"CRM_HOME": str(tmp_path), "CRM_PG_DSN": warehouse})
    endpoints = Endpoints(warehouse_dsn=warehouse, source_dsn=warehouse, embedded=False)
    try:
        with pytest.raises(DagRunFailed):
            run_dag(settings, endpoints, date(2026, 9, 30), "crm_rebuild_marts")
        states = _task_states(settings)
    finally:
        drop_database(pg_admin_dsn, warehouse)

    assert states["prepare_warehouse"] == "success"
    assert states["dbt.dbt_producer_watcher"] == "failed"
    # The model that failed says so itself; a seed the same build loaded reports success.
    assert states["dbt.stg_corebank__customers.run"] == "failed"
    assert states["dbt.tier_policy_parameters_seed"] == "success"
    # A model downstream of a failure never reports success, and the marts are never declared built.
    assert states["dbt.mart_customer_tier.run"] != "success"
    assert states["marts_ready"] == "upstream_failed"
