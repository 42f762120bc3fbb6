"""`crm airflow up` from a fresh CRM_HOME: a real scheduler, dag processor, triggerer and API
server (LocalExecutor, Postgres metadata); crm_daily triggered through the REST API without a
logical date, as the UI's Trigger button does; a backfill over two dates; the UI's grid of the
manual run in headless Chromium (screenshot under test-output/)."""
from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks import airflow_service
from python_tasks.config import REPO_ROOT, Settings
from python_tasks.orchestration import _airflow
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.warehouse import Endpoints
from tests.pgtools import create_database, drop_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

FIRST, SECOND = date(2026, 9, 29), date(2026, 9, 30)
SPEC = GenerationSpec(customers=300, days=14, seed=11, end_date=SECOND)
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT_DIR = Path(os.environ.get("CRM_TEST_OUTPUT_DIR", REPO_ROOT / "test-output"))


@pytest.fixture(scope="module")
def service(pg_admin_dsn, tmp_path_factory):
    home = tmp_path_factory.mktemp("crm_home_airflow")
    warehouse = create_database(pg_admin_dsn, "af_wh")
    source = create_database(pg_admin_dsn, "af_src")
    settings = Settings.from_env({"CRM_HOME": str(home), "CRM_PG_DSN": warehouse, "CRM_SOURCE_DSN": source})
    endpoints = Endpoints(warehouse_dsn=warehouse, source_dsn=source, embedded=False)
    generate(source, settings.landing_dir, SPEC)
    saved = dict(os.environ)
    # No scheduled runs: unpausing crm_daily would start yesterday's run first, and the bank
    # generated here has no yesterday. Manual runs and backfills run as ever.
    os.environ.update(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False", CRM_TASK_RETRIES="0")
    try:
        state = airflow_service.up(settings, endpoints)
        client = airflow_service.AirflowClient(state.url, airflow_service.ADMIN_USER, state.admin_password())
        yield settings, endpoints, state, client
    finally:
        airflow_service.down(settings)
        os.environ.clear()
        os.environ.update(saved)
        drop_database(pg_admin_dsn, airflow_service.metadata_dsn(warehouse))
        drop_database(pg_admin_dsn, warehouse)
        drop_database(pg_admin_dsn, source)


@pytest.fixture(scope="module")
def manual_run(service):
    _, _, _, client = service
    client.wait_for_dag("crm_daily")
    client.unpause("crm_daily")
    run = client.trigger("crm_daily", {"business_date": FIRST.isoformat()})
    return run, client.wait_for_run("crm_daily", run["dag_run_id"])


def scalar(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_status_lists_every_service_running(service):
    settings, _, state, _ = service
    status = airflow_service.status(settings)
    assert status["running"], status
    assert set(status["processes"]) == {"api-server", "scheduler", "dag-processor", "triggerer"}
    assert status["health"]["scheduler"]["status"] == "healthy"
    assert Path(state.log_dir).is_relative_to(settings.home)


def _feature_rows(endpoints, day) -> int:
    return scalar(endpoints.warehouse_dsn,
                  "select count(*) from marts.mart_customer_features where feature_date = %s", day)


def test_a_run_triggered_without_a_logical_date_builds_its_business_date(service, manual_run):
    _, endpoints, _, client = service
    run, finished = manual_run
    assert run["logical_date"] is None
    states = {ti["task_id"]: ti["state"] for ti in client.task_instances("crm_daily", run["dag_run_id"])}
    assert finished["state"] == "success", {k: v for k, v in states.items() if v != "success"}
    assert len(states) > 40 and set(states.values()) == {"success"}
    # The first of two generated days' last: every customer known by then, none who joined after.
    live = scalar(endpoints.source_dsn, "select count(*) from core.customers where not is_deleted")
    graded = scalar(endpoints.warehouse_dsn, "select count(*) from marts.mart_customer_tier")
    assert 0.9 * live < graded <= live
    # Clustering scores every customer of the date's feature rows (its documented population).
    assert scalar(endpoints.warehouse_dsn, "select count(*) from ml.customer_clusters where as_of_date = %s",
                  FIRST) == _feature_rows(endpoints, FIRST) > 0


def test_backfill_builds_its_dates_in_order_and_rebuilds_a_built_date_idempotently(service, manual_run):
    settings, endpoints, state, client = service
    members = "select count(*), count(distinct customer_id) from exports.campaign_members where as_of_date = %s"
    before = scalar(endpoints.warehouse_dsn, members.replace("count(*), ", "count(*)::text || '/' || "), FIRST)
    env = airflow_service.service_env(settings, endpoints, state)
    # Each backfill run builds its logical date's day (ds): the fire times 16:00 UTC of 09-29 and 09-30.
    proc = subprocess.run(
        [_airflow(), "backfill", "create", "--dag-id", "crm_daily", "--from-date", FIRST.isoformat(),
         "--to-date", f"{SECOND.isoformat()}T23:59:59+00:00", "--max-active-runs", "1",
         "--reprocess-behavior", "completed"],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = [r for r in client.get("/api/v2/dags/crm_daily/dagRuns?limit=100")["dag_runs"]
            if r["run_type"] == "backfill"]
    assert len(runs) == 2, runs
    finished = [client.wait_for_run("crm_daily", r["dag_run_id"]) for r in runs]
    assert [r["state"] for r in finished] == ["success", "success"], finished
    by_date = sorted(finished, key=lambda r: r["logical_date"])
    assert [r["logical_date"][:10] for r in by_date] == [FIRST.isoformat(), SECOND.isoformat()]
    assert by_date[0]["end_date"] <= by_date[1]["start_date"], "the later date started before the earlier ended"
    after = scalar(endpoints.warehouse_dsn, members.replace("count(*), ", "count(*)::text || '/' || "), FIRST)
    assert after == before, "rebuilding a built date changed its campaign lists"
    live = scalar(endpoints.source_dsn, "select count(*) from core.customers where not is_deleted")
    assert 0.9 * live < scalar(endpoints.warehouse_dsn, "select count(*) from marts.mart_customer_tier") <= live
    assert scalar(endpoints.warehouse_dsn, "select count(*) from ml.customer_clusters where as_of_date = %s",
                  SECOND) == _feature_rows(endpoints, SECOND) > 0


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_the_ui_grid_shows_the_manual_run(service, manual_run):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright (test extra) is not installed")
    _, _, state, _ = service
    run, _ = manual_run
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT_DIR / "airflow_grid_crm_daily.png"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{state.url}/auth/login")
        page.get_by_label("Username").fill(airflow_service.ADMIN_USER)
        page.get_by_label("Password").fill(state.admin_password())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
        page.goto(f"{state.url}/dags/crm_daily/runs/{run['dag_run_id']}")
        page.get_by_text("extract_corebank").first.wait_for(timeout=60_000)
        page.screenshot(path=str(shot), full_page=True)
        text = page.inner_text("body")
        browser.close()
    assert "crm_daily" in text and "quality_gate" in text
    assert shot.stat().st_size > 10_000


def test_openlineage_events_name_the_extracts_inputs_and_the_marts_outputs(service, manual_run):
    from psycopg.conninfo import conninfo_to_dict

    from python_tasks.lineage import read_events

    settings, endpoints, _, _ = service
    run, _ = manual_run
    complete = [e for e in read_events(settings) if e["eventType"] == "COMPLETE"]

    def datasets(job: str, side: str) -> set[str]:
        return {d["name"] for e in complete if e["job"]["name"] == f"crm_daily.{job}" for d in e[side]}

    assert {"corebank.core.customers", "corebank.core.transactions"} <= datasets("extract_corebank", "inputs")
    # Cosmos reports the dbt build's own lineage: raw tables in, models out.
    warehouse = conninfo_to_dict(endpoints.warehouse_dsn)["dbname"]
    built = datasets("dbt.dbt_producer_watcher", "outputs")
    assert {f"{warehouse}.marts.mart_customer_tier", f"{warehouse}.marts.mart_customer_value"} <= built
    assert any(name.startswith(f"{warehouse}.raw.") for name in datasets("dbt.dbt_producer_watcher", "inputs"))
    assert "crm.marts.mart_customer_tier" in datasets("marts_ready", "outputs")
    run_events = [e for e in complete if e["job"]["name"] == "crm_daily"]
    assert run_events, "the DAG run itself is reported"
