"""Source contracts against a real Postgres and the real loaders: future or pre-founding dates,
orphans, empty or padded keys are quarantined or fail the batch, with the keys named."""
from __future__ import annotations

from datetime import date
from importlib.resources import files

import psycopg
import pytest

from python_tasks.ingest.contracts import ContractViolationError
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.feeds import FEEDS
from python_tasks.reporting.run_summary import collect, render
from tests.integration.test_ingest_landing import load, one, rows, write
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
TS = "2026-09-30 10:00:00+08"


@pytest.fixture
def source(pg_admin_dsn):
    dsn = create_database(pg_admin_dsn, "contractsrc")
    with psycopg.connect(dsn) as conn:
        conn.execute(files("python_tasks.synthetic").joinpath("corebank_schema.sql").read_text())
        conn.execute(f"insert into core.products values ('CUR', 'Current', 'current', 0.001, 0, '{TS}')")
        customers = [  # id, birth, onboarded
            ("C00000001", "1980-01-01", "2015-01-01"),
            ("", "1980-01-01", "2015-01-01"),  # empty key
            (" C00000003", "1980-01-01", "2015-01-01"),  # padded key
            ("C00000004", "2054-01-01", "2015-01-01"),  # born in the future (age -28)
            ("C00000005", "1970-01-01", "2027-03-01"),  # onboarded after the business date
            ("C00000006", "1950-01-01", "1970-01-01"),  # onboarded before the bank existed
        ]
        for cid, born, onboarded in customers:
            conn.execute("insert into core.customers values (%s, 'n', 'M', %s, '110101198001010011', 'Beijing', null, "
                         "'B1', %s, 'active', false, %s)", (cid, born, onboarded, TS))
        for aid, cid in (("A1", "C00000001"), ("A2", "C99999999"), ("A3", "")):  # A2: orphan; A3: empty customer
            conn.execute("insert into core.accounts values (%s, %s, 'CUR', '2016-01-01', null, 'open', %s)",
                         (aid, cid, TS))
        for tid, aid, cid, when in (("T1", "A1", "C00000001", "2026-09-30 09:00+08"),
                                    ("T2", "A1", "C00000001", "2026-10-01 00:30+08"),
                                    ("T3", "A2", "C99999999", "2026-09-30 09:00+08")):  # the orphan account's
            conn.execute("insert into core.transactions values (%s, %s, %s, %s, 10, 'deposit', 'atm', 0, %s)",
                         (tid, aid, cid, when, TS))
    yield dsn
    drop_database(pg_admin_dsn, dsn)


def quarantined(dsn: str, source: str) -> list[tuple]:
    return rows(dsn, "select reason_code, detail from ops.quarantine where source = %s "
                     "order by detail collate \"C\"", source)


def test_corebank_rows_breaking_the_contract_are_quarantined_with_their_keys(source, fresh_db):
    load_corebank(source, fresh_db, D, "run-1", tables=("products", "customers", "accounts", "transactions"))
    assert sorted(r[0] for r in rows(fresh_db, "select customer_id from raw.corebank__customers")) == ["C00000001"]
    assert quarantined(fresh_db, "core.customers") == [
        ("empty_key", "customer_id is empty"),
        ("padded_key", "customer_id=' C00000003' has leading or trailing spaces"),
        ("future_date", "customer_id='C00000004': birth_date=2054-01-01 is after the business date 2026-09-30"),
        ("future_date", "customer_id='C00000005': onboarded_on=2027-03-01 is after the business date 2026-09-30"),
        ("before_founding",
         "customer_id='C00000006': onboarded_on=1970-01-01 is before the bank was founded (1990-01-01)"),
    ]
    # the orphan and the account of the empty customer id are kept out; the account of a real customer loads
    assert [r[0] for r in rows(fresh_db, "select account_id from raw.corebank__accounts")] == ["A1"]
    assert [r[0] for r in quarantined(fresh_db, "core.accounts")] == ["orphan", "empty_key"]
    assert "customer_id='C99999999' is not in core.customers.customer_id" in quarantined(
        fresh_db, "core.accounts")[0][1]
    assert [r[0] for r in rows(fresh_db, "select txn_id from raw.corebank__transactions")] == ["T1"]
    assert [r[0] for r in quarantined(fresh_db, "core.transactions")] == ["future_date", "orphan"]
    # the row itself is kept, as JSON, for repair
    assert '"customer_id": "C00000004"' in one(fresh_db, "select raw_line from ops.quarantine "
                                                         "where detail like 'customer_id=''C00000004''%%'")
    assert rows(fresh_db, "select source, rows_read, rows_loaded, rows_quarantined, status from ops.load_audit "
                          "order by source") == [
        ("core.accounts", 3, 1, 2, "loaded_with_quarantine"), ("core.customers", 6, 1, 5, "loaded_with_quarantine"),
        ("core.products", 1, 1, 0, "loaded"), ("core.transactions", 3, 1, 2, "loaded_with_quarantine")]


