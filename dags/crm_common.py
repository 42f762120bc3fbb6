"""Shared wiring for the CRM DAGs: connection ids, assets, defaults. No work at import time."""
from __future__ import annotations

import os
from datetime import date, timedelta

import pendulum
from airflow.sdk import Asset, Param

from python_tasks.run_date import BUSINESS_DATE_PARAM, resolve_business_date

WAREHOUSE_CONN_ID = "crm_warehouse"  # AIRFLOW_CONN_CRM_WAREHOUSE
COREBANK_CONN_ID = "crm_corebank"  # AIRFLOW_CONN_CRM_COREBANK

RAW_COREBANK = Asset(name="crm_raw_corebank", uri="crm://warehouse/raw/corebank")
RAW_CHANNEL = Asset(name="crm_raw_channel", uri="crm://warehouse/raw/channel")
MARTS = Asset(name="crm_marts", uri="crm://warehouse/marts")
CLUSTERS = Asset(name="crm_ml_customer_clusters", uri="crm://warehouse/ml/customer_clusters")
CAMPAIGN_FILES = Asset(name="crm_campaign_files", uri="crm://exports/campaigns")


def _postgres_table(server: str, database: str, schema: str, table: str) -> Asset:
    # The postgres provider's URI form, which the OpenLineage provider turns into a dataset
    # (namespace postgres://<server>:5432, name <database>.<schema>.<table>). The server is the
    # connection's id, not its host: lineage names the same table the same way in every deployment.
    return Asset(uri=f"postgres://{server}:5432/{database}/{schema}/{table}")


# What the extract reads and the marts check vouches for, for the lineage graph.
COREBANK_TABLES = [_postgres_table("crm-corebank", "corebank", "core", t)
                   for t in ("customers", "accounts", "daily_balances", "transactions")]
MART_TABLES = [_postgres_table("crm-warehouse", "crm", "marts", t)
               for t in ("mart_customer_value", "mart_customer_tier", "mart_customer_contactability")]

START_DATE = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")

# Production retries transient failures; the embedded runner sets CRM_TASK_RETRIES=0 so a real
# error surfaces at once instead of after minutes of back-off.
DEFAULT_ARGS = {
    "owner": "crm-data-engineering",
    "retries": int(os.environ.get("CRM_TASK_RETRIES", "2")),
    "retry_delay": timedelta(seconds=int(os.environ.get("CRM_RETRY_DELAY_SECONDS", "120"))),
    "retry_exponential_backoff": True,
}


def warehouse_dsn(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """A libpq DSN from an Airflow connection (resolved at run time, never at parse time)."""
    from airflow.sdk import Connection

    from python_tasks.warehouse import dsn_from_parts

    conn = Connection.get(conn_id)
    return dsn_from_parts(conn.host, conn.port, conn.login, conn.password, conn.schema)


# Shown in the trigger form. A run triggered from the UI or the REST API has no logical date
# (Airflow 3): it builds this date, or else the day before it was triggered (python_tasks.run_date).
PARAMS = {
    BUSINESS_DATE_PARAM: Param(
        None,
        type=["null", "string"],
        format="date",
        title="Business date",
        description="The day to build (YYYY-MM-DD). Empty: the run's logical date, or for a manual "
                    "run the day before it was triggered (Asia/Shanghai).",
    ),
}


def business_date() -> date:
    """The business date of the running task's DAG run (never reads ``ds``: a manual run has none)."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    run = context["dag_run"]
    return resolve_business_date(context["params"].get(BUSINESS_DATE_PARAM), run.logical_date, run.run_after)


def _business_date_macro(params: dict, dag_run) -> str:
    return resolve_business_date(params.get(BUSINESS_DATE_PARAM), dag_run.logical_date, dag_run.run_after).isoformat()


# For templated fields: "{{ crm_business_date(params, dag_run) }}".
USER_DEFINED_MACROS = {"crm_business_date": _business_date_macro}
BUSINESS_DATE_TEMPLATE = "{{ crm_business_date(params, dag_run) }}"
