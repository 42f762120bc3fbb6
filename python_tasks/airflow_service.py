"""A real Airflow on this machine: `crm airflow up | down | status`.

api-server, scheduler, dag-processor and triggerer (and, with the CeleryExecutor, a Celery
worker), each a process of its own started in the background. The metadata lives in its own
database on the warehouse's server (the embedded Postgres, or ``CRM_PG_DSN``'s), named after the
warehouse's: ``crm_airflow`` beside ``crm``.
Logs go under ``$CRM_HOME/logs/airflow``; what was started (process ids, port, secrets the
services share) is written to ``$CRM_HOME/airflow-service/state.json``, which `down` and `status`
read. Every port is picked free when the services start, so nothing collides with what runs.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from python_tasks.config import Settings
from python_tasks.orchestration import _airflow, airflow_env
from python_tasks.warehouse import Endpoints, ensure_database, with_dbname

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
LOCAL_EXECUTOR = "LocalExecutor"
CELERY_EXECUTOR = "CeleryExecutor"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


class AirflowServiceError(RuntimeError):
    pass


@dataclass
class ServiceState:
    """What `up` started: enough for `down` and `status`, and for a client to log in."""

    url: str
    port: int
    executor: str
    airflow_home: str
    log_dir: str
    metadata_url: str
    pids: dict[str, int] = field(default_factory=dict)
    celery_queue: str | None = None
    broker_url: str | None = None
    # What every service must share: the secret the API server signs task tokens with, ports.
    shared: dict[str, str] = field(default_factory=dict)

    @property
    def passwords_file(self) -> Path:
        return Path(self.airflow_home) / "simple_auth_manager_passwords.json.generated"

    def admin_password(self) -> str | None:
        try:
            return json.loads(self.passwords_file.read_text())[ADMIN_USER]
        except (OSError, ValueError, KeyError):
            return None


def service_dir(settings: Settings) -> Path:
    return settings.home / "airflow-service"


def _state_path(settings: Settings) -> Path:
    return service_dir(settings) / "state.json"


def read_state(settings: Settings) -> ServiceState | None:
    try:
        return ServiceState(**json.loads(_state_path(settings).read_text()))
    except FileNotFoundError:
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metadata_dsn(warehouse_dsn: str) -> str:
    return with_dbname(warehouse_dsn, f"{conninfo_to_dict(warehouse_dsn).get('dbname') or 'crm'}_airflow")


def metadata_sqlalchemy_url(warehouse_dsn: str) -> str:
    """The metadata DB's SQLAlchemy URL on the warehouse's server (unix sockets included)."""
    from sqlalchemy.engine import URL

    parts = conninfo_to_dict(metadata_dsn(warehouse_dsn))
    host = parts.get("host") or "localhost"
    query = {"host": host} if host.startswith("/") else {}
    url = URL.create("postgresql+psycopg2", username=parts.get("user"), password=parts.get("password") or None,
                     host=None if query else host, port=int(parts["port"]) if parts.get("port") else None,
                     database=parts["dbname"], query=query)
    return url.render_as_string(hide_password=False)


def service_env(settings: Settings, endpoints: Endpoints, state: ServiceState) -> dict[str, str]:
    """The environment every service runs with: the same as `crm run`'s, on a Postgres metadata DB."""
    env = airflow_env(settings, endpoints)
    env.pop("DBT_TARGET_PATH", None)  # each Cosmos task writes into its own project copy
    env.update(
        AIRFLOW_HOME=state.airflow_home,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=state.metadata_url,
        AIRFLOW__CORE__EXECUTOR=state.executor,
        AIRFLOW__CORE__AUTH_MANAGER=SIMPLE_AUTH_MANAGER,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{state.url}/execution/",
        AIRFLOW__API__BASE_URL=state.url,
        AIRFLOW__API__PORT=str(state.port),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=state.log_dir,
        AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY=str(Path(state.log_dir) / "dag_processor"),
        AIRFLOW__CORE__PARALLELISM=os.environ.get("AIRFLOW__CORE__PARALLELISM", "8"),
        # A new DAG file shows within half a minute, not five.
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="30",
        CRM_TASK_RETRIES=os.environ.get("CRM_TASK_RETRIES", "2"),
        **state.shared,
    )
    if state.executor == CELERY_EXECUTOR:
        if not state.broker_url:
            raise AirflowServiceError("the CeleryExecutor needs a broker: pass --broker-url redis://HOST:6379/0")
        env.update(
            AIRFLOW__CELERY__BROKER_URL=state.broker_url,
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + state.metadata_url.replace("+psycopg2", ""),
            # A queue of this deployment's own: other deployments on the same Redis never take its tasks.
            AIRFLOW__OPERATORS__DEFAULT_QUEUE=state.celery_queue or "default",
        )
    return env


