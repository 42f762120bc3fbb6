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


def test_render_shows_each_model_beside_its_baseline_and_the_drift_warning():
    models = {
        "churn": {"version": 2, "metrics": {
            "validation_rows": 900, "leavers_in_validation": 80,
            "model": {"roc_auc": 0.91, "pr_auc": 0.6, "top_decile_lift": 5.2},
            "rule:at_risk": {"roc_auc": 0.62, "pr_auc": 0.2, "top_decile_lift": 1.9},
            "best_single_feature:days_since_last_txn": {"roc_auc": 0.8, "pr_auc": 0.4, "top_decile_lift": 3.0},
            "retention_list": {"list_size": 50, "base_rate": 0.09, "model_leaver_rate": 0.4,
                               "rule_leaver_rate": 0.15}}},
        "value": {"version": 1, "metrics": {"model": {"spearman": 0.97, "top_decile_growth_precision": 0.3},
                                            "carry_forward": {"spearman": 0.95, "top_decile_growth_precision": 0.1}}},
        "next_best_product": {"version": 1, "metrics": {"model": {"precision_at_1": 0.4, "precision_at_3": 0.8},
                                                        "popularity": {"precision_at_1": 0.2, "precision_at_3": 0.6}}},
    }
    text = render(dict(GOOD, predictions={"score_source": "model", "customers": 900, "models": models,
                                          "warnings": ["feature drift (PSI > 0.25): complaints_90d 0.40"]}))
    assert "ROC AUC 0.910" in text and "rule:at_risk" in text and "ROC AUC 0.620" in text
    assert "Spearman 0.970 vs carry-forward 0.950" in text and "precision@1 0.400 vs popularity 0.200" in text
    assert "WARNING: feature drift" in text
    rules = render(dict(GOOD, predictions={"score_source": "rules", "customers": 900, "models": {}, "warnings": []}))
    assert "RULE SCORES" in rules
