"""A DAG that fails its quality gate, wired to alerts as crm_daily is (tests/e2e/test_alerts.py)."""
from __future__ import annotations

from airflow.sdk import dag, task
from crm_alerts import CrmAlertNotifier

from crm_common import PARAMS, START_DATE, USER_DEFINED_MACROS


@dag(dag_id="crm_alert_probe", schedule=None, start_date=START_DATE, catchup=False, params=PARAMS,
     user_defined_macros=USER_DEFINED_MACROS, on_failure_callback=CrmAlertNotifier("run_failed"))
def crm_alert_probe():
    @task(on_failure_callback=CrmAlertNotifier("quality_gate_failed"), retries=0)
    def quality_gate() -> None:
        from crm_common import business_date
        from python_tasks.quality.gate import GateResult, enforce

        enforce(GateResult(passed=False, run_id="probe", as_of_date=business_date(), suites=[], docs_path=None,
                           failures=[{"suite": "mart_customer_tier",
                                      "expectation_type": "expect_column_values_to_not_be_null",
                                      "column": "tier_code", "severity": "critical",
                                      "observed": {"unexpected_count": 3, "element_count": 300}}]))

    quality_gate()


crm_alert_probe()
