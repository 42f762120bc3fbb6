"""Nothing reaches marketing unless the data-quality gate passed for those very rows."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from python_tasks.exports.catalog import Campaign
from python_tasks.exports.files import ExportBlocked, export_campaign_files
from python_tasks.quality.gate_record import record_gate as record_gate_of_rows
from python_tasks.quality.results_store import DDL

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
CAMPAIGN = Campaign(code="GOLD_TEST", name="t", name_zh="t", tiers=("gold",), channels=("sms",),
                    frequency_cap_days=0, reason="r")


@pytest.fixture
def warehouse(fresh_db: str) -> str:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(DDL)
        conn.execute("create schema exports")
        conn.execute("""
            create table exports.campaign_members (
                as_of_date date, campaign_code text, customer_id text, full_name text, mobile text,
                channel text, tier_code text, cluster_id integer, reason text, score_source text,
                churn_probability double precision, priority_cny double precision, next_best_product text,
                next_best_product_probability double precision, score_reasons_en text, score_reasons_zh text)
        """)
        conn.execute("""
            insert into exports.campaign_members values
            (%s, 'GOLD_TEST', 'C1', '张伟', '13812345678', 'sms', 'gold', 1, 'r', 'model', 0.12, 100, 'fund', 0.3,
             'complaints in the last 90 days 2 (high)', '近90天投诉次数 2（偏高）'),
            (%s, 'GOLD_TEST', 'C2', '=cmd()', '13912345678', 'sms', 'gold', 1, 'r', 'rules', null, null, null, null,
             null, null)
        """, (D, D))
        conn.execute("create table ops.export_suppressions (as_of_date date, campaign_code text, reason text, "
                     "customers bigint)")
        conn.execute("create table ops.export_log (export_id bigserial, run_id text, as_of_date date, "
                     "campaign_code text, file_path text, file_format text, rows_exported bigint, sha256 text, "
                     "exported_at timestamptz default now())")
    return fresh_db


def record_gate(dsn: str, run_id: str, *, critical_ok: bool) -> None:
    """The gate's verdict on the list rows as they are now."""
    with psycopg.connect(dsn) as conn:
        record_gate_of_rows(conn, D, run_id, passed=critical_ok)


def test_no_gate_result_means_no_files(warehouse: str, tmp_path: Path):
    with pytest.raises(ExportBlocked, match="no data-quality gate"):
        export_campaign_files(warehouse, D, "run-1", tmp_path, [CAMPAIGN])
    assert not list(tmp_path.rglob("*.csv"))


def test_failed_gate_means_no_files(warehouse: str, tmp_path: Path):
    record_gate(warehouse, "run-1", critical_ok=False)
    with pytest.raises(ExportBlocked, match="gate failed"):
        export_campaign_files(warehouse, D, "run-1", tmp_path, [CAMPAIGN])
    assert not list(tmp_path.rglob("*.csv"))


def test_rows_changed_after_the_gate_are_not_exported_whatever_the_run_id(warehouse: str, tmp_path: Path):
    record_gate(warehouse, "run-1", critical_ok=True)
    with psycopg.connect(warehouse) as conn:
        conn.execute("update exports.campaign_members set mobile = '10000000000' where customer_id = 'C1'")
    with pytest.raises(ExportBlocked, match="changed since the gate"):
        export_campaign_files(warehouse, D, "run-1", tmp_path, [CAMPAIGN])
    assert not list(tmp_path.rglob("*.csv"))
    record_gate(warehouse, "run-2", critical_ok=True)  # a new gate over the rows as they are
    export_campaign_files(warehouse, D, "run-2", tmp_path, [CAMPAIGN])
    assert "100-0000-0000" in (tmp_path / D.isoformat() / "GOLD_TEST.csv").read_text(encoding="utf-8-sig")


def test_export_files_are_readable_by_owner_and_group_only(warehouse: str, tmp_path: Path):
    record_gate(warehouse, "run-1", critical_ok=True)
    export_campaign_files(warehouse, D, "run-1", tmp_path, [CAMPAIGN])
    folder = tmp_path / D.isoformat()
    assert folder.stat().st_mode & 0o777 == 0o750
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
    assert set(modes) == {"GOLD_TEST.csv", "GOLD_TEST.parquet", "GOLD_TEST.manifest.json"}
    assert set(modes.values()) == {0o640}


def test_passed_gate_writes_files_manifest_and_audit_once_per_rerun(warehouse: str, tmp_path: Path):
    record_gate(warehouse, "run-1", critical_ok=True)
    for run_id in ("run-1", "run-2"):  # a retry, then a re-run of the date
        written = export_campaign_files(warehouse, D, run_id, tmp_path, [CAMPAIGN])
    assert {w["file_format"] for w in written} == {"csv", "parquet"}
    csv_bytes = (tmp_path / D.isoformat() / "GOLD_TEST.csv").read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    text = csv_bytes.decode("utf-8-sig")
    assert "张伟" in text and "138-1234-5678" in text and "'=cmd()" in text
    assert "近90天投诉次数 2（偏高）" in text and ",rules," in text  # scores and reasons travel with the rows
    assert (tmp_path / D.isoformat() / "GOLD_TEST.manifest.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select count(*) from ops.export_log").fetchone()[0] == 2  # csv + parquet, not 4
