"""dbt inside Airflow through astronomer-cosmos: one task per model, its tests with it.

The task group is rendered from the dbt manifest (no dbt call at parse time). `crm run`
refreshes the manifest with `dbt parse` before a run; in production the image build does.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection
from cosmos.profiles.postgres.user_pass import PostgresUserPasswordProfileMapping

from crm_common import WAREHOUSE_CONN_ID
from python_tasks.config import DBT_PROJECT_DIR
from python_tasks.transform.dbt_build import target_dir

DBT_MANIFEST = Path(os.environ.get("CRM_DBT_MANIFEST") or target_dir() / "manifest.json")
DBT_EXECUTABLE = Path(os.environ.get("CRM_DBT_EXECUTABLE", Path(sys.executable).with_name("dbt")))


class PostgresProfileMapping(PostgresUserPasswordProfileMapping):
    """Cosmos' Postgres mapping, with the password optional: the embedded server and unix
    sockets use trust or peer authentication."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str):
        value = super().get_dbt_value(name)
        return "" if name == "password" and value is None else value


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="crm",
        target_name="warehouse",
        profile_mapping=PostgresProfileMapping(conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": "public"}),
    )


def dbt_task_group(group_id: str = "dbt") -> DbtTaskGroup:
    if not DBT_MANIFEST.exists():
        raise FileNotFoundError(
            f"dbt manifest not found at {DBT_MANIFEST}: run `crm dbt-parse` (or `dbt parse` in dbt_project/)"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_MANIFEST,
            project_name="crm_warehouse",
        ),
        profile_config=profile_config(),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=DBT_EXECUTABLE,
            # A test that also reads another model (relationships) must wait for that model:
            # leave it out of the per-model build ...
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # `dbt build` per model: the model and its tests in one task, one dbt call.
            test_behavior=TestBehavior.BUILD,
            emit_datasets=False,
            # ... and run it as its own task after all its parents.
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={
            "vars": {"as_of_date": "{{ ds }}"},
            "install_deps": False,
        },
    )