def test_rerun_replaces_the_dates_contract_quarantine(source, fresh_db):
    for run in ("run-1", "run-2"):
        load_corebank(source, fresh_db, D, run, tables=("products", "customers"))
    assert one(fresh_db, "select count(*) from ops.quarantine where source = 'core.customers'") == 5
    assert one(fresh_db, "select count(distinct run_id) from ops.quarantine") == 1


def test_a_table_set_to_fail_loads_nothing_names_the_keys_and_the_others_load(source, fresh_db):
    with psycopg.connect(source) as conn:
        conn.execute(f"insert into core.products values ('SAV ', 'Savings', 'current', 0.01, 0, '{TS}')")
    with pytest.raises(ContractViolationError, match=r"product_code='SAV '.*on_violation: quarantine"):
        load_corebank(source, fresh_db, D, "run-1", tables=("products", "customers"))
    assert one(fresh_db, "select to_regclass('raw.corebank__products') is null")
    assert one(fresh_db, "select count(*) from raw.corebank__customers") == 1
    assert rows(fresh_db, "select source, status from ops.load_audit order by source") == [
        ("core.customers", "loaded_with_quarantine"), ("core.products", "contract_failed")]


FEED = FEEDS["contact_centre_interactions"]
HEADER = ",".join(FEED.columns) + "\n"


def interaction(key: str, ts: str = "2026-09-30T10:00:00+08:00") -> str:
    return f"{key},C00000001,{ts},phone,enquiry,resolved\n"


def test_feed_lines_with_padded_keys_or_future_times_are_quarantined_with_line_numbers(fresh_db, tmp_path):
    text = HEADER + interaction("I1") + interaction("I1 ") + interaction(" I2") + interaction(
        "I3", "2026-10-01T00:00:00+08:00") + interaction("I4", "2026-09-30T23:59:59+08:00")
    result = load(fresh_db, FEED, write(tmp_path, text, name=FEED.filename()))
    assert (result.read, result.loaded, result.quarantined) == (5, 2, 3)
    assert rows(fresh_db, "select line_number, reason_code from ops.quarantine order by 1") == [
        (3, "padded_key"), (4, "padded_key"), (5, "future_date")]
    assert sorted(r[0] for r in rows(fresh_db, "select interaction_id from raw.channel__contact_centre_interactions")) \
        == ["I1", "I4"]


def test_feed_set_to_fail_keeps_the_dates_previous_batch(fresh_db, tmp_path, monkeypatch):
    load(fresh_db, FEED, write(tmp_path, HEADER + interaction("I1"), name="first.csv"))
    contracts_file = tmp_path / "contracts.yml"
    contracts_file.write_text("founding_date: 1990-01-01\nsources:\n  landing.contact_centre_interactions:\n"
                              "    on_violation: fail\n    keys: [interaction_id]\n")
    monkeypatch.setenv("CRM_SOURCE_CONTRACTS", str(contracts_file))
    with pytest.raises(ContractViolationError, match="interaction_id=' I9'"):
        load(fresh_db, FEED, write(tmp_path, HEADER + interaction("I2") + interaction(" I9")), run_id="run-2")
    assert rows(fresh_db, "select interaction_id from raw.channel__contact_centre_interactions") == [("I1",)]
    assert one(fresh_db, "select status from ops.load_audit where run_id = 'run-2'") == "contract_failed"


def test_run_summary_reports_the_contract_breaches(source, fresh_db):
    load_corebank(source, fresh_db, D, "run-1", tables=("products", "customers", "accounts"))
    summary = collect(fresh_db, D, "run-1")
    assert {(c["source"], c["reason"], c["rows"]) for c in summary["source_contracts"]["quarantined"]} == {
        ("core.customers", "empty_key", 1), ("core.customers", "padded_key", 1), ("core.customers", "future_date", 2),
        ("core.customers", "before_founding", 1), ("core.accounts", "empty_key", 1), ("core.accounts", "orphan", 1)}
    assert summary["source_contracts"]["failed"] == []
    assert "Source contracts: 7 rows quarantined" in render(summary)


def test_feed_reference_to_core_customers_is_checked_against_raw_when_configured(fresh_db, tmp_path, monkeypatch):
    contracts_file = tmp_path / "contracts.yml"
    contracts_file.write_text("founding_date: 1990-01-01\nsources:\n  landing.contact_centre_interactions:\n"
                              "    keys: [interaction_id]\n"
                              "    references: {customer_id: core.customers.customer_id}\n")
    monkeypatch.setenv("CRM_SOURCE_CONTRACTS", str(contracts_file))
    text = HEADER + interaction("I1") + interaction("I2").replace("C00000001", "C404")
    result = load(fresh_db, FEED, write(tmp_path, text, name="before.csv"))
    assert (result.loaded, result.quarantined) == (2, 0)  # core.customers never loaded: not judged
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create table raw.corebank__customers (customer_id text)")
        conn.execute("insert into raw.corebank__customers values ('C00000001')")
    result = load(fresh_db, FEED, write(tmp_path, text, name="after.csv"), run_id="run-2")
    assert (result.loaded, result.quarantined) == (1, 1)
    assert rows(fresh_db, "select line_number, reason_code, detail from ops.quarantine") == [
        (3, "orphan", "interaction_id='I2': customer_id='C404' is not in core.customers.customer_id")]
