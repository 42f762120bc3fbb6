"""crm_daily: one business day, sources to campaign files. Wiring only; the work is in python_tasks."""
from __future__ import annotations

import os

from airflow.sdk import TriggerRule, dag, task
from crm_alerts import CrmAlertNotifier

from crm_common import (
    CAMPAIGN_FILES,
    CLUSTERS,
    COREBANK_CONN_ID,
    COREBANK_TABLES,
    DEFAULT_ARGS,
    MART_TABLES,
    MARTS,
    PARAMS,
    RAW_CHANNEL,
    RAW_COREBANK,
    START_DATE,
    USER_DEFINED_MACROS,
    business_date,
    warehouse_dsn,
)
from crm_dbt import DBT_MANIFEST, dbt_task_group


@dag(
    dag_id="crm_daily",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # one daily build at a time: marts are rebuilt in place
    default_args=DEFAULT_ARGS,
    tags=["crm"],
    params=PARAMS,
    user_defined_macros=USER_DEFINED_MACROS,
    on_failure_callback=CrmAlertNotifier("run_failed"),
    doc_md=__doc__,
)
def crm_daily():
    @task
    def check_build_date() -> dict:
        from python_tasks.transform.build_order import check_build_date as check

        return check(warehouse_dsn(), business_date())  # an earlier date than the marts hold: refused

    @task(inlets=COREBANK_TABLES, outlets=[RAW_COREBANK])
    def extract_corebank(run_id: str) -> dict:
        from python_tasks.ingest.corebank import load_corebank

        return load_corebank(warehouse_dsn(COREBANK_CONN_ID), warehouse_dsn(), business_date(), run_id)

    # Waits for the day's files; the check (and its deadline, which names a missing file) is in
    # python_tasks.ingest.arrival. The timeout is only a backstop behind that deadline.
    @task.sensor(poke_interval=int(os.environ.get("CRM_DROP_POKE_SECONDS", "300")), timeout=24 * 3600,
                 mode="reschedule")
    def wait_for_channel_drops() -> bool:
        from python_tasks.config import Settings
        from python_tasks.ingest.arrival import check_arrival

        return check_arrival(Settings.from_env().landing_dir, business_date())

    @task(outlets=[RAW_CHANNEL])
    def load_channel_drops(run_id: str) -> dict:
        from python_tasks.config import Settings
        from python_tasks.ingest.landing import load_landing

        return load_landing(warehouse_dsn(), Settings.from_env().landing_dir, business_date(), run_id)

    @task
    def prepare_warehouse() -> dict[str, list[str]]:
        from python_tasks.transform.dbt_build import prepare_warehouse

        return prepare_warehouse(warehouse_dsn(), DBT_MANIFEST)  # roles dbt grants to, its schemas

    @task(outlets=[MARTS, *MART_TABLES])
    def marts_ready() -> dict:
        from python_tasks.transform.mart_checks import assert_marts_built

        return assert_marts_built(warehouse_dsn(), business_date())

    @task
    def apply_erasures(run_id: str) -> dict:
        from python_tasks.privacy.erasure import apply_erasures as erase

        return erase(warehouse_dsn(), business_date(), run_id)

    @task(outlets=[CLUSTERS])
    def cluster_customers() -> dict:
        from python_tasks.clustering import run_clustering

        return run_clustering(warehouse_dsn(), business_date())

    @task
    def score_customers() -> dict:
        from python_tasks.predictions.run import score_customers as score

        return score(warehouse_dsn(), business_date())  # trains first when no model is fresh

    @task
    def build_campaign_lists() -> dict:
        from python_tasks.exports.audience import build_campaign_members

        return build_campaign_members(warehouse_dsn(), business_date())

    @task(on_failure_callback=CrmAlertNotifier("quality_gate_failed"))
    def quality_gate(run_id: str) -> dict:
        from python_tasks.config import EXPECTATIONS_DIR, Settings
        from python_tasks.quality import enforce, run_quality_gate

        settings = Settings.from_env()
        result = run_quality_gate(warehouse_dsn(), business_date(), run_id, suites_dir=EXPECTATIONS_DIR,
                                  docs_dir=settings.reports_dir / "data_docs")
        enforce(result)  # a critical failure fails this task, so exports never start
        return {"passed": result.passed, "failures": len(result.failures), "docs": result.docs_path}

    @task(outlets=[CAMPAIGN_FILES])
    def export_campaigns(run_id: str) -> list[dict]:
        from python_tasks.config import Settings
        from python_tasks.exports.files import export_campaign_files

        return export_campaign_files(warehouse_dsn(), business_date(), run_id, Settings.from_env().export_dir)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def run_summary(run_id: str) -> dict:
        from python_tasks.config import Settings
        from python_tasks.reporting import run_summary as report

        summary = report.collect(warehouse_dsn(), business_date(), run_id)
        path = report.write(summary, Settings.from_env().reports_dir)
        report.log_and_check(summary)  # the summary is the last task: it must fail an incomplete run
        return {"summary_path": str(path)}

    # Beside the summary, not after it: the summary fails an incomplete run, and a failed run is
    # the one whose report (gate verdict, failed expectations, load audit) people most need.
    @task(trigger_rule=TriggerRule.ALL_DONE)
    def build_report(run_id: str) -> dict:
        from python_tasks.config import Settings
        from python_tasks.reporting.report import build_report as build

        return {"report_path": str(build(warehouse_dsn(), business_date(), Settings.from_env().reports_dir, run_id))}

    checked = check_build_date()
    channel = load_channel_drops()
    checked >> wait_for_channel_drops() >> channel
    loaded = [checked >> extract_corebank(), channel]
    built = marts_ready()
    prepared = prepare_warehouse()
    loaded >> prepared
    dbt_task_group(after=prepared) >> built
    clustered = cluster_customers()
    lists = build_campaign_lists()
    gate = quality_gate()
    exported = export_campaigns()
    built >> clustered >> score_customers() >> lists >> gate >> exported >> [run_summary(), build_report()]
    # Erased customers' data out of raw, the lists and the files already written, before new lists.
    built >> apply_erasures() >> lists


crm_daily()
