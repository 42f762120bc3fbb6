"""The customer value marts, recomputed independently.

A small synthetic bank goes through the real loaders and the real `dbt build`, for the day before
the last date (D-1) twice (the first, full build and its re-run), then the last date (D), then D
again (a re-run). Each customer's AUM, profit
contribution and tier and the top-20% profit share are then recomputed here in Python (pandas and
Decimal, straight from the raw tables and the policy seeds; no dbt SQL reused) and must match the
marts to the cent. The same run checks the incremental facts (late rows upserted, no duplicates),
tier history and movements, RM assignment, identity resolution, erasure in history and masked PII.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, getcontext

import pandas as pd
import psycopg
import pytest

from python_tasks.access import ensure_roles
from python_tasks.config import DBT_PROJECT_DIR
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.landing import load_landing
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.transform.dbt_build import DbtBuildFailed, build, run_dbt
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
D_PREV = D - timedelta(days=1)
SPEC = GenerationSpec(customers=300, days=20, seed=23, end_date=D)
ACTIVITY_WINDOW_DAYS = 90  # dbt var activity_window_days
AUM_WINDOW_DAYS = 30  # dbt var aum_window_days
POLICY_VERSION = "2026.1"
CENT = Decimal("0.01")
getcontext().prec = 50


def q2(x: Decimal) -> Decimal:
    """Postgres round(numeric, 2) and ::numeric(18,2): half away from zero."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def frame(dsn: str, query: str, *params) -> pd.DataFrame:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def scalar(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


@dataclass
class Bank:
    warehouse: str
    source: str
    after_prev: dict  # state after building D-1
    after_d: dict  # state after the first build of D
    after_rerun: dict  # state after re-running D
    first_build_rerun_diff: dict  # per table: rows the re-run of the first build changed
    late_customer: str  # whose transaction of LATE_DAY arrives with D's batch


def _state(dsn: str) -> dict:
    return {
        "fct_transactions": frame(dsn, "select * from marts.fct_transactions order by txn_id"),
        "fct_daily_balances_rows": scalar(dsn, "select count(*) from marts.fct_daily_balances"),
        "history": frame(dsn, "select customer_id, valid_from, valid_to, tier_code, tier_rank, reason_codes, "
                              "relationship_manager_id from marts.mart_customer_tier_history order by 1, 2"),
        "tiers": frame(dsn, "select customer_id, tier_code, tier_rank, reason_codes, relationship_manager_id "
                            "from marts.mart_customer_tier order by 1"),
        "movements": frame(dsn, "select * from marts.mart_tier_movements order by as_of_date, customer_id"),
        "rm_book": frame(dsn, "select * from marts.mart_rm_book order by as_of_date, customer_id"),
    }


# Columns that say when a row was written, not what it holds.
_WRITE_TIME_COLUMNS = ("_loaded_at", "dbt_updated_at", "_built_at")


def _copy_built_tables(dsn: str) -> list[tuple[str, str]]:
    """Copy every table dbt built into schema `before`; returns (schema, table) of each."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.tables "
                              "where table_schema in ('int', 'marts', 'snapshots') and table_type = 'BASE TABLE' "
                              "order by 1, 2").fetchall()
        conn.execute("create schema before")
        for schema, table in tables:
            conn.execute(f'create table before."{schema}__{table}" as select * from {schema}."{table}"')
    return tables


def _changed_rows(dsn: str, tables: list[tuple[str, str]]) -> dict[str, int]:
    """Rows in either the copy or the table but not both (as multisets), per table."""
    changed = {}
    with psycopg.connect(dsn) as conn:
        for schema, table in tables:
            columns = ", ".join(f'"{c}"' for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "and column_name <> all(%s) order by ordinal_position", (schema, table, list(_WRITE_TIME_COLUMNS))))
            now, before = f'{schema}."{table}"', f'before."{schema}__{table}"'
            changed[f"{schema}.{table}"] = conn.execute(
                f"select (select count(*) from (select {columns} from {now} except all "
                f"select {columns} from {before}) a) + (select count(*) from (select {columns} from {before} "
                f"except all select {columns} from {now}) b)").fetchone()[0]
        conn.execute("drop schema before cascade")
        conn.commit()
    return changed


def _load_and_build(source: str, warehouse: str, landing, day: date) -> None:
    load_corebank(source, warehouse, day, f"test-{day}")
    load_landing(warehouse, landing, day, f"test-{day}")
    build(warehouse, day)


#: The customer whose profile the core system changes on D (the synthetic bank changes about
#: one profile in 400 a day, so 300 customers over two days may show none).
CHANGED_CUSTOMER = "C10000007"


def _change_a_profile(source: str, day: date) -> None:
    with psycopg.connect(source) as conn:
        conn.execute("update core.customers set occupation = 'changed on D', "
                     "updated_at = (%s::date + time '12:00') at time zone 'Asia/Shanghai' where customer_id = %s",
                     (day, CHANGED_CUSTOMER))


#: A transaction dated this day arrives with D's batch: before the split of the trend's halves
#: (the window's first day + 10 of 20 days observed), so the D build corrects a day that the
#: earlier half's bound reads.
LATE_DAY = D - timedelta(days=15)


def _plant_a_late_transaction(source: str, day: date) -> str:
    """A copy of a customer's transaction of an earlier day, dated LATE_DAY, updated on ``day``."""
    with psycopg.connect(source) as conn:
        customer_id = conn.execute(
            "select customer_id from core.transactions where txn_ts < %s::date order by txn_id limit 1",
            (LATE_DAY,)).fetchone()[0]
        conn.execute(
            "insert into core.transactions (txn_id, account_id, customer_id, txn_ts, amount_cny, txn_type, channel, "
            "fee_cny, updated_at) "
            "select 'LATE-' || txn_id, account_id, customer_id, "
            "(%s::date + time '10:00') at time zone 'Asia/Shanghai', "
            "amount_cny, txn_type, channel, fee_cny, (%s::date + time '12:00') at time zone 'Asia/Shanghai' "
            "from core.transactions where customer_id = %s order by txn_id limit 1",
            (LATE_DAY, day, customer_id))
    return customer_id


