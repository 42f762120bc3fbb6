"""The campaign list table: what marketing may read, and what a spreadsheet would evaluate."""
from __future__ import annotations

from datetime import date

import psycopg
import pytest

from python_tasks.access import ensure_roles
from python_tasks.exports.audience import build_campaign_members
from python_tasks.exports.catalog import Campaign

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
CAMPAIGN = Campaign(code="GOLD_TEST", name="t", name_zh="t", tiers=("gold",), channels=("sms",),
                    frequency_cap_days=0, reason="r")
NAMES = {
    "C1": "=HYPERLINK(\"http://x\",\"y\")",
    "C2": "\uff1d1+1",
    "C3": " @SUM(A1)",
    "C4": "\t-2+3",
    "C5": "张伟",
}


@pytest.fixture
def marts(fresh_db: str) -> str:
    with psycopg.connect(fresh_db) as conn:
        conn.execute("""
            create schema marts;
            create schema ml;
            create table marts.mart_customer_tier (as_of_date date, customer_id text, tier_code text,
                reason_codes text, at_risk boolean, profit_contribution_cny numeric);
            create table marts.mart_customer_contactability (customer_id text, full_name text, mobile text,
                preferred_channel text, is_contactable boolean, suppression_reason text);
            create table ml.customer_clusters (as_of_date date, customer_id text, cluster_id integer);
            create table ml.cluster_profiles (as_of_date date, cluster_id integer, standard_offer text);
        """)
        for customer_id, name in NAMES.items():
            conn.execute("insert into marts.mart_customer_tier values (%s, %s, 'gold', %s, false)",
                         (D, customer_id, "-AUM_HIGH" if customer_id == "C1" else "AUM_HIGH"))
            conn.execute("insert into marts.mart_customer_contactability values (%s, %s, %s, 'sms', true, null)",
                         (customer_id, name, "+8613812345678" if customer_id == "C5" else "13812345678"))
    return fresh_db


def test_list_table_holds_no_value_a_spreadsheet_would_evaluate(marts: str):
    build_campaign_members(marts, D, [CAMPAIGN])
    with psycopg.connect(marts) as conn:
        stored = dict(conn.execute("select customer_id, full_name from exports.campaign_members").fetchall())
        reasons = dict(conn.execute("select customer_id, reason from exports.campaign_members").fetchall())
        mobiles = dict(conn.execute("select customer_id, mobile from exports.campaign_members").fetchall())
    assert stored == {c: ("'" + n if c != "C5" else n) for c, n in NAMES.items()}
    assert all(not r.startswith(("=", "+", "-", "@")) for r in reasons.values())
    assert mobiles["C5"] == "+8613812345678"  # a phone number stays dialable


def test_marketing_role_reads_the_campaign_lists(marts: str):
    ensure_roles(marts)
    build_campaign_members(marts, D, [CAMPAIGN])
    with psycopg.connect(marts) as conn:
        conn.execute("set role crm_marketing_export")
        assert conn.execute("select count(*) from exports.campaign_members").fetchone()[0] == len(NAMES)
        conn.execute("select count(*) from ops.export_suppressions").fetchone()
        conn.execute("reset role")
        conn.execute("set role crm_bi_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from exports.campaign_members")
