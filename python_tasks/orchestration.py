"""Run a DAG through Airflow itself (``airflow dags test``) on a private SQLite metadata DB.

This is the embedded way to run the product: no scheduler, no web server, but the real DAG,
the real task SDK and the real connections from ``AIRFLOW_CONN_*``.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from python_tasks.config import DAGS_DIR, Settings
from python_tasks.warehouse import Endpoints, airflow_conn_json

log = logging.getLogger(__name__)


class DagRunFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    logical_date: date
    seconds: float
    log_path: Path


def airflow_env(settings: Settings, endpoints: Endpoints) -> dict[str, str]:
    airflow_home = settings.home / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{airflow_home / 'airflow.db'}",
        AIRFLOW_CONN_CRM_WAREHOUSE=airflow_conn_json(endpoints.warehouse_dsn),
        AIRFLOW_CONN_CRM_COREBANK=airflow_conn_json(endpoints.source_dsn),
        CRM_HOME=str(settings.home),
        CRM_LANDING_DIR=str(settings.landing_dir),
        CRM_EXPORT_DIR=str(settings.export_dir),
        CRM_REPORTS_DIR=str(settings.reports_dir),
        GX_ANALYTICS_ENABLED="False",
        # No usage telemetry leaves a bank's network.
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        DO_NOT_TRACK="1",
        SCARF_ANALYTICS="false",
        CRM_TASK_RETRIES=os.environ.get("CRM_TASK_RETRIES", "0"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def _airflow() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def fresh_metadata_db(env: dict[str, str]) -> None:
    """Give this run an empty, migrated metadata DB.

    Each embedded run is throwaway: a leftover DagRun of the same date (say, from a killed run
    or an older DAG version) would otherwise collide with the new one. Migrating takes seconds,
    so a migrated template is kept per Airflow version and copied.
    """
    db = Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    template = db.with_name(f"template-{_airflow_version()}.db")
    if not template.exists():
        log.info("initialising an Airflow metadata DB template at %s", template)
        build_env = dict(env, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{template}.tmp")
        proc = subprocess.run([_airflow(), "db", "migrate"], env=build_env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DagRunFailed(f"`airflow db migrate` failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        os.replace(f"{template}.tmp", template)
    shutil.copyfile(template, db)


def test_dag(settings: Settings, endpoints: Endpoints, logical_date: date, dag_id: str = "crm_daily") -> DagRunResult:
    """Run one DAG run for ``logical_date`` to completion; raise with the log tail when it fails."""
    from python_tasks.transform.dbt_build import parse_manifest

    env = airflow_env(settings, endpoints)
    parse_manifest(endpoints.warehouse_dsn)  # the DAG renders its dbt tasks from the manifest
    fresh_metadata_db(env)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}_{logical_date.isoformat()}.log"
    started = time.perf_counter()
    with log_path.open("w") as fh:
        proc = subprocess.run([_airflow(), "dags", "test", dag_id, logical_date.isoformat()],
                              env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        raise DagRunFailed(f"{dag_id} for {logical_date} failed (exit {proc.returncode}); log: {log_path}\n{tail}")
    return DagRunResult(dag_id, logical_date, seconds, log_path)