@pytest.fixture(scope="module")
def bank(pg_admin_dsn, tmp_path_factory) -> Bank:
    landing = tmp_path_factory.mktemp("landing")
    warehouse = create_database(pg_admin_dsn, "marts_wh")
    source = create_database(pg_admin_dsn, "marts_src")
    try:
        generate(source, landing, SPEC)
        ensure_roles(warehouse)
        _load_and_build(source, warehouse, landing, D_PREV)
        # The first build is a full one; its re-run is the first incremental run, and every stored
        # day is then "late" (all history arrived in the one batch).
        built = _copy_built_tables(warehouse)
        _load_and_build(source, warehouse, landing, D_PREV)
        first_build_rerun_diff = _changed_rows(warehouse, built)
        after_prev = _state(warehouse)
        _change_a_profile(source, D)
        late_customer = _plant_a_late_transaction(source, D)
        _load_and_build(source, warehouse, landing, D)
        after_d = _state(warehouse)
        _load_and_build(source, warehouse, landing, D)  # a re-run of the same date
        after_rerun = _state(warehouse)
        yield Bank(warehouse, source, after_prev, after_d, after_rerun, first_build_rerun_diff, late_customer)
    finally:
        drop_database(pg_admin_dsn, warehouse)
        drop_database(pg_admin_dsn, source)


# ---- the independent recompute --------------------------------------------------------------


