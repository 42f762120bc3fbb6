"""The report's model section reads the predictions' tables as they are: scores per tier, and the
latest version of each model with its validation figures beside its baselines."""
from __future__ import annotations

import re
from datetime import date

import psycopg
import pytest
from psycopg.types.json import Jsonb

from python_tasks.reporting import report_data, report_html

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)


def test_model_section_reads_scores_and_registry(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("""
            create schema marts; create schema ml;
            create table marts.mart_customer_tier (as_of_date date, customer_id text, tier_code text, tier_rank int);
            create table ml.customer_scores (as_of_date date, customer_id text, score_source text,
                                             churn_probability double precision);
            create table ml.model_registry (model_name text, version int, trained_as_of date, validation_date date,
                                            training_rows bigint, features jsonb, metrics jsonb, model bytea);
        """)
        conn.execute("""
            insert into marts.mart_customer_tier
            select %s, 'c' || i, case when i %% 2 = 0 then 'gold' else 'common' end,
                   case when i %% 2 = 0 then 1 else 4 end
            from generate_series(1, 100) i""", (D,))
        conn.execute("insert into ml.customer_scores select %s, 'c' || i, 'model', i / 100.0 "
                     "from generate_series(1, 100) i", (D,))
        for version, auc in ((1, 0.61), (2, 0.74)):
            conn.execute("insert into ml.model_registry values ('churn', %s, %s, %s, 5000, '[]', %s, %s)",
                         (version, D, D, Jsonb({"validation_rows": 900, "model": {"auc": auc},
                                                "rule:at_risk": {"auc": 0.55}}), b"\x00" * 1000))
        conn.commit()
        models = report_data._models(conn, D)
    assert models["score_column"] == "churn_probability"
    assert sum(d["customers"] for d in models["distribution"]) == 100
    assert {d["tier"] for d in models["distribution"]} == {"gold", "common"}
    assert all(1 <= d["bucket"] <= 10 for d in models["distribution"])
    [churn] = models["registry"]
    assert churn["version"] == 2
    assert churn["figures"] == {"validation": {"validation_rows": 900}, "model": {"auc": 0.74},
                                "rule:at_risk": {"auc": 0.55}}
    data = report_data.ReportData(as_of_date=D, run_id=None, models=models)
    page = report_html.render(data)
    assert "data-chart='scores-churn-model'" in page and "churn v2" in page and "rule:at_risk" in page
    text = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "00000000" not in text and "0.7400" in text  # the model bytes never reach the page
