"""Shared wiring for the CRM DAGs: connection ids, assets, defaults. No work at import time."""
from __future__ import annotations

import os
from datetime import date, timedelta

import pendulum
from airflow.sdk import Asset

WAREHOUSE_CONN_ID = "crm_warehouse"  # AIRFLOW_CONN_CRM_WAREHOUSE
COREBANK_CONN_ID = "crm_corebank"  # AIRFLOW_CONN_CRM_COREBANK

RAW_COREBANK = Asset(name="crm_raw_corebank", uri="crm://warehouse/raw/corebank")
RAW_CHANNEL = Asset(name="crm_raw_channel", uri="crm://warehouse/raw/channel")
MARTS = Asset(name="crm_marts", uri="crm://warehouse/marts")
CLUSTERS = Asset(name="crm_ml_customer_clusters", uri="crm://warehouse/ml/customer_clusters")
CAMPAIGN_FILES = Asset(name="crm_campaign_files", uri="crm://exports/campaigns")

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


def business_date(ds: str) -> date:
    return date.fromisoformat(ds)
