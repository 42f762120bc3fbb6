"""The pieces of `crm airflow up` that need no running Airflow."""
from __future__ import annotations

import socket

from python_tasks import airflow_service
from python_tasks.alerts import Alert, send


def test_metadata_db_sits_beside_the_warehouse_on_its_server():
    url = airflow_service.metadata_sqlalchemy_url("host=/tmp/pgsock port=5433 dbname=crm user=postgres")
    # The port names the socket file (.s.PGSQL.5433): it stays.
    assert url == "postgresql+psycopg2://postgres@:5433/crm_airflow?host=%2Ftmp%2Fpgsock"
    url = airflow_service.metadata_sqlalchemy_url("postgresql://crm:s3cret@db.bank:5432/warehouse")
    assert url == "postgresql+psycopg2://crm:s3cret@db.bank:5432/warehouse_airflow"


def test_a_port_picked_is_free_to_bind():
    port = airflow_service.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_status_without_services_says_not_running(tmp_path):
    from python_tasks.config import Settings

    assert airflow_service.status(Settings.from_env({"CRM_HOME": str(tmp_path)})) == {"running": False}


def test_an_unreachable_webhook_never_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/alerts"
    alert = Alert("run_failed", "crm_daily", "manual__x", "2026-09-30", None, "boom", None)
    assert send(alert, {"CRM_ALERT_WEBHOOK_URL": dead}) == []
    assert send(alert, {}) == []
