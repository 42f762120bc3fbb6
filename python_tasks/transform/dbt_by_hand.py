"""dbt run by a person: the warehouse's connection and the business date filled in.

profiles.yml reads the connection from CRM_DBT_* variables and the models the business date from
CRM_AS_OF_DATE; `crm dbt` sets both, so an operator types only dbt's own arguments.
"""
from __future__ import annotations

import subprocess
from datetime import date

from python_tasks.config import DBT_PROJECT_DIR
from python_tasks.transform.dbt_build import AS_OF_DATE_ENV, dbt_env, dbt_executable


def dbt_command(args: list[str]) -> list[str]:
    """dbt with ``args``, pointed at the project and its profile."""
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise ValueError("name a dbt command, e.g. `crm dbt --date 2026-09-30 build --select mart_pareto`")
    return [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]


def run(dsn: str, args: list[str], as_of_date: date | None) -> int:
    """Run dbt in the foreground with its own output; returns dbt's exit code."""
    env = dbt_env(dsn)
    if as_of_date is not None:
        env[AS_OF_DATE_ENV] = as_of_date.isoformat()
    return subprocess.run(dbt_command(args), env=env, cwd=DBT_PROJECT_DIR).returncode
