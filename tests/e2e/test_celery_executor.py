"""The compose stack's executor outside Docker: CeleryExecutor with Redis, a scheduler and a
Celery worker (`crm airflow up --executor celery`), crm_daily for a small bank to success, and
every task executed by the worker. Skipped only when no Redis answers."""
from __future__ import annotations

import os
import re
import socket
from datetime import date
from pathlib import Path

import pytest

from python_tasks import airflow_service
from python_tasks.config import Settings
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.warehouse import Endpoints
from tests.pgtools import create_database, drop_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REDIS = os.environ.get("CRM_TEST_REDIS", "127.0.0.1:6379")
RUN_DATE = date(2026, 9, 30)
SPEC = GenerationSpec(customers=300, days=14, seed=5, end_date=RUN_DATE)


def _redis_answers() -> bool:
    host, port = REDIS.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def celery_service(pg_admin_dsn, tmp_path_factory):
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {REDIS} (set CRM_TEST_REDIS=host:port): the Celery broker is missing")
    home = tmp_path_factory.mktemp("crm_home_celery")
    warehouse = create_database(pg_admin_dsn, "cel_wh")
    source = create_database(pg_admin_dsn, "cel_src")
    settings = Settings.from_env({"CRM_HOME": str(home), "CRM_PG_DSN": warehouse, "CRM_SOURCE_DSN": source})
    endpoints = Endpoints(warehouse_dsn=warehouse, source_dsn=source, embedded=False)
    generate(source, settings.landing_dir, SPEC)
    saved = dict(os.environ)
    os.environ.update(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False", CRM_TASK_RETRIES="0")  # as test_airflow_service
    try:
        # Redis database 0 is shared by every deployment: this one's tasks go to a queue of its own.
        state = airflow_service.up(settings, endpoints, executor=airflow_service.CELERY_EXECUTOR,
                                   broker_url=f"redis://{REDIS}/0")
        client = airflow_service.AirflowClient(state.url, airflow_service.ADMIN_USER, state.admin_password())
        yield state, client
    finally:
        airflow_service.down(settings)
        os.environ.clear()
        os.environ.update(saved)
        drop_database(pg_admin_dsn, airflow_service.metadata_dsn(warehouse))
        drop_database(pg_admin_dsn, warehouse)
        drop_database(pg_admin_dsn, source)


def test_crm_daily_runs_to_success_on_celery_workers(celery_service):
    state, client = celery_service
    assert state.executor == "CeleryExecutor" and "celery-worker" in state.pids
    client.wait_for_dag("crm_daily")
    client.unpause("crm_daily")
    run = client.trigger("crm_daily", {"business_date": RUN_DATE.isoformat()})
    finished = client.wait_for_run("crm_daily", run["dag_run_id"])
    tis = client.task_instances("crm_daily", run["dag_run_id"])
    failed = {ti["task_id"]: ti["state"] for ti in tis if ti["state"] != "success"}
    assert finished["state"] == "success", failed
    assert len(tis) > 40 and not failed
    assert {ti["queue"] for ti in tis} == {state.celery_queue}
    # The worker's own log names every task it executed: every task the scheduler queued (an
    # empty operator, such as Cosmos' producer-done marker, is marked done without a worker).
    worker_log = (Path(state.log_dir) / "celery-worker.log").read_text(errors="replace")
    executed = set(re.findall(r"Executing workload in Celery: .*?task_id='([^']+)'", worker_log))
    queued = {ti["task_id"] for ti in tis if ti["queued_when"] is not None}
    assert len(queued) > 40 and queued <= executed, queued - executed
    assert all(ti["operator"] == "EmptyOperator" for ti in tis if ti["task_id"] not in queued)
