"""The run summary must fail a run that did not pass the gate or export anything."""
from __future__ import annotations

import pytest

from python_tasks.reporting.run_summary import RunIncomplete, log_and_check, render

GOOD = {
    "as_of_date": "2026-09-30",
    "run_id": "r1",
    "tiers": [{"tier": "gold", "name_en": "Gold", "name_zh": "金牌", "customers": 3, "profit_cny": 100.0}],
    "pareto": {"customers": 10, "total_profit_cny": 100.0, "top_20pct_profit_share": 0.81,
               "loss_making_customers": 2, "loss_makers_drain_cny": 5.0},
    "clusters": [{"cluster_id": 0, "customers": 10, "label": "digital", "standard_offer": "bundle"}],
    "data_quality": {"expectations": 25, "critical_failures": 0, "warnings": 1, "passed": True},
    "exports": [{"campaign": "GOLD", "format": "csv", "rows": 3, "path": "/x/GOLD.csv"}],
}


def test_render_names_tiers_share_clusters_and_files():
    text = render(GOOD)
    assert "金牌" in text and "81.0%" in text and "digital" in text and "/x/GOLD.csv" in text


def test_complete_run_passes():
    log_and_check(GOOD)


def test_failed_gate_fails_the_run():
    bad = dict(GOOD, data_quality={"expectations": 25, "critical_failures": 1, "warnings": 0, "passed": False})
    with pytest.raises(RunIncomplete, match="gate failed"):
        log_and_check(bad)


def test_run_that_never_reached_the_gate_fails():
    with pytest.raises(RunIncomplete, match="before the data-quality gate"):
        log_and_check({k: v for k, v in GOOD.items() if k != "data_quality"})


def test_run_without_exports_fails():
    with pytest.raises(RunIncomplete, match="no export files"):
        log_and_check(dict(GOOD, exports=[]))