def latest(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Newest version per key: raw is append-only, one batch per logical date."""
    df = df.sort_values([*key, "updated_at", "_loaded_at"], ascending=[True] * len(key) + [False, False])
    return df.drop_duplicates(key, keep="first")


def q4(x: Decimal) -> Decimal:
    """::numeric(10,4): half away from zero."""
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def dsum(s: pd.Series) -> Decimal:
    return sum(s, Decimal(0))


def seed(name: str) -> pd.DataFrame:
    return pd.read_csv(DBT_PROJECT_DIR / "seeds" / f"{name}.csv", dtype=str)


@pytest.fixture(scope="module")
def expected(bank: Bank) -> pd.DataFrame:
    return recompute(bank.warehouse)


def recompute(wh: str) -> pd.DataFrame:
    """AUM, profit contribution, predicted profit and tier per live customer, as of D."""
    customers = latest(frame(wh, "select customer_id, resident_id, is_deleted, updated_at, _loaded_at "
                                 "from raw.corebank__customers where _logical_date <= %s", D), ["customer_id"])
    live = customers.loc[~customers.is_deleted, ["customer_id"]]
    # The same resident ID is the same person: the tier rules read the person's totals.
    person_of = {r.customer_id: (r.resident_id or r.customer_id) for r in customers.itertuples()}
    accounts = latest(frame(wh, "select account_id, customer_id, product_code, updated_at, _loaded_at "
                                "from raw.corebank__accounts where _logical_date <= %s", D), ["account_id"])
    products = latest(frame(wh, "select product_code, product_type, customer_rate, updated_at, _loaded_at "
                                "from raw.corebank__products where _logical_date <= %s", D), ["product_code"])
    balances = latest(frame(wh, "select account_id, balance_date, balance_cny, updated_at, _loaded_at "
                                "from raw.corebank__daily_balances where _logical_date <= %s", D),
                      ["account_id", "balance_date"])
    txns = latest(frame(wh, "select txn_id, customer_id, txn_ts, fee_cny, channel, updated_at, _loaded_at "
                            "from raw.corebank__transactions where _logical_date <= %s", D), ["txn_id"])

    economics = seed("product_economics")
    for c in ("ftp_rate", "wealth_fee_rate", "annual_account_cost_cny"):
        economics[c] = economics[c].map(Decimal)
    channels = seed("channel_costs")
    channels["cost_per_txn_cny"] = channels["cost_per_txn_cny"].map(Decimal)
    policy = seed("tier_policy_parameters")
    policy = {r.parameter: Decimal(r.value) for r in policy[policy.policy_version == POLICY_VERSION].itertuples()}
    value_params = {r.parameter: Decimal(r.value) for r in seed("value_model_parameters").itertuples()}

    window_start = D - timedelta(days=ACTIVITY_WINDOW_DAYS)  # exclusive
    days = balances[(balances.balance_date > window_start) & (balances.balance_date <= D)]
    days = (days.merge(accounts[["account_id", "customer_id", "product_code"]], on="account_id")
                .merge(products[["product_code", "product_type", "customer_rate"]], on="product_code")
                .merge(economics, on="product_type")
                .merge(live, on="customer_id"))

    def annual_margin(r) -> Decimal:
        """What the day's balance earns in a year; exact in Decimal (no division yet)."""
        if r.balance_side == "deposit":
            return r.balance_cny * (r.ftp_rate - r.customer_rate)
        if r.balance_side == "loan":
            return r.balance_cny * (r.customer_rate - r.ftp_rate)
        return r.balance_cny * r.wealth_fee_rate

    days["margin"] = days.apply(annual_margin, axis=1)
    days["account_cost"] = days.annual_account_cost_cny
    days["aum_part"] = days.balance_cny.where(days.balance_side.isin(["deposit", "wealth"]), Decimal(0))
    days_observed = days.balance_date.nunique()
    first_day = days.balance_date.min()

    per_day = days.groupby(["customer_id", "balance_date"]).aum_part.agg(dsum).reset_index()
    aum_days = per_day[per_day.balance_date > D - timedelta(days=AUM_WINDOW_DAYS)]
    aum = (aum_days.groupby("customer_id").aum_part.agg(dsum)
           / Decimal(min(AUM_WINDOW_DAYS, days_observed))).map(q2)

    # Trend: recent half of the observed window over the earlier half (for predicted profit).
    split = first_day + timedelta(days=days_observed // 2)
    recent = per_day[per_day.balance_date > split].groupby("customer_id").aum_part.agg(
        lambda s: float(dsum(s)) / len(s))
    earlier = per_day[per_day.balance_date <= split].groupby("customer_id").aum_part.agg(
        lambda s: float(dsum(s)) / len(s))
    span = max(days_observed / 2.0, 1.0)

    txns["txn_date"] = txns.txn_ts.map(lambda ts: pd.Timestamp(ts).tz_convert("Asia/Shanghai").date())
    window_txns = txns[(txns.txn_date > window_start) & (txns.txn_date <= D)].merge(channels, on="channel")
    fees = window_txns.groupby("customer_id").fee_cny.agg(dsum)
    channel_cost = window_txns.groupby("customer_id").cost_per_txn_cny.agg(dsum)

    sides = days.groupby(["customer_id", "balance_side"]).margin.agg(dsum).unstack(fill_value=Decimal(0))
    account_cost = days.groupby("customer_id").account_cost.agg(dsum)
    n_days = Decimal(days_observed)

    rows = []
    for cid in sorted(live.customer_id):
        a = aum.get(cid, Decimal("0.00"))
        if cid in account_cost.index:
            interest = sides.loc[cid].get("deposit", Decimal(0)) + sides.loc[cid].get("loan", Decimal(0))
            wealth = sides.loc[cid].get("wealth", Decimal(0))
            # Annualised over the days observed: sum of (daily balance x annual rate) / days, and
            # window fees and costs x 365 / days. Each part is rounded to the cent, as reported.
            margin_y = q2(interest / n_days)
            fee_y = q2((wealth + fees.get(cid, Decimal(0)) * 365) / n_days)
            cost_y = q2((account_cost[cid] + channel_cost.get(cid, Decimal(0)) * 365) / n_days)
            profit = margin_y + fee_y - cost_y
        else:
            profit = Decimal("0.00")
        growth = 0.0
        if cid in recent.index and cid in earlier.index and earlier[cid] != 0:
            trend = recent[cid] / earlier[cid] - 1
            growth = min(3.0, max(-1.0, (1 + max(trend, -0.99)) ** (365.0 / span) - 1))
        predicted = q2(profit + a * Decimal(str(float(growth))) * value_params["projection_margin_rate"])
        rows.append({"customer_id": cid, "person": person_of[cid], "aum_cny": a, "profit_contribution_cny": profit,
                     "predicted_annual_profit_cny": predicted})
    valued = pd.DataFrame(rows)
    totals = valued.groupby("person")[["aum_cny", "profit_contribution_cny", "predicted_annual_profit_cny"]].agg(dsum)

    def tier_of(t) -> str:
        a, profit, predicted = t.aum_cny, t.profit_contribution_cny, t.predicted_annual_profit_cny
        if a >= policy["gold_min_aum_cny"] or profit >= policy["gold_min_annual_profit_cny"]:
            return "gold"
        if profit >= policy["profit_min_annual_profit_cny"]:
            return "profit"
        if (predicted >= policy["potential_min_predicted_profit_cny"]
                and predicted >= policy["potential_min_uplift_ratio"] * max(profit, Decimal(1))):
            return "potential"
        if profit < policy["unprofitable_max_annual_profit_cny"]:
            return "unprofitable"
        return "common"

    person_tier = {person: tier_of(t) for person, t in totals.iterrows()}
    valued["tier_code"] = valued.person.map(person_tier)
    valued["person_numbers"] = valued.person.map(valued.person.value_counts())
    rows = valued.drop(columns="person").to_dict("records")
    return pd.DataFrame(rows).set_index("customer_id")


# ---- value, tiers and Pareto ------------------------------------------------------------------


def test_every_live_customer_is_valued_once(bank, expected):
    marts = frame(bank.warehouse, "select customer_id from marts.mart_customer_value")
    assert sorted(marts.customer_id) == sorted(expected.index)
    assert len(expected) > 250


def test_aum_and_profit_match_an_independent_recompute_to_the_cent(bank, expected):
    marts = frame(bank.warehouse, "select customer_id, aum_cny, profit_contribution_cny "
                                  "from marts.mart_customer_value").set_index("customer_id")
    joined = expected.merge(marts, left_index=True, right_index=True, suffixes=("", "_mart"))
    bad_aum = joined[joined.aum_cny != joined.aum_cny_mart]
    bad_profit = joined[joined.profit_contribution_cny != joined.profit_contribution_cny_mart]
    assert bad_aum.empty, bad_aum[["aum_cny", "aum_cny_mart"]].head()
    assert bad_profit.empty, bad_profit[["profit_contribution_cny", "profit_contribution_cny_mart"]].head()
    # The recompute is not trivially zero: it has real money in it.
    assert (joined.aum_cny > 0).sum() > len(joined) / 2
    assert (joined.profit_contribution_cny < 0).any() and (joined.profit_contribution_cny > 0).any()


def test_tier_matches_an_independent_recompute(bank, expected):
    marts = frame(bank.warehouse, "select t.customer_id, t.tier_code, v.predicted_annual_profit_cny "
                                  "from marts.mart_customer_tier t join marts.mart_customer_value v "
                                  "using (customer_id)").set_index("customer_id")
    joined = expected.merge(marts, left_index=True, right_index=True, suffixes=("", "_mart"))
    drift = (joined.predicted_annual_profit_cny - joined.predicted_annual_profit_cny_mart).abs()
    assert drift.max() <= CENT, joined[drift > CENT].head()
    bad = joined[joined.tier_code != joined.tier_code_mart]
    assert bad.empty, bad.head()
    assert joined.tier_code.nunique() >= 3
    assert (joined.person_numbers > 1).sum() >= 2, "the sample must hold people with several numbers"


def test_a_person_is_graded_once_and_served_by_one_rm(bank):
    tiers = frame(bank.warehouse, "select person_id, tier_code, relationship_manager_id, person_numbers, "
                                  "reason_codes from marts.mart_customer_tier")
    per_person = tiers.groupby("person_id").agg(tiers_=("tier_code", "nunique"),
                                                rms=("relationship_manager_id", "nunique"), n=("tier_code", "size"))
    assert (per_person.tiers_ == 1).all()
    assert (per_person.rms <= 1).all()
    multi = tiers[tiers.person_numbers > 1]
    assert not multi.empty
    assert multi.reason_codes.str.contains("GRADED_AS_PERSON_OF_").all()


def test_top_20pct_profit_share_matches_an_independent_recompute(bank, expected):
    # Descending profit, ties by ascending customer_id (a stable two-pass sort).
    ranked = expected.reset_index().sort_values("customer_id").sort_values(
        "profit_contribution_cny", ascending=False, kind="stable")
    top_n = math.ceil(len(ranked) * 0.2)
    total = dsum(ranked.profit_contribution_cny)
    top = dsum(ranked.profit_contribution_cny.iloc[:top_n])
    summary = frame(bank.warehouse, "select * from marts.mart_pareto_summary").iloc[0]
    assert summary.customers == len(ranked)
    assert summary.total_profit_cny == total
    assert summary.top_20pct_profit_cny == top
    assert summary.top_20pct_profit_share == (top / total).quantize(Decimal("0.0001"), ROUND_HALF_UP)


# ---- incremental facts, history and movements ---------------------------------------------------


def test_next_date_upserts_late_transactions_without_duplicates(bank):
    wh = bank.warehouse
    late = frame(wh, "select txn_id from raw.corebank__transactions where _logical_date = %s "
                     "and (txn_ts at time zone 'Asia/Shanghai')::date < %s", D, D)
    assert not late.empty, "the synthetic bank delivers some transactions days late"
    facts = bank.after_d["fct_transactions"]
    assert facts.txn_id.is_unique
    assert set(late.txn_id) <= set(facts.txn_id)
    assert set(late.txn_id).isdisjoint(bank.after_prev["fct_transactions"].txn_id)
    # Everything the raw layer holds up to D is in the fact exactly once.
    assert len(facts) == scalar(wh, "select count(distinct txn_id) from raw.corebank__transactions")
    assert bank.after_d["fct_daily_balances_rows"] == scalar(
        wh, "select count(*) from (select distinct account_id, balance_date from raw.corebank__daily_balances) k")


def test_rerun_of_same_date_changes_nothing(bank):
    for name in ("history", "movements", "rm_book"):
        pd.testing.assert_frame_equal(bank.after_d[name], bank.after_rerun[name], obj=name)
    cols = ["txn_id", "amount_cny", "updated_at", "_logical_date"]
    pd.testing.assert_frame_equal(bank.after_d["fct_transactions"][cols],
                                  bank.after_rerun["fct_transactions"][cols])
    assert bank.after_d["fct_daily_balances_rows"] == bank.after_rerun["fct_daily_balances_rows"]


def test_rerun_of_the_first_full_build_changes_no_table(bank):
    assert len(bank.first_build_rerun_diff) > 15
    assert {t: n for t, n in bank.first_build_rerun_diff.items() if n} == {}


#: The per-day tables as a full rebuild holds them: a recomputed day left without a balance is kept
#: as a row of zeros (has_balance false), which adds nothing to any window.
PER_DAY_TABLES = {
    "int_customer_balance_days": "select * from int.int_customer_balance_days where has_balance "
                                 "order by customer_id, balance_date",
    "int_customer_txn_days": "select * from int.int_customer_txn_days order by customer_id, txn_date",
}


def _copy_of(bank: Bank, pg_admin_dsn: str, name: str) -> str:
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    copy = create_database(pg_admin_dsn, name)
    drop_database(pg_admin_dsn, copy)  # only the name: it is created as a copy below
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(conninfo_to_dict(copy)["dbname"]),
            sql.Identifier(conninfo_to_dict(bank.warehouse)["dbname"])))
    return copy


