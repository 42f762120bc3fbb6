"""Clustering against a real Postgres: fit, SQL scoring, idempotency and stable ids.

Creates its own throw-away database (clustertest_<random>) and drops it afterwards.
"""
from __future__ import annotations

import logging
import os
import secrets
from datetime import date, timedelta
from typing import Iterator

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from python_tasks.clustering import run_clustering
from python_tasks.clustering import store
from python_tasks.clustering.features import (
    FEATURES,
    source_columns,
    sql_expression,
    transform_frame,
)
from python_tasks.clustering.fit import build_model, fit_sample, load_sample
from python_tasks.clustering.score import score_customers
from python_tasks.clustering.profiles import BORROWING, DIGITAL, DORMANT, WEALTHY

pytestmark = pytest.mark.integration

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def admin_dsn() -> str:
    # Read at fixture time, not import time: the shared conftest may set it during configure.
    return os.environ.get("CRM_TEST_PG_ADMIN_DSN") or DEFAULT_ADMIN_DSN


D1 = date(2024, 6, 30)
N_PER_GROUP = 750
GROUPS = ("wealthy", "digital", "borrowing", "dormant")

MART_DDL = """
create schema if not exists marts;
create table marts.mart_customer_features (
    feature_date date not null,
    customer_id text not null,
    deposit_balance numeric(18, 2),
    loan_balance numeric(18, 2),
    profit_90d numeric(18, 2),
    txn_count_90d integer,
    digital_share_90d numeric(6, 4),
    branch_share_90d numeric(6, 4),
    pos_share_90d numeric(6, 4),
    age_years integer,
    product_count integer,
    rm_contacts_90d integer,
    tenure_days integer,
    days_since_last_txn integer,
    primary key (feature_date, customer_id)
);
"""


def synthetic_customers(seed: int = 0) -> pd.DataFrame:
    """~3000 customers from four well-separated behaviour groups (group kept for checks)."""
    rng = np.random.default_rng(seed)
    n = N_PER_GROUP
    parts = []
    for g in GROUPS:
        if g == "wealthy":
            cols = dict(
                deposit_balance=rng.lognormal(np.log(2.5e6), 0.4, n),
                loan_balance=np.zeros(n),
                profit_90d=rng.lognormal(np.log(6e3), 0.4, n),
                txn_count_90d=rng.poisson(25, n),
                digital_share_90d=rng.beta(5, 5, n),
                branch_share_90d=rng.beta(2, 8, n),
                pos_share_90d=rng.beta(1, 9, n),
                age_years=rng.integers(35, 70, n),
                product_count=rng.integers(5, 9, n),
                rm_contacts_90d=rng.poisson(3, n),
                tenure_days=rng.integers(1800, 9000, n),
                days_since_last_txn=rng.integers(0, 10, n).astype(float),
            )
        elif g == "digital":
            cols = dict(
                deposit_balance=rng.lognormal(np.log(3e4), 0.5, n),
                loan_balance=np.zeros(n),
                profit_90d=rng.lognormal(np.log(400), 0.5, n),
                txn_count_90d=rng.poisson(150, n),
                digital_share_90d=rng.beta(18, 2, n),
                branch_share_90d=rng.beta(1, 60, n),
                pos_share_90d=rng.beta(2, 18, n),
                age_years=rng.integers(20, 32, n),
                product_count=rng.integers(2, 4, n),
                rm_contacts_90d=np.zeros(n, dtype=int),
                tenure_days=rng.integers(360, 1800, n),
                days_since_last_txn=rng.integers(0, 3, n).astype(float),
            )
        elif g == "borrowing":
            cols = dict(
                deposit_balance=rng.lognormal(np.log(1.5e4), 0.5, n),
                loan_balance=rng.lognormal(np.log(8e5), 0.4, n),
                profit_90d=rng.lognormal(np.log(2200), 0.4, n),
                txn_count_90d=rng.poisson(60, n),
                digital_share_90d=rng.beta(5, 5, n),
                branch_share_90d=rng.beta(1, 9, n),
                pos_share_90d=rng.beta(3, 7, n),
                age_years=rng.integers(30, 50, n),
                product_count=rng.integers(3, 6, n),
                rm_contacts_90d=np.zeros(n, dtype=int),
                tenure_days=rng.integers(720, 5400, n),
                days_since_last_txn=rng.integers(0, 7, n).astype(float),
            )
        else:
            recency = rng.integers(200, 2000, n).astype(float)
            recency[rng.random(n) < 0.2] = np.nan  # never transacted
            cols = dict(
                deposit_balance=rng.lognormal(np.log(300), 1.0, n),
                loan_balance=np.zeros(n),
                profit_90d=-rng.lognormal(np.log(10), 0.5, n),
                txn_count_90d=(rng.random(n) < 0.1).astype(int),
                digital_share_90d=rng.beta(1, 20, n),
                branch_share_90d=rng.beta(1, 20, n),
                pos_share_90d=rng.beta(1, 20, n),
                age_years=rng.integers(55, 75, n),
                product_count=np.ones(n, dtype=int),
                rm_contacts_90d=np.zeros(n, dtype=int),
                tenure_days=rng.integers(1080, 7200, n),
                days_since_last_txn=recency,
            )
        part = pd.DataFrame(cols)
        part["group"] = g
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    # Shuffle ids against groups so no ordering leaks into sampling.
    frame["customer_id"] = [f"C{i:07d}" for i in rng.permutation(len(frame))]
    return frame


