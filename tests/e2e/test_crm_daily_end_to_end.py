"""crm_daily end to end: a small synthetic bank, the real DAG through `airflow dags test`,
real Postgres, real dbt, real GX, real files."""
from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks.config import Settings
from python_tasks.orchestration import test_dag as run_dag
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.warehouse import Endpoints
from tests.pgtools import create_database, drop_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RUN_DATE = date(2026, 9, 30)
SPEC = GenerationSpec(customers=400, days=21, seed=7, end_date=RUN_DATE)
TIERS = {"gold", "profit", "potential", "common", "unprofitable"}


@pytest.fixture(scope="module")
def bank(pg_admin_dsn, tmp_path_factory):
    home = tmp_path_factory.mktemp("crm_home")
    warehouse = create_database(pg_admin_dsn, "e2e_wh")
    source = create_database(pg_admin_dsn, "e2e_src")
    settings = Settings.from_env({"CRM_HOME": str(home), "CRM_PG_DSN": warehouse, "CRM_SOURCE_DSN": source})
    endpoints = Endpoints(warehouse_dsn=warehouse, source_dsn=source, embedded=False)
    generated = generate(source, settings.landing_dir, SPEC)
    first = run_dag(settings, endpoints, RUN_DATE)
    yield settings, endpoints, generated, first
    drop_database(pg_admin_dsn, warehouse)
    drop_database(pg_admin_dsn, source)