def test_incremental_models_equal_a_full_rebuild(bank, pg_admin_dsn):
    """The per-day tables, dim_customer and every value mart after D-1, D and a re-run of D (late
    transactions, a late-arriving account record, changed customer and contact records among
    them) hold exactly what a full rebuild of them as of D computes."""
    rebuilt = _copy_of(bank, pg_admin_dsn, "marts_full")
    queries = {
        **PER_DAY_TABLES,
        "dim_customer": "select * from marts.dim_customer order by customer_id",
        "mart_customer_value": "select * from marts.mart_customer_value order by customer_id",
        "mart_customer_tier": "select * from marts.mart_customer_tier order by customer_id",
        "mart_pareto": "select * from marts.mart_pareto order by customer_id",
    }
    try:
        run_dbt(rebuilt, ["run", "--full-refresh", "--select", "int_customer_txn_days", "int_customer_balance_days",
                          "dim_customer", "int_customer_windows+"], as_of_date=D)
        incremental = {name: frame(bank.warehouse, q).drop(columns=["_logical_date"], errors="ignore")
                       for name, q in queries.items()}
        full = {name: frame(rebuilt, q).drop(columns=["_logical_date"], errors="ignore")
                for name, q in queries.items()}
    finally:
        drop_database(pg_admin_dsn, rebuilt)
    assert len(incremental["int_customer_balance_days"]) > 1000
    assert len(incremental["int_customer_txn_days"]) > 1000
    assert len(incremental["dim_customer"]) > 100
    # The incremental runs did recompute stored days (else the comparison above proves nothing new).
    assert scalar(bank.warehouse, "select count(*) from int.int_customer_txn_days "
                                  "where _logical_date = %s and txn_date < %s", D, D) > 0
    for name in queries:
        pd.testing.assert_frame_equal(incremental[name], full[name], obj=name)


