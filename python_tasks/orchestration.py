"""Run a DAG through Airflow itself (``airflow dags test``) on a private SQLite metadata DB.

This is the embedded way to run the product: no scheduler, no web server, but the real DAG,
the real task SDK and the real connections from ``AIRFLOW_CONN_*``.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from python_tasks.config import DAGS_DIR, Settings
from python_tasks.lineage import openlineage_env
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


def metadata_db(settings: Settings) -> Path:
    """The SQLite file of the local Airflow runs' metadata (task states, XComs)."""
    return settings.home / "airflow" / "airflow.db"


def airflow_env(settings: Settings, endpoints: Endpoints) -> dict[str, str]:
    airflow_home = metadata_db(settings).parent
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{metadata_db(settings)}",
        AIRFLOW_CONN_CRM_WAREHOUSE=airflow_conn_json(endpoints.warehouse_dsn),
        AIRFLOW_CONN_CRM_COREBANK=airflow_conn_json(endpoints.source_dsn),
        CRM_HOME=str(settings.home),
        CRM_LANDING_DIR=str(settings.landing_dir),
        CRM_EXPORT_DIR=str(settings.export_dir),
        CRM_REPORTS_DIR=str(settings.reports_dir),
        GX_ANALYTICS_ENABLED="False",
        # No usage telemetry leaves a bank's network.
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        # The dbt producer task never retries (dags/crm_dbt.py): no backup of its results to keep.
        AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY="False",
        DO_NOT_TRACK="1",
        SCARF_ANALYTICS="false",
        CRM_TASK_RETRIES=os.environ.get("CRM_TASK_RETRIES", "0"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    env.update(openlineage_env(settings, env))
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
    # A write-ahead log left beside the old file (a killed run, or a reader that closed last)
    # would be replayed into the new one: "database disk image is malformed".
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    tmp = db.with_name(f"{db.name}.tmp")
    shutil.copyfile(template, tmp)
    os.replace(tmp, db)


@contextmanager
def _execution_api(env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """An Execution API server for the run's executor workers, stopped when the run ends.

    Without ``--use-executor``, ``airflow dags test`` serves the task API in-process; with it, the
    LocalExecutor's workers call ``[core] execution_api_server_url`` over HTTP (default
    http://localhost:8080/execution/) and fail with "Connection refused" when nothing listens.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(32)  # the server checks the workers' tokens
    with (log_dir / "execution-api.log").open("w") as fh:
        server = subprocess.Popen([_airflow(), "api-server", "--apps", "execution", "--host", "127.0.0.1",
                                   "--port", str(port), "--workers", "1"], env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/execution/health", timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise DagRunFailed(f"the Execution API server did not start; log: {fh.name}") from None
                    time.sleep(0.5)
            yield
        finally:
            server.terminate()
            server.wait(30)


def test_dag(settings: Settings, endpoints: Endpoints, logical_date: date, dag_id: str = "crm_daily",
             parallelism: int | None = None) -> DagRunResult:
    """Run one DAG run for ``logical_date`` to completion; raise with the log tail when it fails.

    ``parallelism``: run up to that many tasks at once, as a LocalExecutor deployment would
    (``dags test --use-executor``). By default the tasks run one at a time, in-process.
    """
    from python_tasks.transform.dbt_build import parse_manifest

    env = airflow_env(settings, endpoints)
    parse_manifest(endpoints.warehouse_dsn)  # the DAG renders its dbt tasks from the manifest
    fresh_metadata_db(env)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}_{logical_date.isoformat()}.log"
    cmd = [_airflow(), "dags", "test", dag_id, logical_date.isoformat()]
    if parallelism is not None:
        # SQLite serves as the metadata DB here too (Airflow's own `standalone` pairs it with the
        # LocalExecutor). Each executor task parses the DAG again, so it must read a manifest no
        # concurrent dbt task rewrites (they all write manifest.json to DBT_TARGET_PATH, and a
        # half-written one fails the parse); without DBT_TARGET_PATH each Cosmos task writes
        # into its own temporary project copy.
        from python_tasks.transform.dbt_build import target_dir

        manifest = Path(env["AIRFLOW_HOME"]) / "manifest.json"
        shutil.copyfile(target_dir() / "manifest.json", manifest)
        env.pop("DBT_TARGET_PATH", None)
        env.update(CRM_DBT_MANIFEST=str(manifest), AIRFLOW__CORE__EXECUTOR="LocalExecutor",
                   AIRFLOW__CORE__PARALLELISM=str(parallelism))
        cmd.insert(3, "--use-executor")
    with _execution_api(env, log_dir) if parallelism is not None else nullcontext(), log_path.open("w") as fh:
        started = time.perf_counter()  # a deployment's API server is up already: its start is not timed
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        raise DagRunFailed(f"{dag_id} for {logical_date} failed (exit {proc.returncode}); log: {log_path}\n{tail}")
    return DagRunResult(dag_id, logical_date, seconds, log_path)