def _commands(state: ServiceState) -> dict[str, list[str]]:
    airflow = _airflow()
    commands = {
        "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(state.port), "--workers", "1"],
        "scheduler": [airflow, "scheduler"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer"],
    }
    if state.executor == CELERY_EXECUTOR:
        commands["celery-worker"] = [airflow, "celery", "worker", "--queues", state.celery_queue or "default",
                                     "--concurrency", os.environ.get("CRM_CELERY_CONCURRENCY", "4")]
    return commands


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of this process counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _wait_for_health(state: ServiceState, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{state.url}/api/v2/monitor/health", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        dead = [name for name, pid in state.pids.items() if not _alive(pid)]
        if dead:
            raise AirflowServiceError(f"{', '.join(dead)} exited at start; logs: {state.log_dir}/*.log")
        time.sleep(1)
    raise AirflowServiceError(
        f"the API server did not answer within {timeout:.0f}s; log: {state.log_dir}/api-server.log")


def up(settings: Settings, endpoints: Endpoints, *, executor: str = LOCAL_EXECUTOR, port: int | None = None,
       broker_url: str | None = None) -> ServiceState:
    """Start the services (or return the running ones); wait until the API answers."""
    current = read_state(settings)
    if current and any(_alive(pid) for pid in current.pids.values()):
        return current
    from python_tasks.transform.dbt_build import parse_manifest, target_dir

    home = service_dir(settings)
    airflow_home = home / "home"
    airflow_home.mkdir(parents=True, exist_ok=True)
    log_dir = settings.home / "logs" / "airflow"
    log_dir.mkdir(parents=True, exist_ok=True)
    ensure_database(metadata_dsn(endpoints.warehouse_dsn))
    port = port or free_port()
    state = ServiceState(
        url=f"http://127.0.0.1:{port}", port=port, executor=executor, airflow_home=str(airflow_home),
        log_dir=str(log_dir), metadata_url=metadata_sqlalchemy_url(endpoints.warehouse_dsn),
        celery_queue=f"crm-{secrets.token_hex(4)}" if executor == CELERY_EXECUTOR else None,
        broker_url=broker_url,
    )
    # The DAG renders its dbt tasks from a manifest that no running dbt task rewrites.
    parse_manifest(endpoints.warehouse_dsn)
    manifest = airflow_home / "manifest.json"
    shutil.copyfile(target_dir() / "manifest.json", manifest)
    state.shared = {
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "CRM_DBT_MANIFEST": str(manifest),
    }
    env = service_env(settings, endpoints, state)
    migrate = subprocess.run([_airflow(), "db", "migrate"], env=env, capture_output=True, text=True)
    if migrate.returncode != 0:
        raise AirflowServiceError(f"`airflow db migrate` failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-2000:]}")
    for name, cmd in _commands(state).items():
        with (log_dir / f"{name}.log").open("a") as fh:
            proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # its own process group: `down` stops it whole
        state.pids[name] = proc.pid
    path = _state_path(settings)
    path.touch(mode=0o600)  # it holds the services' shared secrets
    path.write_text(json.dumps(asdict(state), indent=2))
    try:
        _wait_for_health(state)
    except AirflowServiceError:
        down(settings)
        raise
    return state


def down(settings: Settings, timeout: float = 60) -> list[str]:
    """Stop what `up` started (each process group, by the ids it recorded). Returns the names stopped."""
    state = read_state(settings)
    if state is None:
        return []
    stopped = []
    for name, pid in state.pids.items():
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            stopped.append(name)
    deadline = time.monotonic() + timeout
    while any(_alive(state.pids[n]) for n in stopped) and time.monotonic() < deadline:
        time.sleep(0.5)
    for name in stopped:
        if _alive(state.pids[name]):
            log.warning("%s did not stop in %.0fs: killing it", name, timeout)
            try:
                os.killpg(state.pids[name], signal.SIGKILL)
            except ProcessLookupError:
                pass
    _state_path(settings).unlink(missing_ok=True)
    return stopped


def status(settings: Settings) -> dict:
    state = read_state(settings)
    if state is None:
        return {"running": False}
    processes = {name: {"pid": pid, "running": _alive(pid)} for name, pid in state.pids.items()}
    try:
        with urllib.request.urlopen(f"{state.url}/api/v2/monitor/health", timeout=5) as resp:
            health = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        health = {"error": str(exc)}
    return {"running": all(p["running"] for p in processes.values()), "url": state.url,
            "executor": state.executor, "processes": processes, "health": health, "logs": state.log_dir}


class AirflowClient:
    """The REST API (v2) of a running api-server, logged in as one user (simple auth manager)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        body = self._call("POST", "/auth/token", {"username": username, "password": password}, token=None)
        self._token = body["access_token"]

    def _call(self, method: str, path: str, payload: dict | None = None, token: str | None = "") -> dict:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self._token}"
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise AirflowServiceError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None

    def get(self, path: str) -> dict:
        return self._call("GET", path)

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> dict:
        """Until the dag processor has parsed ``dag_id`` (a fresh deployment parses for a while)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.get(f"/api/v2/dags/{dag_id}")
            except AirflowServiceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)

    def unpause(self, dag_id: str) -> dict:
        return self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        """A manual run without a logical date, as the UI's Trigger button makes."""
        return self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 1800) -> dict:
        deadline = time.monotonic() + timeout
        quoted = urllib.request.quote(run_id, safe="")
        while True:
            run = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                raise AirflowServiceError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(5)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        quoted = urllib.request.quote(run_id, safe="")
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000")["task_instances"]