def test_a_late_account_record_values_its_earlier_balances(bank, pg_admin_dsn):
    """Balances of an account whose record had not arrived are left out; when the record arrives
    (in a later batch) the owner's stored days from the account's opening are valued with them,
    as a full rebuild values them."""
    copy = _copy_of(bank, pg_admin_dsn, "marts_late_account")
    days = ("select customer_id, balance_date, aum_day_cny, loan_day_cny, annual_account_cost_cny "
            "from int.int_customer_balance_days where customer_id = %s and has_balance order by balance_date")
    try:
        with psycopg.connect(copy, autocommit=True) as conn:
            account_id, customer_id = conn.execute(
                "select account_id, customer_id from stg.stg_corebank__accounts "
                "where opened_on < %s and closed_on is null order by account_id limit 1", (D_PREV,)).fetchone()
            full = frame(copy, days, customer_id)
            # As if the account's record had not arrived before D: its owner's days lack it ...
            conn.execute("update raw.corebank__accounts set _logical_date = %s where account_id = %s", (D, account_id))
            conn.execute("delete from stg.stg_corebank__accounts where account_id = %s", (account_id,))
        run_dbt(copy, ["run", "--full-refresh", "--select", "int_customer_balance_days"], as_of_date=D_PREV)
        without = frame(copy, days, customer_id)
        # ... until D's batch brings it.
        run_dbt(copy, ["run", "--select", "stg_corebank__accounts", "int_customer_balance_days"], as_of_date=D)
        late = frame(copy, days, customer_id)
    finally:
        drop_database(pg_admin_dsn, copy)
    assert len(full) > 5
    assert len(without) != len(full) or not without.equals(full), "the balances were left out without the record"
    pd.testing.assert_frame_equal(late, full)


