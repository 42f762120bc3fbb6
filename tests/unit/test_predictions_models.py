"""The models learn what is planted, say why in words, and refuse to train on too little history."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from python_tasks.predictions import labels, metrics, reasons
from python_tasks.predictions.features import feature_columns
from python_tasks.predictions.model import limited_threads
from python_tasks.predictions.registry import Registered
from python_tasks.predictions.score import score_chunk
from python_tasks.predictions.train import (
    InsufficientHistory,
    plan_split,
    train_churn,
    train_next_best_product,
    train_value,
)
from tests.prediction_frames import planted_bank

H = 90


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with limited_threads():
        yield


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return planted_bank(customers=800, dates=12, seed=3)


@pytest.fixture(scope="module")
def churn(bank):
    plan = plan_split(sorted(bank.feature_date.unique()), H)
    return train_churn(bank, feature_columns(list(bank.columns)), plan, H)


def test_churn_model_finds_the_planted_signal(churn):
    assert churn.reason_features[0] == "complaints_90d"
    assert churn.metrics["model"]["roc_auc"] > 0.85
    assert churn.metrics["model"]["top_decile_lift"] > 3
    # Calibrated: the mean probability is near the validation leaver rate.
    assert churn.metrics["model"]["mean_predicted"] == pytest.approx(churn.metrics["model"]["base_rate"], abs=0.05)
    # Validated on a later date than any it was fitted on.
    assert churn.validation_date > churn.training_from
    ret = churn.metrics["retention_list"]
    assert ret["model_leaver_rate"] >= 2 * ret["base_rate"]


def test_value_model_beats_carrying_profit_forward(bank):
    plan = plan_split(sorted(bank.feature_date.unique()), H)
    value = train_value(bank, feature_columns(list(bank.columns)), plan, H)
    assert value.metrics["model"]["spearman"] > value.metrics["carry_forward"]["spearman"]


def test_next_best_product_learns_who_opens_a_fund(bank):
    plan = plan_split(sorted(bank.feature_date.unique()), H)
    nbp = train_next_best_product(bank, feature_columns(list(bank.columns)), plan, H)
    assert "fund" in nbp.estimators and "loan" not in nbp.estimators  # nobody ever opened a loan
    assert nbp.metrics["model"]["precision_at_1"] > nbp.metrics["popularity"]["precision_at_1"]


def test_reasons_in_english_and_chinese_name_the_signal(bank, churn):
    latest = bank[bank.feature_date == bank.feature_date.max()]
    reg = Registered("churn", 1, date.today(), None, churn)
    rows, kept, p = score_chunk(latest, date.today(), reg, None, None)
    risky = rows[rows.churn_probability > 0.5]
    assert len(risky) > 0
    assert risky.churn_reasons_en.str.contains("complaints in the last 90 days").mean() > 0.8
    assert risky.churn_reasons_zh.str.contains("近90天投诉次数").mean() > 0.8
    assert len(rows) == len(kept) == len(p) < len(latest)  # closed customers are not scored


def test_too_little_history_is_refused_with_what_is_needed():
    dates = [date(2026, 1, 1) + timedelta(days=30 * i) for i in range(5)]
    with pytest.raises(InsufficientHistory, match="days of feature history"):
        plan_split(dates, H)


def test_time_split_never_fits_on_outcomes_after_the_validation_date():
    dates = [date(2025, 1, 1) + timedelta(days=30 * i) for i in range(24)]
    plan = plan_split(dates, H)
    assert plan.validation_date + timedelta(days=H) == dates[-1]
    assert all(d + timedelta(days=H) <= plan.calibration_date for d in plan.fit_dates)
    assert plan.calibration_date + timedelta(days=H) <= plan.validation_date


def test_churn_label_reads_the_row_h_days_later():
    d0, d1 = date(2026, 1, 1), date(2026, 4, 1)
    frame = pd.DataFrame({
        "feature_date": [d0, d0, d0, d0, d1, d1, d1],
        "customer_id": ["stays", "closed", "emptied", "vanished", "stays", "closed", "emptied"],
        "customer_closed": [0, 0, 0, 0, 0, 1, 0],
        "product_count": [1, 1, 1, 1, 1, 1, 1],
        "days_since_last_txn": [3, 3, 3, 3, 5, 200, 120],
        "deposit_balance_cny": [100, 100, 100, 100, 90, 0, 0.5],
    })
    y = labels.churn_label(frame, 90)
    assert y[:4].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert y[4:].isna().all()  # D + 90 is not a feature date yet


def test_words_for_features():
    assert reasons.words("txn_count_90d") == ("transactions in the last 90 days", "近90天交易笔数")
    assert reasons.words("has_fund")[1] == "持有基金"


def test_precision_at_k_skips_held_products():
    opened = np.array([[np.nan, 1, 0], [0, 0, 1]])
    held = np.array([[True, False, False], [False, False, False]])
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1]])
    assert metrics.precision_at(opened, scores, held, 1) == 0.5
    assert metrics.precision_at(opened, scores, held, 3) == 1.0


def test_every_feature_of_the_feature_mart_has_chinese_words():
    import re

    import yaml

    from python_tasks.config import DBT_PROJECT_DIR

    doc = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/features/_features__models.yml").read_text())
    columns = [c for m in doc["models"] if m["name"] == "mart_customer_features" for c in m["columns"]
               if c.get("data_type", "text") not in ("text", "date")]
    features = feature_columns([c["name"] for c in columns])
    assert len(features) > 30
    missing = [f for f in features if not re.search(r"[\u4e00-\u9fff]", reasons.words(f)[1])]
    assert missing == []


def test_a_feature_missing_in_every_training_row_does_not_stop_training(bank):
    plan = plan_split(sorted(bank.feature_date.unique()), H)
    frame = bank.assign(card_utilisation=np.where(bank.has_card > 0, 0.3, np.nan))
    nbp = train_next_best_product(frame, feature_columns(list(frame.columns)), plan, H)
    assert nbp.estimators["card"].fill == {"card_utilisation": -1.0}  # non-holders have no utilisation
    assert np.isfinite(nbp.predict_products(frame.head(50)).to_numpy()).all()
