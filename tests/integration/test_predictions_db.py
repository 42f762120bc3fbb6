"""Predictions against a real Postgres: registry round trip, chunked scoring, the rule-score
fallback on short history, and the retention list's order."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import psycopg
import pytest

from python_tasks.exports.audience import build_campaign_members
from python_tasks.exports.catalog import Campaign
from python_tasks.predictions import registry
from python_tasks.predictions.features import in_population
from python_tasks.predictions.model import CHURN
from python_tasks.predictions.run import score_customers, train_models
from python_tasks.reporting import run_summary
from tests.prediction_frames import planted_bank

pytestmark = pytest.mark.integration


def write_feature_table(dsn: str, frame: pd.DataFrame) -> None:
    numeric = [c for c in frame.columns if c not in ("feature_date", "customer_id")]
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.mart_customer_features "
                     "(feature_date date not null, customer_id text not null, "
                     + ", ".join(f"{c} double precision" for c in numeric)
                     + ", primary key (feature_date, customer_id))")
        with conn.cursor().copy(f"copy marts.mart_customer_features (feature_date, customer_id, {', '.join(numeric)}) "
                                "from stdin") as copy:
            for row in frame[["feature_date", "customer_id", *numeric]].itertuples(index=False, name=None):
                copy.write_row([row[0], row[1], *[float(v) for v in row[2:]]])


def write_value_mart(dsn: str, as_of: date, customer_ids: list[str]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("""create table marts.mart_customer_value (as_of_date date, customer_id text,
            annual_retention numeric, risk_balance_falling boolean, risk_activity_fading boolean,
            profit_contribution_cny numeric, predicted_annual_profit_cny numeric)""")
        for i, c in enumerate(customer_ids):
            conn.execute("insert into marts.mart_customer_value values (%s, %s, %s, %s, false, %s, %s)",
                         (as_of, c, 0.9 if i % 2 else 0.6, i % 2 == 0, 1000 + i, 1500 + i))


def test_registry_round_trip_and_scoring_in_chunks(fresh_db: str):
    bank = planted_bank(customers=400, dates=10, seed=5)
    write_feature_table(fresh_db, bank)
    as_of = max(bank.feature_date)
    trained = train_models(fresh_db, as_of)
    assert trained[CHURN]["version"] == 1

    with psycopg.connect(fresh_db) as conn:
        loaded = registry.latest(conn, CHURN, as_of)
        row = conn.execute("select features, data_hash, metrics -> 'model' ->> 'roc_auc', training_from, "
                           "validation_date, octet_length(model) from ml.model_registry where model_name = 'churn'"
                           ).fetchone()
    assert loaded is not None and loaded.version == 1
    assert row[0] == loaded.bundle.features and row[1] == loaded.bundle.data_hash
    assert float(row[2]) > 0.8 and row[3] < row[4] and row[5] > 1000
    latest = bank[bank.feature_date == as_of].reset_index(drop=True)
    population = latest[in_population(latest)]
    assert np.allclose(loaded.bundle.predict(population), loaded.bundle.predict(population.copy()))

    result = score_customers(fresh_db, as_of, chunk_rows=100)
    assert result["score_source"] == "model" and result["trained"] == []  # the registered models were fresh
    assert result["customers"] == len(population)
    assert result["chunks"] == -(-len(latest) // 100)  # every chunk of 100 feature rows, streamed
    with psycopg.connect(fresh_db) as conn:
        stored = pd.DataFrame(conn.execute(
            "select customer_id, churn_probability, churn_reasons_en, churn_reasons_zh, next_best_product "
            "from ml.customer_scores where as_of_date = %s order by customer_id", (as_of,)).fetchall(),
            columns=["customer_id", "p", "en", "zh", "nbp"])
    expected = loaded.bundle.predict(population.sort_values("customer_id"))
    assert np.allclose(stored.p.to_numpy(), expected)
    risky = stored[stored.p > 0.5]
    assert len(risky) and risky.en.str.len().gt(0).all() and risky.zh.str.len().gt(0).all()
    assert stored.nbp.notna().all()

    score_customers(fresh_db, as_of, chunk_rows=100)  # a re-run replaces the date
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from ml.customer_scores").fetchone()[0] == len(population)


def test_short_history_falls_back_to_labelled_rule_scores(fresh_db: str):
    bank = planted_bank(customers=50, dates=4, seed=1)
    write_feature_table(fresh_db, bank)
    as_of = max(bank.feature_date)
    write_value_mart(fresh_db, as_of, sorted(bank.customer_id.unique())[:20])

    result = score_customers(fresh_db, as_of)
    assert result["score_source"] == "rules" and result["customers"] == 20
    assert any("not enough history" in w for w in result["warnings"])
    with psycopg.connect(fresh_db) as conn:
        sources = conn.execute("select distinct score_source from ml.customer_scores").fetchall()
        assert sources == [("rules",)]
        assert conn.execute("select count(*) from ml.model_registry").fetchone()[0] == 0
    text = run_summary.render(run_summary.collect(fresh_db, as_of, "r1"))
    assert "RULE SCORES" in text and "not enough history" in text


def test_retention_list_takes_the_largest_expected_profit_lost_up_to_capacity(fresh_db: str):
    d = date(2026, 9, 30)
    # (customer, churn probability, annual profit): expected loss
    # 0.9x1000=900, 0.1x50000=5000, 0.5x4000=2000, 0.8x100=80
    people = [("A", 0.9, 1000), ("B", 0.1, 50000), ("C", 0.5, 4000), ("D", 0.8, 100)]
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema marts")
        conn.execute("""create table marts.mart_customer_tier (as_of_date date, customer_id text, tier_code text,
            reason_codes text, at_risk boolean, profit_contribution_cny numeric)""")
        conn.execute("""create table marts.mart_customer_contactability (customer_id text, full_name text, mobile text,
            preferred_channel text, is_contactable boolean, suppression_reason text)""")
        from python_tasks.clustering import store
        store.ensure_schema(conn)
        registry.ensure_schema(conn)
        for cid, p, profit in people:
            conn.execute("insert into marts.mart_customer_tier values (%s, %s, 'profit', '', false, %s)",
                         (d, cid, profit))
            conn.execute("insert into marts.mart_customer_contactability "
                         "values (%s, 'n', '13800000000', 'phone', true, null)",
                         (cid,))
            conn.execute("insert into ml.customer_scores (as_of_date, customer_id, score_source, churn_probability, "
                         "churn_reasons_en, churn_reasons_zh) values (%s, %s, 'model', %s, 'r', '原因')", (d, cid, p))
    campaign = Campaign(code="PROFIT_RETENTION_CALL", name="t", name_zh="t", tiers=("profit",), channels=("phone",),
                        frequency_cap_days=14, reason="keep", rank_by="expected_profit_lost", capacity=2)
    assert build_campaign_members(fresh_db, d, [campaign]) == {"PROFIT_RETENTION_CALL": 2}
    with psycopg.connect(fresh_db) as conn:
        listed = conn.execute("select customer_id, priority_cny, score_source, score_reasons_zh "
                              "from exports.campaign_members order by priority_cny desc").fetchall()
        over = conn.execute("select customers from ops.export_suppressions where reason = 'over_capacity'").fetchone()
    assert [r[0] for r in listed] == ["B", "C"]
    assert listed[0][1] == pytest.approx(5000) and listed[0][2] == "model" and listed[0][3] == "原因"
    assert over == (2,)