def test_a_transaction_days_late_counts_in_its_half_of_the_window(bank):
    """The late transaction is counted on LATE_DAY (its customer-day recomputed with D's batch), and
    the value mart reads the earlier half of the window with it: activity decline recomputed here
    from the raw transactions."""
    wh, customer_id = bank.warehouse, bank.late_customer
    late_day = frame(wh, "select txn_count, _logical_date from int.int_customer_txn_days "
                         "where customer_id = %s and txn_date = %s", customer_id, LATE_DAY)
    assert len(late_day) == 1 and late_day._logical_date[0] == D

    txns = latest(frame(wh, "select txn_id, txn_ts, updated_at, _loaded_at from raw.corebank__transactions "
                            "where _logical_date <= %s and customer_id = %s", D, customer_id), ["txn_id"])
    txn_dates = txns.txn_ts.map(lambda ts: pd.Timestamp(ts).tz_convert("Asia/Shanghai").date())
    assert late_day.txn_count[0] == int((txn_dates == LATE_DAY).sum())
    first_day = scalar(wh, "select min(balance_date) from raw.corebank__daily_balances")
    split = first_day + timedelta(days=((D - first_day).days + 1) // 2)
    earlier = int(((txn_dates >= first_day) & (txn_dates <= split)).sum())
    recent = int(((txn_dates > split) & (txn_dates <= D)).sum())
    assert LATE_DAY <= split and earlier > 0
    decline = q4(1 - Decimal(recent) / Decimal(earlier))

    value = frame(wh, "select frequency_90d, activity_decline_pct from marts.mart_customer_value "
                      "where customer_id = %s", customer_id).iloc[0]
    assert (value.frequency_90d, value.activity_decline_pct) == (earlier + recent, decline)


def test_erased_customers_keep_no_stored_day(bank):
    """Erasure reaches the per-day history: an erased customer has no row in either table."""
    erased = [r for r in frame(bank.source, "select customer_id from core.customers where is_deleted").customer_id]
    assert erased
    for table in PER_DAY_TABLES:
        assert scalar(bank.warehouse, f"select count(*) from int.{table} where customer_id = any(%s)", erased) == 0


def _in_force(history: pd.DataFrame, day: date) -> pd.DataFrame:
    """The grade of every customer on `day`, read off the versions as a reader of the history would."""
    on = history[(history.valid_from <= day) & (history.valid_to.isna() | (history.valid_to > day))]
    return on.drop(columns=["valid_from", "valid_to"]).set_index("customer_id").sort_index()


def test_tier_history_gives_each_dates_grades_and_only_their_changes(bank):
    """The versions give back the tiers mart of D-1 on D-1 and of D on D, and D added a version
    only for customers whose grade changed (or who entered)."""
    history = bank.after_rerun["history"]
    assert not history.duplicated(["customer_id", "valid_from"]).any()
    assert not history[history.valid_to.isna()].customer_id.duplicated().any()
    for state, day in ((bank.after_prev, D_PREV), (bank.after_rerun, D)):
        pd.testing.assert_frame_equal(_in_force(history, day), state["tiers"].set_index("customer_id"),
                                      check_dtype=False, obj=str(day))
    prev = bank.after_prev["tiers"].set_index("customer_id")
    cur = bank.after_rerun["tiers"].set_index("customer_id")
    both = prev.index.intersection(cur.index)
    changed = {c for c in both if tuple(prev.loc[c].fillna("")) != tuple(cur.loc[c].fillna(""))}
    started = set(history[history.valid_from == D].customer_id)
    assert changed, "a day changes some customer's reasons or tier at this size"
    assert started == changed | set(cur.index.difference(prev.index))
    assert set(history[history.valid_to == D].customer_id) == changed | set(prev.index.difference(cur.index))
    assert len(history) < len(prev) + len(cur), "a day's unchanged grades are not written again"


def test_tier_history_refuses_an_earlier_date_and_rewinds(bank, pg_admin_dsn):
    """An earlier date than the history's latest change is refused with what to do; after the
    rewind it names, the dates from it on build again in order to the same history."""
    copy = _copy_of(bank, pg_admin_dsn, "marts_rewind")
    try:
        with pytest.raises(DbtBuildFailed, match="rewind_tier_history"):
            run_dbt(copy, ["run", "--select", "mart_customer_tier_history"], as_of_date=D_PREV)
        run_dbt(copy, ["run-operation", "rewind_tier_history", "--args", f"{{from_date: {D}}}"], as_of_date=D)
        rewound = frame(copy, "select customer_id, valid_from, valid_to, tier_code, tier_rank, reason_codes, "
                              "relationship_manager_id from marts.mart_customer_tier_history order by 1, 2")
        assert rewound.valid_from.max() < D and not (rewound.valid_to >= D).any()
        assert scalar(copy, "select count(*) from marts.mart_tier_movements where as_of_date >= %s", D) == 0
        run_dbt(copy, ["run", "--select", "mart_customer_tier_history", "mart_tier_movements"], as_of_date=D)
        again = frame(copy, "select customer_id, valid_from, valid_to, tier_code, tier_rank, reason_codes, "
                            "relationship_manager_id from marts.mart_customer_tier_history order by 1, 2")
        moves = frame(copy, "select * from marts.mart_tier_movements order by as_of_date, customer_id")
    finally:
        drop_database(pg_admin_dsn, copy)
    pd.testing.assert_frame_equal(again, bank.after_rerun["history"])
    pd.testing.assert_frame_equal(moves, bank.after_rerun["movements"])


@pytest.mark.parametrize("column, value, error", [
    ("tier_code", "'platinum'", psycopg.errors.CheckViolation),
    ("tier_code", "null", psycopg.errors.NotNullViolation),
    ("tier_rank", "null", psycopg.errors.NotNullViolation),
    ("reason_codes", "null", psycopg.errors.NotNullViolation),
    ("valid_to", "valid_from", psycopg.errors.CheckViolation),
])
def test_tier_history_refuses_a_bad_grade(bank, column, value, error):
    """The grade's row tests live in the history's constraints: a bad row is refused at the append."""
    with psycopg.connect(bank.warehouse) as conn:
        conn.execute("create temporary table bad as select * from marts.mart_customer_tier_history limit 1")
        conn.execute(f"update bad set customer_id = 'NOT-A-CUSTOMER', {column} = {value}")
        with pytest.raises(error):
            conn.execute("insert into marts.mart_customer_tier_history select * from bad")


def test_tier_history_refuses_a_second_version_in_force(bank):
    """Its unique indexes, not a test after the append, keep one version a day and one in force."""
    with psycopg.connect(bank.warehouse) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into marts.mart_customer_tier_history "
                         "select * from marts.mart_customer_tier_history limit 1")
    with psycopg.connect(bank.warehouse) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation, match="__current"):
            conn.execute("insert into marts.mart_customer_tier_history "
                         "select customer_id, date '2099-01-01', null, tier_code, tier_rank, policy_version, "
                         "reason_codes, relationship_manager_id, aum_cny, profit_contribution_cny "
                         "from marts.mart_customer_tier_history where valid_to is null limit 1")


@pytest.mark.parametrize("table, change, error", [
    ("mart_customer_value", "aum_cny = -0.01", psycopg.errors.CheckViolation),
    ("mart_customer_value", "r_score = 6", psycopg.errors.CheckViolation),
    ("mart_customer_value", "f_score = 0", psycopg.errors.CheckViolation),
    ("mart_customer_value", "m_score = null", psycopg.errors.NotNullViolation),
    ("mart_customer_value", "rfm_segment = 'vip'", psycopg.errors.CheckViolation),
    ("mart_customer_tier", "tier_code = 'platinum'", psycopg.errors.CheckViolation),
    ("mart_customer_tier", "tier_code = 'gold', relationship_manager_id = null", psycopg.errors.CheckViolation),
    ("mart_customer_tier", "reason_codes = null", psycopg.errors.NotNullViolation),
    ("mart_customer_tier", "person_id = null", psycopg.errors.NotNullViolation),
])
def test_the_marts_refuse_a_row_their_rules_forbid(bank, table, change, error):
    """The marts' row rules are enforced constraints (no test reads the million rows again after
    the build): a row that breaks one is refused as it is written."""
    with psycopg.connect(bank.warehouse) as conn:
        conn.execute(f"create temporary table bad as select * from marts.{table} limit 1")
        conn.execute(f"update bad set customer_id = 'NOT-A-CUSTOMER', {change}")
        with pytest.raises(error):
            conn.execute(f"insert into marts.{table} select * from bad")


