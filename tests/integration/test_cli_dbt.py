"""The dbt commands the docs and error messages name: `crm dbt-parse` and `crm dbt`."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.cli import main
from python_tasks.transform.dbt_build import ensure_dbt_schemas

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse_env(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRM_PG_DSN", fresh_db)
    monkeypatch.setenv("CRM_SOURCE_DSN", fresh_db)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path / "target"


def test_dbt_parse_writes_the_manifest_the_missing_manifest_message_asks_for(fresh_db: str, warehouse_env: Path):
    assert main(["dbt-parse"]) == 0
    assert "marts" in ensure_dbt_schemas(fresh_db, warehouse_env / "manifest.json")


def test_crm_dbt_runs_dbt_with_the_business_date(warehouse_env: Path, capfd: pytest.CaptureFixture[str]):
    assert main(["dbt", "--date", "2026-09-30", "compile", "--inline", "select {{ as_of_date() }} as d"]) == 0
    assert "date '2026-09-30'" in capfd.readouterr().out


def test_crm_dbt_without_a_date_fails_with_dbts_message(warehouse_env: Path, capfd: pytest.CaptureFixture[str]):
    assert main(["dbt", "compile", "--inline", "select {{ as_of_date() }} as d"]) != 0
    assert "No business date" in capfd.readouterr().out
