"""``dbt build`` of the project for one business date, as a subprocess.

A subprocess keeps dbt's global state and logging out of the calling process (an Airflow task
or the CLI), and its exit code is the whole contract.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from python_tasks.config import DBT_PROJECT_DIR

log = logging.getLogger(__name__)


#: The business date dbt builds (dbt_project/macros/as_of_date.sql reads it).
AS_OF_DATE_ENV = "CRM_AS_OF_DATE"


class DbtBuildFailed(RuntimeError):
    pass


def dbt_env(dsn: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for profiles.yml, which reads the connection from CRM_DBT_* variables."""
    p = conninfo_to_dict(dsn)
    env = dict(os.environ if base is None else base)
    env.update(
        CRM_DBT_HOST=str(p.get("host") or "localhost"),
        CRM_DBT_PORT=str(p.get("port") or 5432),
        CRM_DBT_USER=str(p.get("user") or "postgres"),
        CRM_DBT_PASSWORD=str(p.get("password") or ""),
        CRM_DBT_DBNAME=str(p.get("dbname") or "postgres"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def target_dir() -> Path:
    """Where dbt writes run_results.json and manifest.json: dbt's own DBT_TARGET_PATH when set
    (two builds at once, e.g. a benchmark beside the tests, must not share one), else target/."""
    return Path(os.environ.get("DBT_TARGET_PATH") or DBT_PROJECT_DIR / "target")


def dbt_threads() -> int:
    """How many models the project's dbt profile builds at once."""
    import yaml

    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["crm"]
    return int(profile["outputs"][profile["target"]]["threads"])


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(dsn: str, args: list[str], *, as_of_date: date | None = None,
            project_dir: Path = DBT_PROJECT_DIR, target_path: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [dbt_executable(), "--no-use-colors", *args,
           "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    env = dbt_env(dsn)
    if as_of_date is not None:
        # An env var, not --vars: a changed var makes dbt parse the whole project again.
        env[AS_OF_DATE_ENV] = as_of_date.isoformat()
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    log.info("running %s (%s=%s)", " ".join(cmd), AS_OF_DATE_ENV, env.get(AS_OF_DATE_ENV, "unset"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=project_dir)
    for line in proc.stdout.splitlines():
        log.debug("dbt | %s", line)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise DbtBuildFailed(
            f"`dbt {' '.join(args)}` failed with exit code {proc.returncode} for {as_of_date}.\n{tail}\n"
            f"Full logs: {project_dir / 'logs' / 'dbt.log'}"
        )
    return proc


def build(dsn: str, as_of_date: date, *, select: str | None = None) -> dict:
    """Seed, run and test every model for ``as_of_date``. Returns counts from run_results.json."""
    from python_tasks.exports.audience import ensure_exports_schema

    ensure_exports_schema(dsn)  # the campaign-list views (staging/campaign) read its tables
    args = ["build"]
    if select:
        args += ["--select", select]
    run_dbt(dsn, args, as_of_date=as_of_date)
    results = json.loads((target_dir() / "run_results.json").read_text())
    statuses: dict[str, int] = {}
    for r in results["results"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"as_of_date": as_of_date.isoformat(), "nodes": len(results["results"]), "statuses": statuses,
            "elapsed_s": round(results.get("elapsed_time", 0.0), 1)}


def parse_manifest(dsn: str) -> Path:
    """Write target/manifest.json, from which Cosmos renders one Airflow task per model."""
    run_dbt(dsn, ["parse"])
    return target_dir() / "manifest.json"


def ensure_dbt_schemas(dsn: str, manifest: Path) -> list[str]:
    """Create every schema the project builds into (models, seeds, snapshots), before its nodes run.

    One ``dbt build`` creates its schemas before the first model; under Cosmos each model is its
    own dbt call, and two started at once on a new warehouse both run ``create schema if not
    exists`` and one fails (duplicate key value violates unique constraint
    "pg_namespace_nspname_index"). Returns the schemas, sorted.
    """
    if not manifest.exists():
        raise FileNotFoundError(f"dbt manifest not found at {manifest}: run `crm dbt-parse` first")
    nodes = json.loads(manifest.read_text())["nodes"].values()
    schemas = sorted({n["schema"] for n in nodes if n["resource_type"] in ("model", "seed", "snapshot")})
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in schemas:
            try:
                conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(name)))
            except psycopg.errors.UniqueViolation:
                pass  # another run created it at the same moment
    return schemas


def prepare_warehouse(dsn: str, manifest: Path) -> dict[str, list[str]]:
    """What the dbt tasks need before any of them runs: the roles dbt grants to, the schemas."""
    from python_tasks.access import ensure_roles
    from python_tasks.exports.audience import ensure_exports_schema

    ensure_exports_schema(dsn)  # the campaign-list views (staging/campaign) read its tables
    return {"roles_created": ensure_roles(dsn), "schemas": ensure_dbt_schemas(dsn, manifest)}