def test_a_tier_history_without_its_guards_is_refused_not_appended_to(bank, pg_admin_dsn):
    """A history created before its constraints were declared would take bad rows silently: the
    build refuses to append to it and says what to add."""
    copy = _copy_of(bank, pg_admin_dsn, "marts_unguarded")
    try:
        with psycopg.connect(copy, autocommit=True) as conn:
            conn.execute("alter table marts.mart_customer_tier_history alter column tier_code drop not null")
            before = conn.execute("select count(*) from marts.mart_customer_tier_history").fetchone()[0]
        with pytest.raises(DbtBuildFailed, match="lacks the guards"):
            run_dbt(copy, ["run", "--select", "mart_customer_tier_history"], as_of_date=D)
        after = scalar(copy, "select count(*) from marts.mart_customer_tier_history")
    finally:
        drop_database(pg_admin_dsn, copy)
    assert after == before


@pytest.mark.parametrize("table, column", [
    ("marts.fct_daily_balances", "balance_date"),
    ("marts.fct_transactions", "txn_date"),
    ("int.int_customer_txn_days", "txn_date"),
    ("int.int_customer_balance_days", "balance_date"),
])
def test_the_planner_sees_the_latest_day_of_each_day_table(bank, table, column):
    """Each incremental per-day table is analysed after its append. Autovacuum waits for 10 % of
    a table to change; without the analyse the newest day lies past the statistics, is estimated
    at about one row, and the next model joins its rows by nested loop."""
    with psycopg.connect(bank.warehouse) as conn:
        day, rows = conn.execute(
            f"select {column}, count(*) from {table} group by 1 order by 1 desc limit 1").fetchone()
        plan = conn.execute(f"explain (format json) select * from {table} where {column} = %s",
                            (day,)).fetchone()[0]
    estimated = plan[0]["Plan"]["Plan Rows"]
    assert estimated >= rows / 3, (table, day, rows, estimated)


def test_tier_movements_are_the_diff_of_the_two_dates(bank):
    """Read off the tiers mart of the two dates, not off the history the movements are built from."""
    prev = bank.after_prev["tiers"].set_index("customer_id")
    cur = bank.after_rerun["tiers"].set_index("customer_id")
    expected = {}
    for cid in prev.index.union(cur.index):
        if cid not in prev.index:
            expected[cid] = ("entry", None, cur.tier_code[cid])
        elif cid not in cur.index:
            expected[cid] = ("exit", prev.tier_code[cid], None)
        elif cur.tier_rank[cid] < prev.tier_rank[cid]:
            expected[cid] = ("upgrade", prev.tier_code[cid], cur.tier_code[cid])
        elif cur.tier_rank[cid] > prev.tier_rank[cid]:
            expected[cid] = ("downgrade", prev.tier_code[cid], cur.tier_code[cid])
    moves = bank.after_rerun["movements"]
    assert set(moves.as_of_date) == {D} and set(moves.previous_as_of_date) == {D_PREV}
    got = {r.customer_id: (r.movement_type, r.from_tier_code, r.to_tier_code) for r in moves.itertuples()}
    assert got == expected
    assert bank.after_prev["movements"].empty, "the first build date has nothing to compare with"


# ---- relationship managers, identity, erasure, access ----------------------------------------


def test_every_gold_customer_has_a_roster_rm_kept_from_day_to_day(bank):
    wh = bank.warehouse
    gold_without = scalar(wh, "select count(*) from marts.mart_customer_tier "
                              "where tier_code = 'gold' and relationship_manager_id is null")
    assert gold_without == 0
    roster = set(seed("rm_roster").rm_id)
    book = bank.after_rerun["rm_book"]
    assert set(book.relationship_manager_id) <= roster
    prev = book[book.as_of_date == D_PREV].set_index("customer_id").relationship_manager_id
    cur = book[book.as_of_date == D].set_index("customer_id")
    stayed = cur.index.intersection(prev.index)
    assert len(stayed) > 0
    # Without a new RM interaction, a gold customer keeps yesterday's RM.
    kept = cur.loc[stayed][cur.loc[stayed].assignment_reason == "kept_from_previous_day"]
    assert (kept.relationship_manager_id == prev[kept.index]).all()


def test_new_gold_customers_go_to_the_least_loaded_rms_of_their_city(bank):
    book = bank.after_prev["rm_book"]
    roster = seed("rm_roster").astype({"capacity": int})
    new = book[book.assignment_reason == "balanced_new"]
    assert not new.empty
    in_served_city = new.customer_city.isin(roster.city)
    assert (new[in_served_city].customer_city == new[in_served_city].rm_city).all()
    load = book.groupby("relationship_manager_id").size()
    for city, rms in roster.groupby("city"):
        placed = new[new.customer_city == city]
        if placed.empty:
            continue
        ratio = {r: load.get(r, 0) / c for r, c in zip(rms.rm_id, rms.capacity)}
        # Water-filling: an RM who got a new customer ends at most one customer above the
        # least loaded RM of the city.
        for rm in placed.relationship_manager_id.unique():
            assert ratio[rm] <= min(ratio.values()) + 1 / rms.capacity.min() + 1e-9, (city, ratio)


def test_customer_numbers_of_one_person_resolve_to_one_person_id(bank):
    truth = frame(bank.source, "select customer_id, resident_id, onboarded_on from core.customers "
                               "where not is_deleted")
    dim = frame(bank.warehouse, "select customer_id, person_id, primary_customer_id from marts.dim_customer")
    merged = truth.merge(dim, on="customer_id")
    shared = merged[merged.duplicated("resident_id", keep=False)]
    assert not shared.empty, "the synthetic bank gives some people two customer numbers"
    for _, group in shared.groupby("resident_id"):
        assert group.person_id.nunique() == 1
        first = group.sort_values(["onboarded_on", "customer_id"]).customer_id.iloc[0]
        assert (group.primary_customer_id == first).all()
    assert merged.groupby("resident_id").person_id.nunique().max() == 1


