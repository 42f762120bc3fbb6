"""The point-in-time feature table through the real loaders and the real `dbt build`.

A small synthetic bank with seven months of history is built for D-1 (a full build: D-1 and the
history date D-31), then for D (a daily run: D only). Before loading, a transaction is planted in
the core system dated D-40 but recorded D-20: it must not reach D-31's features (the bank did
not know it then), and must reach D-1's and D's.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import psycopg
import pytest

from python_tasks.access import ensure_roles
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.landing import load_landing
from python_tasks.ingest.landing_history import load_landing_history
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.transform.dbt_build import run_dbt
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
SPEC = GenerationSpec(customers=150, days=215, seed=5, end_date=D)
HISTORY_DATE = D - timedelta(days=31)  # D-1 minus the 30-day interval
EVENT_DAY = D - timedelta(days=40)  # inside HISTORY_DATE's 30-day window
RECORDED_DAY = D - timedelta(days=20)  # after HISTORY_DATE, before D-1
PLANTED_AMOUNT = 77_777.77


def _features(dsn: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("select * from marts.mart_customer_features order by feature_date, customer_id")
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def _quiet_customer(source: str) -> str:
    """A customer onboarded long ago without a transaction in HISTORY_DATE's 30-day window."""
    with psycopg.connect(source) as conn:
        return conn.execute(
            "select c.customer_id from core.customers c where c.status = 'active' and c.onboarded_on < %s "
            "and exists (select 1 from core.accounts a where a.customer_id = c.customer_id and a.closed_on is null) "
            "and not exists (select 1 from core.transactions t where t.customer_id = c.customer_id "
            "    and t.txn_ts >= %s::date - 29 and t.txn_ts < %s::date + 1) "
            "order by c.customer_id limit 1",
            (HISTORY_DATE - timedelta(days=100), HISTORY_DATE, HISTORY_DATE),
        ).fetchone()[0]


def _plant_late_transaction(source: str, customer_id: str) -> None:
    with psycopg.connect(source) as conn:
        conn.execute(
            "insert into core.transactions (txn_id, account_id, customer_id, txn_ts, amount_cny, txn_type, "
            "channel, fee_cny, updated_at) "
            "select 'LATE-1', account_id, customer_id, (%s::date + time '10:00') at time zone 'Asia/Shanghai', "
            "%s, 'transfer_out', 'branch', 0, (%s::date + time '12:00') at time zone 'Asia/Shanghai' "
            "from core.accounts where customer_id = %s and product_code like 'CUR%%' limit 1",
            (EVENT_DAY, -PLANTED_AMOUNT, RECORDED_DAY, customer_id),
        )


@pytest.fixture(scope="module")
def built(pg_admin_dsn, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    warehouse = create_database(pg_admin_dsn, "features_wh")
    source = create_database(pg_admin_dsn, "features_src")
    try:
        generate(source, landing, SPEC)
        customer_id = _quiet_customer(source)
        _plant_late_transaction(source, customer_id)
        ensure_roles(warehouse)
        history_dates = load_landing_history(warehouse, landing, D - timedelta(days=1), "test-history")
        assert history_dates == SPEC.days - 2
        states = {}
        for day in (D - timedelta(days=1), D):
            load_corebank(source, warehouse, day, f"test-{day}")
            load_landing(warehouse, landing, day, f"test-{day}")
            # The feature table and what it reads (cautious: not the other marts' tests).
            run_dbt(warehouse, ["build", "--select", "+mart_customer_features", "--indirect-selection", "cautious"],
                    as_of_date=day)
            states[day] = _features(warehouse)
        yield customer_id, states
    finally:
        drop_database(pg_admin_dsn, warehouse)
        drop_database(pg_admin_dsn, source)


def _row(frame: pd.DataFrame, day: date, customer_id: str) -> pd.Series:
    rows = frame[(frame.feature_date == day) & (frame.customer_id == customer_id)]
    assert len(rows) == 1, f"expected one row for {customer_id} on {day}, found {len(rows)}"
    return rows.iloc[0]


def test_full_build_makes_the_history_dates(built):
    _, states = built
    assert sorted(states[D - timedelta(days=1)].feature_date.unique()) == [HISTORY_DATE, D - timedelta(days=1)]


def test_late_transaction_stays_out_of_the_date_before_it_was_recorded(built):
    customer_id, states = built
    before = _row(states[D - timedelta(days=1)], HISTORY_DATE, customer_id)
    assert before.txn_count_30d == 0 and before.txn_amount_30d == 0
    assert float(before.txn_amount_90d) < PLANTED_AMOUNT


def test_late_transaction_appears_once_recorded(built):
    customer_id, states = built
    for frame in states.values():
        after = _row(frame, D - timedelta(days=1), customer_id)
        assert after.txn_count_90d >= 1
        assert float(after.txn_amount_90d) >= PLANTED_AMOUNT
        assert after.days_since_last_txn <= (D - timedelta(days=1) - EVENT_DAY).days


def test_channel_history_reaches_the_history_dates(built):
    _, states = built
    history = states[D][states[D].feature_date == HISTORY_DATE]
    assert history.contacts_90d.sum() > 0
    assert history.campaign_responses_180d.sum() > 0


def test_daily_run_adds_the_build_date_and_keeps_history(built):
    _, states = built
    prev, today = states[D - timedelta(days=1)], states[D]
    assert sorted(today.feature_date.unique()) == [HISTORY_DATE, D - timedelta(days=1), D]
    kept = today[today.feature_date < D].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, prev.reset_index(drop=True))
    assert len(today[today.feature_date == D]) > 100
    assert not today.duplicated(["feature_date", "customer_id"]).any()
