"""crm_rebuild_marts: rebuild the dbt warehouse for one date from what is already in raw.

Triggered by hand, never scheduled: after a tier-policy seed changes, or to re-grade a past
date, without extracting the sources again. (A rate or cost seed change also needs the per-day
models rebuilt with --full-refresh; see docs/operations.md.) Wiring only; the same Cosmos task group as
crm_daily. Campaign exports stay with crm_daily, behind its quality gate.
"""
from __future__ import annotations

from airflow.sdk import dag, task
from crm_alerts import CrmAlertNotifier

from crm_common import (
    DEFAULT_ARGS,
    MARTS,
    PARAMS,
    START_DATE,
    USER_DEFINED_MACROS,
    business_date,
    warehouse_dsn,
)
from crm_dbt import DBT_MANIFEST, dbt_task_group


@dag(
    dag_id="crm_rebuild_marts",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # marts are rebuilt in place; crm_daily holds the same rule
    default_args=DEFAULT_ARGS,
    tags=["crm", "ops"],
    params=PARAMS,
    user_defined_macros=USER_DEFINED_MACROS,
    on_failure_callback=CrmAlertNotifier("run_failed"),
    doc_md=__doc__,
)
def crm_rebuild_marts():
    @task
    def check_build_date() -> dict:
        from python_tasks.transform.build_order import check_build_date as check

        return check(warehouse_dsn(), business_date())  # an earlier date than the marts hold: refused

    @task
    def prepare_warehouse() -> dict[str, list[str]]:
        from python_tasks.transform.dbt_build import prepare_warehouse

        return prepare_warehouse(warehouse_dsn(), DBT_MANIFEST)  # roles dbt grants to, its schemas

    @task(outlets=[MARTS])
    def marts_ready() -> dict:
        from python_tasks.transform.mart_checks import assert_marts_built

        return assert_marts_built(warehouse_dsn(), business_date())

    dbt_task_group(after=check_build_date() >> prepare_warehouse()) >> marts_ready()


crm_rebuild_marts()