def test_profile_snapshot_holds_each_version_current_at_a_build(bank):
    """SCD2: one version per customer and current version at each build (D-1, its re-run, D and
    its re-run), from raw, and the latest one open. The feed of each build is only the batches
    the snapshot has not captured and the build date's own: a version left out would be missing
    here, a batch fed twice would be a duplicate."""
    raw = frame(bank.warehouse,
                "select customer_id, updated_at, _loaded_at, _logical_date from raw.corebank__customers")
    current = []
    for build_date in (D_PREV, D):
        batches = raw[raw._logical_date <= build_date]
        current.append(latest(batches, ["customer_id"])[["customer_id", "updated_at"]])
    expected = pd.concat(current).drop_duplicates().sort_values(["customer_id", "updated_at"]).reset_index(drop=True)
    snap = frame(bank.warehouse, "select customer_id, dbt_valid_from as updated_at, dbt_valid_to "
                                 "from snapshots.snap_customer_profile where dbt_scd_id <> 'planted' "
                                 "order by customer_id, dbt_valid_from")
    assert (expected.customer_id == CHANGED_CUSTOMER).sum() == 2
    pd.testing.assert_frame_equal(snap[["customer_id", "updated_at"]].reset_index(drop=True), expected,
                                  check_dtype=False)
    open_versions = snap[snap.dbt_valid_to.isna()]
    assert open_versions.customer_id.is_unique
    assert len(open_versions) == raw.customer_id.nunique()


def test_erased_customers_keep_no_personal_data_in_history_or_dimension(bank):
    wh = bank.warehouse
    erased = [r for r in frame(bank.source, "select customer_id from core.customers where is_deleted").customer_id]
    assert erased
    # Plant a pre-erasure version carrying PII, as if it had been snapshotted before the request,
    # then re-run the snapshot: its post-hook must wipe it.
    with psycopg.connect(wh) as conn:
        conn.execute("""
            insert into snapshots.snap_customer_profile
                (customer_id, full_name, resident_id, city, is_erased, updated_at,
                 dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
            values (%s, '测试人', '110101199001011234', '上海', false, now() - interval '30 days',
                    'planted', now() - interval '30 days', now() - interval '30 days', now() - interval '1 day')
        """, (erased[0],))
    build(wh, D, select="snap_customer_profile assert_snapshots_hold_no_pii_of_erased_customers")
    assert scalar(wh, "select count(*) from snapshots.snap_customer_profile where customer_id = any(%s) "
                      "and (full_name is not null or resident_id is not null or city is not null)", erased) == 0
    assert scalar(wh, "select count(*) from snapshots.snap_customer_profile where dbt_scd_id = 'planted'") == 1
    assert scalar(wh, "select count(*) from snapshots.snap_contact_preferences where customer_id = any(%s) "
                      "and (mobile is not null or email is not null or address is not null)", erased) == 0
    assert scalar(wh, "select count(*) from marts.dim_customer where customer_id = any(%s) "
                      "and (full_name is not null or mobile is not null or birth_date is not null)", erased) == 0


def test_bi_role_sees_masked_contacts_only(bank):
    wh = bank.warehouse
    with psycopg.connect(wh) as conn:
        conn.execute("set role crm_bi_reader")
        masked = conn.execute("select full_name_masked, mobile_masked from marts.v_customer_contact_masked "
                              "where mobile_masked is not null limit 20").fetchall()
        assert masked
        for name, mobile in masked:
            assert set(name[1:]) == {"*"} and len(name) >= 2
            assert len(mobile) == 11 and mobile[3:7] == "****"
        conn.execute("select count(*) from marts.mart_customer_tier")  # granted
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select mobile from marts.mart_customer_contactability limit 1")


def test_relationship_manager_sees_only_their_own_book(bank):
    wh = bank.warehouse
    with psycopg.connect(wh, autocommit=True) as conn:
        books = dict(conn.execute("select relationship_manager_id, count(*) from marts.mart_rm_book "
                                  "group by 1 order by 2 desc").fetchall())
        assert len(books) >= 2, "need two RMs with gold customers to tell their books apart"
        rm_id = next(iter(books))
        login = rm_id.lower()
        conn.execute(f"drop role if exists {login}")
        conn.execute(f"create role {login} login in role crm_relationship_manager")
        try:
            conn.execute(f"set role {login}")
            seen = dict(conn.execute("select relationship_manager_id, count(*) from marts.mart_rm_book "
                                     "group by 1").fetchall())
            conn.execute("reset role")
            assert seen == {rm_id: books[rm_id]}
            conn.execute("set role crm_bi_reader")
            assert conn.execute("select count(*) from marts.mart_rm_book").fetchone()[0] == sum(books.values())
            conn.execute("reset role")
        finally:
            conn.execute("reset role")
            conn.execute(f"drop owned by {login}")
            conn.execute(f"drop role {login}")


def test_only_the_rebuilt_intermediate_tables_skip_the_write_ahead_log(bank):
    """Unlogged tables are emptied by a crash: only what the next build recreates whole may be."""
    rows = frame(bank.warehouse, """
        select n.nspname as schema, c.relname as name, c.relpersistence = 'u' as unlogged
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')
          and left(n.nspname, 3) <> 'pg_'""")
    unlogged = set(rows.loc[rows.unlogged, "name"])
    assert {"int_customer_windows", "int_customer_value", "int_customer_tier_rules"} <= unlogged
    assert set(rows.loc[rows.unlogged, "schema"]) == {"int"}
    # Incremental history cannot be rebuilt from one day's data.
    assert not {"int_customer_balance_days", "int_customer_txn_days"} & unlogged
