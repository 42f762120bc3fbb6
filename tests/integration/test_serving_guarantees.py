"""What the warehouse serves stays right and private: build order, views during a rebuild,
masking of any shape, erasure everywhere, the campaign lists' readers.

A small synthetic bank goes through the real loaders and the real `dbt build` for two dates;
the tests then act on that warehouse as an operator, a BI tool and a data subject would.
"""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from python_tasks.access import ensure_roles
from python_tasks.exports.catalog import Campaign
from python_tasks.exports.files import export_campaign_files
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.landing import load_landing
from python_tasks.privacy.erasure import apply_erasures, personal_data_of
from python_tasks.quality.gate_record import record_gate
from python_tasks.synthetic.bank import GenerationSpec, generate
from python_tasks.transform.build_order import EarlierDateRefused, check_build_date
from python_tasks.transform.dbt_build import build
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

D = date(2026, 9, 30)
D_PREV = D - timedelta(days=1)
SPEC = GenerationSpec(customers=200, days=12, seed=31, end_date=D)
CAMPAIGN = Campaign(code="ERASE_TEST", name="t", name_zh="t", tiers=("gold",), channels=("sms",),
                    frequency_cap_days=0, reason="r")


def scalar(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def mart_fingerprints(dsn: str) -> dict[str, str]:
    """An md5 of every table in marts: equal fingerprints, equal contents."""
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1")]
        return {t: conn.execute(
            f"select md5(coalesce(string_agg(md5(m::text), '' order by md5(m::text)), '')) from marts.\"{t}\" m"
        ).fetchone()[0] for t in tables}


@pytest.fixture(scope="module")
def bank(pg_admin_dsn, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    warehouse = create_database(pg_admin_dsn, "serving_wh")
    source = create_database(pg_admin_dsn, "serving_src")
    try:
        generate(source, landing, SPEC)
        ensure_roles(warehouse)
        for day in (D_PREV, D):
            load_corebank(source, warehouse, day, f"test-{day}")
            load_landing(warehouse, landing, day, f"test-{day}")
            build(warehouse, day)
        yield {"warehouse": warehouse, "source": source, "landing": landing}
    finally:
        drop_database(pg_admin_dsn, warehouse)
        drop_database(pg_admin_dsn, source)


# ---- build order ------------------------------------------------------------------------------


def test_an_earlier_date_is_refused_before_anything_is_rebuilt(bank):
    wh = bank["warehouse"]
    before = mart_fingerprints(wh)
    with pytest.raises(EarlierDateRefused, match=f"{D}.*{D_PREV}.*rewind_tier_history"):
        check_build_date(wh, D_PREV)
    assert check_build_date(wh, D)["latest_built"] == D.isoformat()  # a re-run of the latest date
    assert check_build_date(wh, D + timedelta(days=1))["latest_built"] == D.isoformat()
    assert mart_fingerprints(wh) == before


def test_a_fresh_warehouse_accepts_any_date(fresh_db):
    assert check_build_date(fresh_db, D_PREV)["latest_built"] is None


def test_a_built_date_that_changed_no_grade_is_seen_in_build_state(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("create schema ops; create table ops.build_state (as_of_date date primary key, "
                     "invocation_id text, built_at timestamptz)")
        conn.execute("insert into ops.build_state values (%s, 'x', now())", (D,))
    with pytest.raises(EarlierDateRefused):
        check_build_date(fresh_db, D_PREV)


# ---- the masked view during a rebuild ------------------------------------------------------------


def test_masked_view_answers_every_query_during_a_rebuild(bank):
    wh = bank["warehouse"]
    errors: list[str] = []
    answered = 0
    stop = threading.Event()

    def read_the_view() -> None:
        nonlocal answered
        with psycopg.connect(wh, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    conn.execute("select count(*) from marts.v_customer_contact_masked").fetchone()
                    answered += 1
                except psycopg.Error as exc:
                    errors.append(str(exc).splitlines()[0])

    reader = threading.Thread(target=read_the_view)
    reader.start()
    try:
        build(wh, D, select="mart_customer_contactability v_customer_contact_masked")
    finally:
        stop.set()
        reader.join()
    assert answered > 0
    assert errors == []
    assert scalar(wh, "select count(*) from marts.v_customer_contact_masked") == \
        scalar(wh, "select count(*) from marts.mart_customer_contactability")


# ---- masking of any shape -------------------------------------------------------------------


ODD_SHAPES = [
    # customer_id, full_name, mobile, email
    ("ODD1", "X", "12345", "no-at-sign"),
    ("ODD2", "张", "1381234", "@example.com"),
    ("ODD3", "李四", "+8613812345678", "a@b@c"),
    ("ODD4", "", "", ""),
    ("ODD5", "王五", "13812345678", "zhang.wei@example.com"),
]


def test_masking_never_shows_a_whole_value_whatever_its_shape(bank):
    wh = bank["warehouse"]
    with psycopg.connect(wh) as conn:
        for customer_id, name, mobile, email in ODD_SHAPES:
            conn.execute(
                "insert into marts.mart_customer_contactability (as_of_date, customer_id, full_name, mobile, email, "
                "preferred_channel, is_contactable, suppression_reason) values (%s, %s, %s, %s, %s, 'sms', true, null)",
                (D, customer_id, name, mobile, email))
        rows = {r[0]: r[1:] for r in conn.execute(
            "select customer_id, full_name_masked, mobile_masked, email_masked from marts.v_customer_contact_masked "
            "where customer_id like 'ODD%'")}
        conn.rollback()
    for customer_id, name, mobile, email in ODD_SHAPES:
        masked_name, masked_mobile, masked_email = rows[customer_id]
        for original, masked in ((name, masked_name), (mobile, masked_mobile), (email, masked_email)):
            assert original == "" or masked != original, (customer_id, original, masked)
            assert original == "" or original not in masked, (customer_id, original, masked)
    # The expected shapes keep what BI needs to recognise a record.
    assert rows["ODD5"] == ("王*", "138****5678", "z***@example.com")
    assert rows["ODD1"][1] == "****" and rows["ODD1"][2] == "***"


# ---- erasure everywhere ---------------------------------------------------------------------


def test_erasure_reaches_raw_lists_files_and_is_audited(bank, tmp_path: Path):
    wh = bank["warehouse"]
    erased = [r[0] for r in psycopg.connect(wh).execute(
        "select distinct customer_id from raw.corebank__customers where is_deleted order by 1")]
    assert erased, "the synthetic bank plants erasure tombstones"
    person = erased[0]
    name, mobile = psycopg.connect(wh).execute(
        "select full_name, mobile from raw.corebank__customers join raw.corebank__contact_details using (customer_id) "
        "where customer_id = %s and full_name is not null limit 1", (person,)).fetchone()
    assert name and mobile, "raw still holds the erased customer's personal data before the erasure"

    # The person was on an earlier list, already exported, beside someone who was not erased.
    earlier = D - timedelta(days=5)
    with psycopg.connect(wh) as conn:
        conn.execute(files("python_tasks.exports").joinpath("exports_schema.sql").read_text())
        conn.execute("insert into exports.campaign_members (as_of_date, campaign_code, customer_id, full_name, mobile, "
                     "channel, tier_code, cluster_id, reason) values (%s, %s, %s, %s, %s, 'sms', 'gold', 1, 'r'), "
                     "(%s, %s, 'KEEP1', '赵六', '13900000000', 'sms', 'gold', 1, 'r')",
                     (earlier, CAMPAIGN.code, person, name, mobile, earlier, CAMPAIGN.code))
        record_gate(conn, earlier, "run-earlier", passed=True)
    export_campaign_files(wh, earlier, "run-earlier", tmp_path, [CAMPAIGN])
    folder = tmp_path / earlier.isoformat()
    assert name in (folder / f"{CAMPAIGN.code}.csv").read_text(encoding="utf-8-sig")

    report = apply_erasures(wh, D, "run-erase")
    assert report["customers"] >= 1 and report["files_rewritten"] == 2

    # Raw: personal fields nulled in every version, the key and the tombstone kept.
    assert scalar(wh, "select count(*) from raw.corebank__customers where customer_id = %s and (full_name is not null "
                      "or resident_id is not null or birth_date is not null or city is not null)", person) == 0
    assert scalar(wh, "select count(*) from raw.corebank__contact_details "
                      "where customer_id = %s and (mobile is not null "
                      "or email is not null or address is not null)", person) == 0
    assert scalar(wh, "select count(*) from raw.corebank__customers where customer_id = %s", person) > 0
    # The list table and the files already written.
    assert scalar(wh, "select count(*) from exports.campaign_members where customer_id = %s", person) == 0
    text = (folder / f"{CAMPAIGN.code}.csv").read_text(encoding="utf-8-sig")
    assert name not in text and person not in text and "KEEP1" in text
    table = pq.read_table(folder / f"{CAMPAIGN.code}.parquet")
    assert table.column("customer_id").to_pylist() == ["KEEP1"]
    manifest = json.loads((folder / f"{CAMPAIGN.code}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 1
    assert manifest["erasures"][-1]["rows_removed"] == 1
    assert person not in json.dumps(manifest)
    logged = dict(psycopg.connect(wh).execute(
        "select file_format, rows_exported from ops.export_log where as_of_date = %s", (earlier,)).fetchall())
    assert logged == {"csv": 1, "parquet": 1}
    exported = (folder / manifest["files"][0]["path"]).read_bytes()
    assert manifest["files"][0]["sha256"] == hashlib.sha256(exported).hexdigest()
    # Audited: one row per customer the erasure changed something for.
    assert scalar(wh, "select count(*) from ops.erasure_log where customer_id = %s and as_of_date = %s",
                  person, D) == 1
    # Every table of every layer: nothing personal left of any erased customer.
    assert personal_data_of(wh, erased) == {}
    # Applying it again changes nothing and adds no audit row.
    audit_rows = scalar(wh, "select count(*) from ops.erasure_log")
    again = apply_erasures(wh, D, "run-erase-again")
    assert again["customers"] == 0
    assert scalar(wh, "select count(*) from ops.erasure_log") == audit_rows


def test_marts_and_snapshots_hold_nothing_personal_of_erased_customers(bank):
    wh = bank["warehouse"]
    erased = [r[0] for r in psycopg.connect(wh).execute(
        "select distinct customer_id from raw.corebank__customers where is_deleted")]
    found = personal_data_of(wh, erased, schemas=("stg", "int", "marts", "snapshots", "exports"))
    assert found == {}
