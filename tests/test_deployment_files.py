"""docker-compose.yml cannot be started here (no Docker engine); parse it and check its promises."""
from __future__ import annotations

import re

import yaml

from python_tasks.config import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_airflow_3_service_on_celery_and_redis():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "airflow-init"} <= set(services)
    assert services["airflow-worker"]["command"] == "celery worker"
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")


def _environments():
    yield COMPOSE["x-airflow-common"]["environment"]
    for service in COMPOSE["services"].values():
        env = service.get("environment")
        if isinstance(env, dict):
            yield env


def test_compose_takes_connections_and_secrets_from_the_environment():
    env = COMPOSE["services"]["airflow-worker"]["environment"]
    assert "AIRFLOW_CONN_CRM_WAREHOUSE" in env and "AIRFLOW_CONN_CRM_COREBANK" in env
    for environment in _environments():
        for key, value in environment.items():
            value = str(value)
            if any(word in key for word in ("PASSWORD", "FERNET_KEY", "SECRET")):
                assert value.startswith("${"), f"{key} must come from the environment"
            credentials = re.search(r"://[^:/@]*:([^@]*)@", value)
            if credentials and credentials.group(1):
                assert credentials.group(1).startswith("${"), f"{key} embeds a literal password"


def test_compose_builds_from_a_dockerfile_that_exists():
    build = COMPOSE["x-airflow-common"]["build"]
    assert (REPO_ROOT / build["context"] / build["dockerfile"]).exists()


def test_no_telemetry_leaves_the_bank():
    env = COMPOSE["x-airflow-common"]["environment"]
    assert env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "false"
    assert env["GX_ANALYTICS_ENABLED"] == "false"


def test_every_server_we_start_gives_dbt_tests_the_work_mem_its_models_set():
    """dbt's tests get no hooks: the server's own work_mem is what they hash a million rows in."""
    from python_tasks.warehouse import EMBEDDED_SERVER_SETTINGS

    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    hook = project["models"]["crm_warehouse"]["+pre-hook"]
    models_default = hook.split("var('work_mem', '")[1].split("'")[0]
    command = COMPOSE["services"]["postgres"]["command"]
    compose = dict(arg.split("=", 1) for arg in command if "=" in arg)
    assert EMBEDDED_SERVER_SETTINGS["work_mem"] == compose["work_mem"] == models_default