def scalar(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def raw_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1")]
        return {t: conn.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables}


def test_raw_holds_every_source_row_up_to_the_run_date(bank):
    settings, ep, generated, _ = bank
    for table in ("customers", "accounts", "daily_balances", "transactions"):
        in_source = scalar(
            ep.source_dsn,
            f"select count(*) from core.{table} "
            "where updated_at < (%s::date + 1)::timestamp at time zone 'Asia/Shanghai'",
            RUN_DATE,
        )
        assert in_source > 0
        assert scalar(ep.warehouse_dsn, f"select count(*) from raw.corebank__{table}") == in_source


def test_every_live_customer_is_valued_and_graded(bank):
    _, ep, _, _ = bank
    live = scalar(ep.source_dsn, "select count(*) from core.customers where not is_deleted")
    assert scalar(ep.warehouse_dsn, "select count(*) from marts.mart_customer_value") == live
    assert scalar(ep.warehouse_dsn, "select count(*) from marts.mart_customer_tier") == live
    tiers = {r for r in scalar(ep.warehouse_dsn, "select array_agg(distinct tier_code) from marts.mart_customer_tier")}
    assert tiers <= TIERS
    assert len(tiers) >= 3, tiers
    assert scalar(ep.warehouse_dsn,
                  "select count(*) from marts.mart_customer_tier where reason_codes is null or reason_codes = ''") == 0


def test_erased_customers_leave_no_personal_data_in_marts(bank):
    _, ep, _, _ = bank
    erased = scalar(ep.source_dsn, "select array_agg(customer_id) from core.customers where is_deleted") or []
    assert erased, "the generator plants erasure tombstones"
    assert scalar(ep.warehouse_dsn,
                  "select count(*) from marts.mart_customer_value where customer_id = any(%s)", erased) == 0
    assert scalar(ep.warehouse_dsn,
                  "select count(*) from marts.mart_customer_contactability "
                  "where customer_id = any(%s) and (full_name is not null or mobile is not null or is_contactable)",
                  erased) == 0


def test_every_customer_is_in_exactly_one_cluster(bank):
    _, ep, _, _ = bank
    # Clustering scores the date's rows of the point-in-time feature table: one cluster each.
    featured = scalar(ep.warehouse_dsn,
                      "select count(*) from marts.mart_customer_features where feature_date = %s", RUN_DATE)
    assert featured > 0
    assert scalar(ep.warehouse_dsn, "select count(*) from ml.customer_clusters where as_of_date = %s",
                  RUN_DATE) == featured
    assert scalar(ep.warehouse_dsn, "select count(distinct customer_id) from ml.customer_clusters "
                                    "where as_of_date = %s", RUN_DATE) == featured
    k = scalar(ep.warehouse_dsn, "select count(*) from ml.cluster_profiles where as_of_date = %s", RUN_DATE)
    assert k >= 2
    assert scalar(ep.warehouse_dsn, "select count(*) from ml.cluster_models") >= 1


def test_exports_are_excel_friendly_and_match_their_manifest(bank):
    settings, ep, _, _ = bank
    out = settings.export_dir / RUN_DATE.isoformat()
    manifests = sorted(out.glob("*.manifest.json"))
    assert manifests
    total = 0
    for m in manifests:
        manifest = json.loads(m.read_text(encoding="utf-8"))
        csv_path = out / f"{manifest['campaign_code']}.csv"
        assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf"), "CSV must carry a BOM for Excel"
        with csv_path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == manifest["rows"]
        assert (out / f"{manifest['campaign_code']}.parquet").exists()
        total += len(rows)
    assert total > 0
    assert total == scalar(ep.warehouse_dsn, "select count(*) from exports.campaign_members where as_of_date = %s",
                           RUN_DATE)


def test_exported_customers_are_all_contactable(bank):
    _, ep, _, _ = bank
    assert scalar(ep.warehouse_dsn, """
        select count(*) from exports.campaign_members m
        join marts.mart_customer_contactability c using (customer_id)
        where not c.is_contactable
    """) == 0


def test_quality_gate_passed_and_was_recorded(bank):
    _, ep, _, _ = bank
    assert scalar(ep.warehouse_dsn, "select count(*) from ops.dq_results where as_of_date = %s", RUN_DATE) > 0
    assert scalar(ep.warehouse_dsn, "select count(*) from ops.dq_results where as_of_date = %s "
                  "and severity = 'critical' and not success", RUN_DATE) == 0


def test_run_summary_names_tiers_pareto_clusters_and_files(bank):
    settings, _, _, _ = bank
    summary = json.loads((settings.reports_dir / RUN_DATE.isoformat() / "run_summary.json").read_text("utf-8"))
    assert {t["tier"] for t in summary["tiers"]} <= TIERS
    assert 0 < summary["pareto"]["top_20pct_profit_share"] <= 1.5
    assert summary["clusters"]
    assert summary["data_quality"]["passed"] is True
    assert all(Path(e["path"]).exists() for e in summary["exports"])


def test_rerun_of_same_date_adds_no_rows(bank):
    settings, ep, _, _ = bank
    before_raw = raw_counts(ep.warehouse_dsn)
    before_members = scalar(ep.warehouse_dsn, "select count(*) from exports.campaign_members")
    before_tier = scalar(ep.warehouse_dsn, "select md5(string_agg(customer_id || tier_code, ',' order by customer_id)) "
                         "from marts.mart_customer_tier")
    run_dag(settings, ep, RUN_DATE)
    assert raw_counts(ep.warehouse_dsn) == before_raw
    assert scalar(ep.warehouse_dsn, "select count(*) from exports.campaign_members") == before_members
    assert scalar(ep.warehouse_dsn, "select md5(string_agg(customer_id || tier_code, ',' order by customer_id)) "
                  "from marts.mart_customer_tier") == before_tier


def test_an_earlier_date_after_a_later_one_is_refused_and_no_mart_changes(bank):
    from datetime import timedelta

    from python_tasks.orchestration import DagRunFailed

    settings, ep, _, _ = bank

    def marts() -> dict[str, str]:
        with psycopg.connect(ep.warehouse_dsn) as conn:
            tables = [r[0] for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
            return {t: conn.execute(f'select md5(coalesce(string_agg(md5(m::text), \'\' order by md5(m::text)), \'\')) '
                                    f'from marts."{t}" m').fetchone()[0] for t in tables}

    before = marts()
    earlier = RUN_DATE - timedelta(days=1)
    with pytest.raises(DagRunFailed):
        run_dag(settings, ep, earlier)
    log = (settings.home / "logs" / f"crm_daily_{earlier.isoformat()}.log").read_text(errors="replace")
    assert "EarlierDateRefused" in log
    assert marts() == before  # every mart and the masked view as they were