def jittered(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same customers a few days later: small multiplicative noise on money and counts."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for col in ("deposit_balance", "loan_balance", "profit_90d"):
        out[col] = out[col] * rng.lognormal(0, 0.05, len(out))
    out["txn_count_90d"] = np.maximum(0, out["txn_count_90d"] + rng.integers(-2, 3, len(out)))
    return out


def load_mart(dsn: str, as_of: date, frame: pd.DataFrame) -> None:
    cols = [c for c in frame.columns if c != "group"]
    with psycopg.connect(dsn) as conn:
        conn.execute("delete from marts.mart_customer_features where feature_date = %s", (as_of,))
        with conn.cursor().copy(
            sql.SQL("copy marts.mart_customer_features (feature_date, {}) from stdin").format(
                sql.SQL(", ").join(map(sql.Identifier, cols))
            )
        ) as copy:
            for rec in frame[cols].itertuples(index=False):
                copy.write_row((as_of, *[_cell(c, v) for c, v in zip(cols, rec)]))


INT_COLUMNS = {"txn_count_90d", "age_years", "product_count", "rm_contacts_90d", "tenure_days",
               "days_since_last_txn"}


def _cell(column: str, value: object) -> object:
    """NaN/None to NULL; integer columns as int (numpy and float values come from pandas)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if column in INT_COLUMNS:
        return int(value)  # type: ignore[call-overload]
    if isinstance(value, np.generic):
        return value.item()
    return value


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    name = f"clustertest_{secrets.token_hex(4)}"
    admin_conninfo = admin_dsn()
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    parts = conninfo_to_dict(admin_conninfo)
    parts["dbname"] = name
    test_dsn = make_conninfo(**parts)
    try:
        with psycopg.connect(test_dsn) as conn:
            conn.execute(MART_DDL)
        yield test_dsn
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as admin:
            admin.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return synthetic_customers()


@pytest.fixture()
def db(dsn: str, customers: pd.DataFrame) -> str:
    """Each test starts with no models and only D1 in the mart."""
    with psycopg.connect(dsn) as conn:
        conn.execute("drop schema if exists ml cascade")
        conn.execute("truncate marts.mart_customer_features")
    load_mart(dsn, D1, customers)
    return dsn


def assignments(dsn: str, as_of: date) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select customer_id, model_id, cluster_id, distance from ml.customer_clusters "
            "where as_of_date = %s order by customer_id",
            (as_of,),
        ).fetchall()
    return pd.DataFrame(rows, columns=["customer_id", "model_id", "cluster_id", "distance"])


def same_cluster_share(a: pd.DataFrame, b: pd.DataFrame) -> float:
    merged = a.merge(b, on="customer_id")
    return float((merged["cluster_id_x"] == merged["cluster_id_y"]).mean())


def test_first_run_scores_everyone_once_and_names_the_groups(db: str, customers, caplog) -> None:
    caplog.set_level(logging.INFO, logger="python_tasks.clustering")
    result = run_clustering(db, D1)
    assert result["refitted"] is True
    assert 3 <= result["k"] <= 8 and result["k"] == 4  # four planted groups
    assert set(result["selection"]) == {str(k) for k in range(3, 9)}
    assert all({"silhouette", "inertia"} <= set(v) for v in result["selection"].values())
    assert result["silhouette"] == max(v["silhouette"] for v in result["selection"].values())
    assert result["scored"] == len(customers)

    with psycopg.connect(db) as conn:
        total, distinct_ids = conn.execute(
            "select count(*), count(distinct customer_id) from ml.customer_clusters "
            "where as_of_date = %s", (D1,)
        ).fetchone()
        assert total == distinct_ids == len(customers)
        model = conn.execute("select k, sample_size, sklearn_version, algorithm "
                             "from ml.cluster_models").fetchall()
        assert len(model) == 1 and model[0][0] == 4 and model[0][1] == len(customers)
        profiles = conn.execute(
            "select cluster_id, customers, share, label, standard_offer from ml.cluster_profiles "
            "where as_of_date = %s order by cluster_id", (D1,)
        ).fetchall()
    assert sum(p[1] for p in profiles) == len(customers)
    assert abs(sum(p[2] for p in profiles) - 1.0) < 1e-9
    assert {p[3] for p in profiles} == {WEALTHY, DIGITAL, BORROWING, DORMANT}
    assert [c["cluster_id"] for c in result["clusters"]] == [p[0] for p in profiles]
    assert all(c["standard_offer"] for c in result["clusters"])

    # Each planted group falls (almost) entirely into one cluster.
    got = assignments(db, D1).merge(customers[["customer_id", "group"]], on="customer_id")
    purity = got.groupby("group")["cluster_id"].agg(lambda s: s.value_counts().iloc[0] / len(s))
    assert (purity > 0.98).all()
    assert any("scored" in r.getMessage() for r in caplog.records)


def test_rerun_of_a_date_replaces_it_identically(db: str, customers) -> None:
    first = run_clustering(db, D1)
    before = assignments(db, D1)
    second = run_clustering(db, D1)
    after = assignments(db, D1)
    assert second["refitted"] is False and second["model_id"] == first["model_id"]
    assert len(after) == len(customers)
    pd.testing.assert_frame_equal(before, after)
    with psycopg.connect(db) as conn:
        assert conn.execute("select count(*) from ml.cluster_profiles").fetchone()[0] == first["k"]
        assert conn.execute("select count(*) from ml.cluster_models").fetchone()[0] == 1


def test_date_within_refit_window_reuses_model_and_ids(db: str, customers) -> None:
    first = run_clustering(db, D1)
    d2 = D1 + timedelta(days=3)
    load_mart(db, d2, jittered(customers, seed=1))
    second = run_clustering(db, d2)
    assert second["refitted"] is False
    assert second["model_id"] == first["model_id"]
    assert second["scored"] == len(customers)
    assert same_cluster_share(assignments(db, D1), assignments(db, d2)) >= 0.95
    assert {c["label"] for c in second["clusters"]} == {c["label"] for c in first["clusters"]}


def test_forced_refit_keeps_cluster_ids(db: str, customers) -> None:
    first = run_clustering(db, D1)
    d3 = D1 + timedelta(days=30)
    load_mart(db, d3, customers)
    # Another seed draws another sample and another KMeans init, so the raw cluster order
    # differs; the stored ids must not.
    third = run_clustering(db, d3, seed=7)
    assert third["refitted"] is True and third["model_id"] != first["model_id"]
    assert same_cluster_share(assignments(db, D1), assignments(db, d3)) >= 0.95
    first_labels = {c["cluster_id"]: c["label"] for c in first["clusters"]}
    third_labels = {c["cluster_id"]: c["label"] for c in third["clusters"]}
    assert first_labels == third_labels

    # Re-running the old date later still uses the model that was current then.
    again = run_clustering(db, D1)
    assert again["refitted"] is False and again["model_id"] == first["model_id"]


def test_pinned_k_refits_and_new_cluster_gets_fresh_id(db: str) -> None:
    first = run_clustering(db, D1)
    d2 = D1 + timedelta(days=1)
    with psycopg.connect(db) as conn:
        conn.execute(
            "insert into marts.mart_customer_features select %s, customer_id, deposit_balance, "
            "loan_balance, profit_90d, txn_count_90d, digital_share_90d, branch_share_90d, "
            "pos_share_90d, age_years, product_count, rm_contacts_90d, tenure_days, "
            "days_since_last_txn from marts.mart_customer_features where feature_date = %s", (d2, D1),
        )
    pinned = run_clustering(db, d2, k=5)
    assert pinned["refitted"] is True and pinned["k"] == 5
    old_ids = {c["cluster_id"] for c in first["clusters"]}
    new_ids = {c["cluster_id"] for c in pinned["clusters"]}
    # All five ids are used here; the old ones survive and the split-off one is fresh.
    assert len(new_ids) == 5 and old_ids <= new_ids and (new_ids - old_ids) == {max(old_ids) + 1}
    assert same_cluster_share(assignments(db, D1), assignments(db, d2)) >= 0.7
    # Same k pinned again inside the window: no refit.
    assert run_clustering(db, d2, k=5)["refitted"] is False


def test_sql_scoring_equals_sklearn_predict(db: str, customers) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        store.ensure_schema(conn)
        # Fit on a sample so that scoring covers customers the model never saw.
        sample = load_sample(conn, D1, sample_size=1000, seed=3)
        fit = fit_sample(sample, k=6, k_range=[], seed=3)
        model = build_model(fit, D1, cluster_ids=[10, 11, 12, 13, 14, 15])
        with conn.transaction():
            store.save_model(conn, model)
            scored = score_customers(conn, model, D1)
        all_rows = load_sample(conn, D1, sample_size=10**9, seed=0)
    assert scored == len(customers)
    z = fit.scaler.transform(transform_frame(all_rows))
    expected = pd.DataFrame(
        {
            "customer_id": all_rows["customer_id"],
            "cluster_id": np.asarray(model.cluster_ids)[fit.kmeans.predict(z)],
            "distance": ((z - fit.kmeans.cluster_centers_[fit.kmeans.predict(z)]) ** 2).sum(1),
        }
    )
    got = assignments(db, D1).merge(expected, on="customer_id", suffixes=("_sql", "_sk"))
    assert len(got) == len(customers)
    assert (got["cluster_id_sql"] == got["cluster_id_sk"]).all()
    np.testing.assert_allclose(got["distance_sql"], got["distance_sk"], rtol=1e-9, atol=1e-9)


def test_sql_transforms_equal_numpy_transforms(db: str) -> None:
    edge = pd.DataFrame(
        {
            "customer_id": ["E1", "E2", "E3"],
            "deposit_balance": [None, -5.5, 123456789012.34],
            "loan_balance": [0.0, None, 1.0],
            "txn_count_90d": [None, -1, 10_000],
            "digital_share_90d": [1.5, None, 0.3333],
            "branch_share_90d": [None, -0.5, 0.25],
            "pos_share_90d": [0.0, 2.0, None],
            "age_years": [None, 5, 140],
            "product_count": [None, 99, 0],
            "rm_contacts_90d": [None, -3, 99_999],
        }
    )
    load_mart(db, D1 + timedelta(days=99), edge.astype(object).where(edge.notna(), None))
    with psycopg.connect(db) as conn:
        query = sql.SQL(
            "select customer_id, {raw}, {feats} from marts.mart_customer_features m "
            "where feature_date >= %s order by customer_id"
        ).format(
            raw=sql.SQL(", ").join(
                sql.SQL("m.{}::float8").format(sql.Identifier(c)) for c in source_columns(FEATURES)
            ),
            feats=sql.SQL(", ").join(sql_expression(f, "m") for f in FEATURES),
        )
        rows = conn.execute(query, (D1,)).fetchall()
    n_raw = len(source_columns(FEATURES))
    raw = pd.DataFrame([r[1 : 1 + n_raw] for r in rows], columns=source_columns(FEATURES))
    from_sql = np.array([r[1 + n_raw :] for r in rows], dtype=np.float64)
    np.testing.assert_allclose(from_sql, transform_frame(raw), rtol=1e-12, atol=1e-12)


def test_missing_date_is_an_error(db: str) -> None:
    with pytest.raises(ValueError, match="no rows"):
        run_clustering(db, D1 - timedelta(days=1))
