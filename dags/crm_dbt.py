"""dbt inside Airflow through astronomer-cosmos: every model a task, its tests a task after it.

Cosmos' watcher mode: one task (`dbt_producer_watcher`) runs a single `dbt build` of the
project with dbt's own threads, as the plain build does; every model, seed and snapshot is a
sensor task that reports its node's result from that build, and each model's tests a sensor
after it. One task per model running its own dbt (Cosmos' local mode) starts a process and
dbt for each of ~50 tasks: 1.33x a plain `dbt build` at 1M customers (docs/decisions/0011).

The sensors start after the producer. A sensor that waits in a worker slot beside the
producer would tie a run that executes tasks one at a time (`dags test`) to the order the tasks
happen to start in, and would take a slot the build itself can use.

The task group is rendered from the dbt manifest (no dbt call at parse time). `crm run`
refreshes the manifest with `dbt parse` before a run; in production the image build does.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow.sdk import BaseOperator, TriggerRule, XComArg
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import PRODUCER_WATCHER_TASK_ID, ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles.postgres.user_pass import PostgresUserPasswordProfileMapping

from crm_common import BUSINESS_DATE_TEMPLATE, WAREHOUSE_CONN_ID
from python_tasks.config import DBT_PROJECT_DIR
from python_tasks.transform.dbt_build import AS_OF_DATE_ENV, dbt_threads, target_dir

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
        profile_mapping=PostgresProfileMapping(
            conn_id=WAREHOUSE_CONN_ID,
            # The producer's one build runs as many models at once as the plain `dbt build`.
            profile_args={"schema": "public", "threads": dbt_threads()},
        ),
    )


def dbt_task_group(after: BaseOperator | XComArg, group_id: str = "dbt") -> DbtTaskGroup:
    """The dbt build as tasks, after ``after`` (the task that prepares the warehouse)."""
    if not DBT_MANIFEST.exists():
        raise FileNotFoundError(
            f"dbt manifest not found at {DBT_MANIFEST}: run `crm dbt-parse` (`crm run` does it first)"
        )
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_MANIFEST,
            project_name="crm_warehouse",
        ),
        profile_config=profile_config(),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=DBT_EXECUTABLE,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            # A model's sensor, then its tests' sensor (the producer's `dbt build` runs both).
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
            # A test reading two models reports with each of them: the producer reports tests
            # per model only, so a detached test task would never get a result.
            should_detach_multiple_parents_tests=False,
        ),
        operator_args={
            # The date as an env var, not a dbt var: a new var value re-parses the whole project.
            # The run's business date, not `ds`: a manual run has no logical date.
            "env": {AS_OF_DATE_ENV: BUSINESS_DATE_TEMPLATE},
            "install_deps": False,
            # The sensors run after the producer (below): each finds its node's result at once.
            # No triggerer is needed, and `dags test` runs them like any task.
            "deferrable": False,
            "poke_interval": 5,
            "timeout": 600,
        },
    )
    _sense_after_the_build(group, after)
    return group


def _sense_after_the_build(group: DbtTaskGroup, after: BaseOperator | XComArg) -> None:
    """The producer upstream of the first sensors. They run when it is done, failed included,
    so a failed build fails the failed model's task (its sensor reads the node's result) and
    a retry of that task runs the model again on its own. Nothing runs if ``after`` failed."""
    producer = group.get_child_by_label(PRODUCER_WATCHER_TASK_ID)
    # A retry of the producer would skip, not build (Cosmos): its sensors' retries run the models.
    producer.retries = 0
    first_sensors = [task for task in group.get_roots() if task is not producer]
    after >> [producer, *first_sensors]
    for sensor in first_sensors:
        producer >> sensor
        sensor.trigger_rule = TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
