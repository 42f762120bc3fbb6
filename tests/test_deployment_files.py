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


# What the image and the compose stack promise, checked without a Docker engine.
DOCKERFILE = REPO_ROOT / "docs" / "deploy" / "Dockerfile"
COMPOSE_TEXT = (REPO_ROOT / "docker-compose.yml").read_text()


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_every_variable_the_compose_stack_reads_is_in_env_example():
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE_TEXT))  # $${X}: the container's own
    assert used, "the compose file reads its secrets from the environment"
    assert used <= set(_env_example()), f"missing from .env.example: {sorted(used - set(_env_example()))}"


def test_every_long_running_service_has_a_healthcheck():
    for name, service in COMPOSE["services"].items():
        check = service.get("healthcheck")
        if name == "airflow-init":  # a one-off job the others wait on to complete
            assert service["restart"] == "no"
            continue
        assert check and check.get("test") and not check.get("disable"), name


def test_every_file_the_compose_stack_mounts_from_the_repository_exists():
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./docs"):
                assert (REPO_ROOT / source).exists(), source


def _copies() -> list[str]:
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY"):
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            sources += words[:-1]
    return sources


def test_every_file_the_dockerfile_copies_exists_and_is_not_dockerignored():
    ignored = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copies = _copies()
    assert {"constraints.txt", "python_tasks", "dbt_project", "dags", "expectations"} <= set(copies)
    for source in copies:
        assert (REPO_ROOT / source).exists(), source
        assert source not in ignored, source
    assert {".venv", ".crm", ".git", "dbt_project/target"} <= set(ignored)


def test_the_image_installs_pinned_production_dependencies_and_builds_the_manifest():
    import tomllib

    text = DOCKERFILE.read_text()
    assert "-c /opt/crm/constraints.txt" in text and "-e /opt/crm" in text
    assert "[" not in text.split("-e /opt/crm")[1][:2]
    assert "parse_manifest" in text and 'test -s "$CRM_DBT_MANIFEST"' in text
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    production = " ".join(project["dependencies"]).lower()
    for dev_only in ("pgserver", "faker", "pytest", "playwright"):
        assert dev_only not in production, dev_only
    constraints = (REPO_ROOT / "constraints.txt").read_text().splitlines()
    pins = {re.sub(r"[-_.]+", "-", line.split("==")[0].lower()) for line in constraints if "==" in line}
    for requirement in project["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0].lower())
        assert name in pins, f"{name} is not pinned in constraints.txt"


def test_the_warehouse_role_gets_its_password_from_env():
    script = (REPO_ROOT / "docs" / "deploy" / "init-warehouse.sh").read_text()
    sql_text = (REPO_ROOT / "docs" / "deploy" / "init-warehouse.sql").read_text()
    assert "transform_password=\"$CRM_TRANSFORM_PASSWORD\"" in script
    assert "create role crm_transform login password :'transform_password'" in sql_text
    env = COMPOSE["services"]["postgres"]["environment"]
    assert env["CRM_TRANSFORM_PASSWORD"].startswith("${CRM_TRANSFORM_PASSWORD")
    assert "${CRM_TRANSFORM_PASSWORD" in COMPOSE["x-airflow-common"]["environment"]["AIRFLOW_CONN_CRM_WAREHOUSE"]


def test_channel_files_arrive_through_a_mounted_landing_folder():
    env = COMPOSE["x-airflow-common"]["environment"]
    mounts = COMPOSE["x-airflow-common"]["volumes"]
    assert f"${{CRM_LANDING_HOST_DIR:-./landing}}:{env['CRM_LANDING_DIR']}:ro" in mounts


def _image_env(tmp_manifest) -> dict[str, str]:
    """The compose stack's environment for the Airflow services, its ${VARS} filled with samples,
    its /opt/crm paths mapped onto this checkout."""
    import os

    samples = {k: v or "sample" for k, v in _env_example().items()}
    samples["AIRFLOW_CONN_CRM_COREBANK"] = "postgres://reader:sample@corebank:5432/corebank"
    env = dict(os.environ)
    dockerfile_env = dict(re.findall(r"(\w+)=(\S+)", DOCKERFILE.read_text().split("ENV", 1)[1].split("\n\n")[0]))
    for key, value in {**dockerfile_env, **COMPOSE["x-airflow-common"]["environment"]}.items():
        value = re.sub(r"\$\{([A-Z0-9_]+)[^}]*\}", lambda m: samples[m.group(1)], str(value))
        env[key] = value.replace("/opt/crm", str(REPO_ROOT))
    assert env["CRM_DBT_MANIFEST"] == str(REPO_ROOT / "dbt_project" / "target" / "manifest.json")
    env["CRM_DBT_MANIFEST"] = str(tmp_manifest)  # where the image build puts it, built the same way here
    return env


def test_the_dag_folder_imports_with_the_images_environment(tmp_path):
    import json
    import subprocess
    import sys

    from python_tasks.transform.dbt_build import parse_manifest

    env_for_parse = {"DBT_TARGET_PATH": str(tmp_path / "target")}
    import os

    saved = os.environ.get("DBT_TARGET_PATH")
    os.environ.update(env_for_parse)
    try:
        manifest = parse_manifest("host=localhost dbname=crm user=crm_transform")  # as the Dockerfile does
    finally:
        os.environ.pop("DBT_TARGET_PATH")
        if saved is not None:
            os.environ["DBT_TARGET_PATH"] = saved
    env = _image_env(manifest)
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow_home")
    script = (
        "import json, time\n"
        "from airflow.dag_processing.dagbag import BundleDagBag\n"
        "started = time.perf_counter()\n"
        f"bag = BundleDagBag(dag_folder={str(REPO_ROOT / 'dags')!r}, bundle_path={str(REPO_ROOT / 'dags')!r})\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': sorted(bag.dag_ids),"
        " 'seconds': time.perf_counter() - started}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == {}
    assert {"crm_daily", "crm_rebuild_marts"} <= set(result["dags"])
