"""Gate verdict, summaries and enforce() without a database or GX run."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from python_tasks.config import EXPECTATIONS_DIR, REPO_ROOT
from python_tasks.quality import GateResult, QualityGateFailed, enforce, run_quality_gate
from python_tasks.quality.gate import summarise
from python_tasks.quality.gx_runner import ExpectationOutcome
from python_tasks.quality.suites import load_suites


def outcome(suite: str, etype: str, column: str | None, severity: str, success: bool,
            observed: dict | None = None) -> ExpectationOutcome:
    return ExpectationOutcome(suite, etype, column, severity, success, observed or {})


def test_summarise_counts_by_severity_and_only_critical_fails_the_gate() -> None:
    specs = load_suites(EXPECTATIONS_DIR)
    outcomes = [outcome(s.name, "x", None, "critical", True) for s in specs]
    outcomes.append(outcome("customer_tier", "expect_column_values_to_not_be_null",
                            "tier_name_zh", "warning", False, {"unexpected_count": 2}))
    passed, suites, failures = summarise(specs, outcomes)
    assert passed
    tier = next(s for s in suites if s["name"] == "customer_tier")
    assert tier == {"name": "customer_tier", "table": "marts.mart_customer_tier",
                    "success": False, "evaluated": 2, "failed_critical": 0, "failed_warning": 1}
    assert failures == [{"suite": "customer_tier",
                         "expectation_type": "expect_column_values_to_not_be_null",
                         "column": "tier_name_zh", "severity": "warning",
                         "observed": {"unexpected_count": 2}}]

    outcomes.append(outcome("campaign_members", "expect_column_values_to_match_regex",
                            "mobile", "critical", False, {"unexpected_count": 1,
                                                          "element_count": 9}))
    passed, suites, failures = summarise(specs, outcomes)
    assert not passed
    assert len(failures) == 2


def _result(failures: list[dict], passed: bool) -> GateResult:
    return GateResult(passed=passed, run_id="r1", as_of_date=date(2024, 6, 30), suites=[],
                      failures=failures, docs_path=None)


def test_enforce_names_only_the_critical_failures() -> None:
    failures = [
        {"suite": "customer_tier", "expectation_type": "expect_column_values_to_be_in_set",
         "column": "tier_code", "severity": "critical",
         "observed": {"unexpected_count": 1, "element_count": 10,
                      "partial_unexpected_list": ["platinum"]}},
        {"suite": "customer_tier", "expectation_type": "expect_table_row_count_to_be_between",
         "column": None, "severity": "critical", "observed": {"observed_value": 0}},
        {"suite": "campaign_members", "expectation_type": "expect_column_values_to_not_be_null",
         "column": "reason", "severity": "warning", "observed": {"unexpected_count": 3}},
    ]
    with pytest.raises(QualityGateFailed) as excinfo:
        enforce(_result(failures, passed=False))
    message = str(excinfo.value)
    assert "2 critical expectation(s) failed" in message
    assert "customer_tier.expect_column_values_to_be_in_set(tier_code): 1 unexpected of 10" in message
    assert "'platinum'" in message
    assert "customer_tier.expect_table_row_count_to_be_between: observed 0" in message
    assert "reason" not in message
    assert isinstance(excinfo.value, RuntimeError)


def test_enforce_lets_a_passed_result_through() -> None:
    enforce(_result([{"suite": "s", "expectation_type": "t", "column": "c",
                      "severity": "warning", "observed": {}}], passed=True))


@pytest.mark.parametrize("bad", [datetime(2024, 6, 30), "2024-06-30"])
def test_as_of_date_must_be_a_date(bad) -> None:
    with pytest.raises(TypeError):
        run_quality_gate("dbname=unused", bad, "r1", suites_dir=EXPECTATIONS_DIR)


def test_package_imports_neither_airflow_nor_eagerly_gx() -> None:
    code = (
        "import sys, python_tasks.quality as q;"
        "assert 'great_expectations' not in sys.modules, 'GX imported eagerly';"
        "import python_tasks.quality.gx_runner, great_expectations;"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'));"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(REPO_ROOT))
