"""The data-quality gate against a real Postgres.

Creates its own throw-away database (dqtest_<random>) and drops it afterwards. Each test gets
freshly built tables: good rows for D, and deliberately bad rows for OTHER_DATE, which the gate
must not look at when it validates D.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from python_tasks.config import EXPECTATIONS_DIR
from python_tasks.quality import GateResult, QualityGateFailed, enforce, run_quality_gate

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

ADMIN_DSN = os.environ.get(
    "CRM_TEST_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
D = date(2024, 6, 30)
OTHER_DATE = date(2024, 5, 31)
SUITE_SIZES = {"campaign_members": 8, "customer_tier": 7, "customer_value": 11}
TOTAL_EXPECTATIONS = sum(SUITE_SIZES.values())

DDL = """
drop schema if exists marts cascade;
drop schema if exists exports cascade;
drop schema if exists ops cascade;
create schema marts;
create schema exports;
create table marts.mart_customer_value (
    as_of_date date not null,
    customer_id text,
    aum_cny numeric(18, 2),
    loan_exposure_cny numeric(18, 2),
    profit_contribution_cny numeric(18, 2),
    r_score int,
    f_score int,
    m_score int,
    rfm_segment text,
    product_count int,
    digital_share numeric(6, 4),
    tenure_months int
);
create table marts.mart_customer_tier (
    as_of_date date not null,
    customer_id text,
    tier_code text,
    tier_name_en text,
    tier_name_zh text,
    reason_codes text,
    policy_version text
);
create table exports.campaign_members (
    as_of_date date not null,
    campaign_code text not null,
    customer_id text not null,
    full_name text,
    mobile text,
    channel text,
    tier_code text,
    cluster_id int,
    reason text,
    primary key (as_of_date, campaign_code, customer_id)
);
"""

TIERS = [
    ("gold", "Gold", "金卡客户"),
    ("profit", "Profit", "利润客户"),
    ("potential", "Potential", "潜力客户"),
    ("common", "Common", "普通客户"),
    ("unprofitable", "Unprofitable", "低利润客户"),
]
CHANNELS = ["sms", "phone", "email", "app"]


def _value_row(d: date, i: int) -> tuple:
    return (d, f"C{i:06d}", 10_000 + i, 0 if i % 3 else 5_000, 100 + i,
            1 + i % 5, 1 + (i // 5) % 5, 1 + (i // 25) % 5, "champions",
            1 + i % 8, round((i % 100) / 100, 2), i % 240)


def _tier_row(d: date, i: int) -> tuple:
    code, en, zh = TIERS[i % len(TIERS)]
    return (d, f"C{i:06d}", code, en, zh, "AUM_HIGH;TENURE", "tier-policy-2024.1")


def _member_row(d: date, i: int, campaign: str = "CMP-WEALTH") -> tuple:
    code = TIERS[i % len(TIERS)][0]
    return (d, campaign, f"C{i:06d}", f"客户{i}", f"13{i % 10}{i:08d}"[:11],
            CHANNELS[i % 4], code, i % 4, "high AUM, low product count")


def insert(dsn: str, table: str, rows: list[tuple]) -> None:
    if not rows:
        return
    placeholders = sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
    schema, name = table.split(".")
    stmt = sql.SQL("insert into {} values ({})").format(sql.Identifier(schema, name), placeholders)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.executemany(stmt, rows)


def seed(dsn: str, n: int) -> None:
    """Good rows for D; rows for OTHER_DATE that break critical rules in every suite."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
    insert(dsn, "marts.mart_customer_value", [_value_row(D, i) for i in range(n)])
    insert(dsn, "marts.mart_customer_tier", [_tier_row(D, i) for i in range(n)])
    insert(dsn, "exports.campaign_members", [_member_row(D, i) for i in range(0, n, 2)])
    bad_value = list(_value_row(OTHER_DATE, 1))
    bad_value[2] = -1  # negative AUM
    insert(dsn, "marts.mart_customer_value", [tuple(bad_value), tuple(bad_value)])
    bad_tier = list(_tier_row(OTHER_DATE, 1))
    bad_tier[2] = "platinum"
    insert(dsn, "marts.mart_customer_tier", [tuple(bad_tier), tuple(bad_tier)])
    bad_member = list(_member_row(OTHER_DATE, 1))
    bad_member[4] = "12345"
    insert(dsn, "exports.campaign_members", [tuple(bad_member)])


def execute(dsn: str, statement: str, params: tuple = ()) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement, params)


def fetch(dsn: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def db_dsn() -> Iterator[str]:
    name = f"dqtest_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {ADMIN_DSN!r}: {exc}")
    params = conninfo_to_dict(ADMIN_DSN)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture()
def dsn(db_dsn: str) -> str:
    """The test database, rebuilt with 10 good customers for D (and bad rows for OTHER_DATE)."""
    seed(db_dsn, 10)
    return db_dsn


def gate(dsn: str, as_of: date = D, run_id: str = "test-run", **kw) -> GateResult:
    return run_quality_gate(dsn, as_of, run_id, suites_dir=EXPECTATIONS_DIR, **kw)


def stored(dsn: str, run_id: str = "test-run", as_of: date = D) -> list[tuple]:
    return fetch(
        dsn,
        "select suite, expectation_type, column_name, severity, success, observed"
        " from ops.dq_results where run_id = %s and as_of_date = %s order by suite",
        (run_id, as_of),
    )


def test_gate_passes_on_good_data(dsn: str) -> None:
    result = gate(dsn)

    assert result.passed, result.failures
    assert result.failures == []
    assert result.run_id == "test-run" and result.as_of_date == D
    assert {s["name"]: s["evaluated"] for s in result.suites} == SUITE_SIZES
    assert all(s["success"] and s["failed_critical"] == 0 for s in result.suites)
    enforce(result)  # no exception
    rows = stored(dsn)
    assert len(rows) == TOTAL_EXPECTATIONS
    assert all(r[4] for r in rows)
    counts = {r[5]["observed_value"] for r in rows if r[1] == "expect_table_row_count_to_be_between"}
    assert counts == {10, 5}  # 10 customers in the marts, 5 campaign members


CRITICAL_CASES = [
    pytest.param(
        "insert into marts.mart_customer_tier select * from marts.mart_customer_tier"
        " where as_of_date = %(d)s and customer_id = 'C000003'",
        "customer_tier", "expect_column_values_to_be_unique", "customer_id",
        id="tier-duplicate-customer",
    ),
    pytest.param(
        "update marts.mart_customer_tier set tier_code = 'platinum'"
        " where as_of_date = %(d)s and customer_id = 'C000004'",
        "customer_tier", "expect_column_values_to_be_in_set", "tier_code",
        id="tier-platinum",
    ),
    pytest.param(
        "update marts.mart_customer_tier set policy_version = null"
        " where as_of_date = %(d)s and customer_id = 'C000004'",
        "customer_tier", "expect_column_values_to_not_be_null", "policy_version",
        id="tier-null-policy-version",
    ),
    pytest.param(
        "update exports.campaign_members set mobile = '12345'"
        " where as_of_date = %(d)s and customer_id = 'C000002'",
        "campaign_members", "expect_column_values_to_match_regex", "mobile",
        id="members-bad-mobile",
    ),
    pytest.param(
        "update exports.campaign_members set mobile = null"
        " where as_of_date = %(d)s and customer_id = 'C000002'",
        "campaign_members", "expect_column_values_to_not_be_null", "mobile",
        id="members-unreachable-null-mobile",
    ),
    pytest.param(
        "update exports.campaign_members set channel = 'wechat'"
        " where as_of_date = %(d)s and customer_id = 'C000002'",
        "campaign_members", "expect_column_values_to_be_in_set", "channel",
        id="members-unknown-channel",
    ),
    pytest.param(
        "alter table exports.campaign_members drop constraint campaign_members_pkey;"
        " insert into exports.campaign_members select * from exports.campaign_members"
        " where as_of_date = %(d)s and customer_id = 'C000002'",
        "campaign_members", "expect_compound_columns_to_be_unique", "campaign_code,customer_id",
        id="members-duplicate-in-campaign",
    ),
    pytest.param(
        "update marts.mart_customer_value set aum_cny = -0.01"
        " where as_of_date = %(d)s and customer_id = 'C000001'",
        "customer_value", "expect_column_values_to_be_between", "aum_cny",
        id="value-negative-aum",
    ),
    pytest.param(
        "update marts.mart_customer_value set r_score = 6"
        " where as_of_date = %(d)s and customer_id = 'C000001'",
        "customer_value", "expect_column_values_to_be_between", "r_score",
        id="value-r-score-6",
    ),
    pytest.param(
        "update marts.mart_customer_value set digital_share = 1.5"
        " where as_of_date = %(d)s and customer_id = 'C000001'",
        "customer_value", "expect_column_values_to_be_between", "digital_share",
        id="value-digital-share-above-1",
    ),
]


@pytest.mark.parametrize(("statement", "suite", "expectation_type", "column"), CRITICAL_CASES)
def test_critical_failure_blocks(
    dsn: str, statement: str, suite: str, expectation_type: str, column: str
) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for part in statement.split(";"):
            conn.execute(part, {"d": D} if "%(d)s" in part else None)

    result = gate(dsn)

    assert not result.passed
    failed = [(f["suite"], f["expectation_type"], f["column"], f["severity"])
              for f in result.failures]
    assert failed == [(suite, expectation_type, column, "critical")]
    summary = next(s for s in result.suites if s["name"] == suite)
    assert (summary["success"], summary["failed_critical"], summary["failed_warning"]) == (
        False, 1, 0,
    )
    with pytest.raises(QualityGateFailed) as excinfo:
        enforce(result)
    assert f"{suite}.{expectation_type}({column})" in str(excinfo.value)
    assert excinfo.value.result is result
    bad = [r for r in stored(dsn) if not r[4]]
    assert [(r[0], r[1], r[2], r[3]) for r in bad] == [(suite, expectation_type, column, "critical")]
    assert bad[0][5]["unexpected_count"] >= 1


def test_pii_values_are_not_recorded(dsn: str, tmp_path: Path) -> None:
    """The mobile regex is marked meta.pii: counts are kept, the numbers themselves are not."""
    execute(dsn, "update exports.campaign_members set mobile = '12345' where as_of_date = %s", (D,))

    result = gate(dsn, docs_dir=tmp_path / "docs")

    (failure,) = result.failures
    assert failure["observed"]["unexpected_count"] == 5
    assert "partial_unexpected_list" not in failure["observed"]
    assert "12345" not in str(stored(dsn))
    assert result.docs_path is not None
    for page in (tmp_path / "docs").rglob("*.html"):
        assert "12345" not in page.read_text(encoding="utf-8"), page


def test_warning_only_failure_is_reported_but_passes(dsn: str) -> None:
    execute(dsn, "update marts.mart_customer_tier set tier_name_zh = null"
                 " where as_of_date = %s and customer_id = 'C000001'", (D,))
    execute(dsn, "update exports.campaign_members set reason = null where as_of_date = %s", (D,))
    execute(dsn, "update marts.mart_customer_value set product_count = 21"
                 " where as_of_date = %s and customer_id = 'C000002'", (D,))

    result = gate(dsn)

    assert result.passed
    enforce(result)  # warnings never block
    assert {(f["suite"], f["column"], f["severity"]) for f in result.failures} == {
        ("customer_tier", "tier_name_zh", "warning"),
        ("campaign_members", "reason", "warning"),
        ("customer_value", "product_count", "warning"),
    }
    by_name = {s["name"]: s for s in result.suites}
    assert by_name["customer_tier"]["failed_warning"] == 1
    assert by_name["customer_tier"]["failed_critical"] == 0
    assert by_name["customer_tier"]["success"] is False  # GX's meaning: not everything held
    rows = stored(dsn)
    assert sorted((r[2], r[3]) for r in rows if not r[4]) == [
        ("product_count", "warning"), ("reason", "warning"), ("tier_name_zh", "warning"),
    ]


def test_other_dates_are_not_validated(dsn: str) -> None:
    """OTHER_DATE holds bad rows in every table; validating D must not see them."""
    assert gate(dsn, D).passed

    other = gate(dsn, OTHER_DATE, run_id="other-run")

    assert not other.passed
    failed = {(f["suite"], f["expectation_type"], f["column"]) for f in other.failures}
    assert {
        ("customer_value", "expect_column_values_to_be_between", "aum_cny"),
        ("customer_value", "expect_column_values_to_be_unique", "customer_id"),
        ("customer_tier", "expect_column_values_to_be_in_set", "tier_code"),
        ("campaign_members", "expect_column_values_to_match_regex", "mobile"),
    } <= failed
    # Each run keeps its own rows.
    assert len(stored(dsn, "test-run", D)) == TOTAL_EXPECTATIONS
    assert len(stored(dsn, "other-run", OTHER_DATE)) == TOTAL_EXPECTATIONS


def test_empty_campaign_list_is_allowed_but_empty_marts_are_not(dsn: str) -> None:
    execute(dsn, "delete from exports.campaign_members where as_of_date = %s", (D,))
    assert gate(dsn).passed

    execute(dsn, "delete from marts.mart_customer_tier where as_of_date = %s", (D,))
    result = gate(dsn)
    assert not result.passed
    assert [(f["suite"], f["expectation_type"]) for f in result.failures] == [
        ("customer_tier", "expect_table_row_count_to_be_between")
    ]
    assert result.failures[0]["observed"]["observed_value"] == 0


def test_rerun_replaces_rows(dsn: str) -> None:
    execute(dsn, "update marts.mart_customer_tier set tier_code = 'platinum'"
                 " where as_of_date = %s and customer_id = 'C000001'", (D,))
    assert not gate(dsn).passed
    assert len(stored(dsn)) == TOTAL_EXPECTATIONS
    assert sum(1 for r in stored(dsn) if not r[4]) == 1

    execute(dsn, "update marts.mart_customer_tier set tier_code = 'gold'"
                 " where as_of_date = %s and customer_id = 'C000001'", (D,))
    assert gate(dsn).passed

    rows = stored(dsn)
    assert len(rows) == TOTAL_EXPECTATIONS  # replaced, not appended
    assert all(r[4] for r in rows)
    assert fetch(dsn, "select count(*) from ops.dq_results")[0][0] == TOTAL_EXPECTATIONS


def test_missing_table_fails_closed(dsn: str) -> None:
    execute(dsn, "drop table exports.campaign_members")

    result = gate(dsn)

    assert not result.passed
    members = [f for f in result.failures if f["suite"] == "campaign_members"]
    assert len(members) == SUITE_SIZES["campaign_members"]
    assert all("does not exist" in f["observed"]["exception"] for f in members)
    with pytest.raises(QualityGateFailed, match="does not exist"):
        enforce(result)


def test_data_docs_are_built_without_credentials(dsn: str, tmp_path: Path) -> None:
    # Trust auth ignores the password, so a made-up one shows whether it leaks into the docs.
    params = conninfo_to_dict(dsn)
    params["password"] = "not-a-real-s3cret"
    docs = tmp_path / "docs"

    result = gate(make_conninfo(**params), docs_dir=docs)

    assert result.passed
    assert result.docs_path == str(docs / "index.html")
    assert Path(result.docs_path).is_file()
    pages = list(docs.rglob("*.html"))
    assert len(pages) >= 1 + 2 * len(SUITE_SIZES)  # index, a suite page and a result per suite
    for page in pages:
        assert "not-a-real-s3cret" not in page.read_text(encoding="utf-8"), page
    assert not (tmp_path / "great_expectations.yml").exists()


def _socket_dsn(dsn: str) -> str | None:
    """A unix-socket DSN to the same database, if the server's socket is reachable from here."""
    with psycopg.connect(dsn) as conn:
        dirs = conn.execute("show unix_socket_directories").fetchone()[0]
        port = conn.execute("show port").fetchone()[0]
    for directory in (d.strip() for d in dirs.split(",")):
        if directory and os.path.exists(os.path.join(directory, f".s.PGSQL.{port}")):
            params = conninfo_to_dict(dsn)
            params.update(host=directory, port=port)
            socket_dsn = make_conninfo(**params)
            try:
                psycopg.connect(socket_dsn, connect_timeout=5).close()
            except psycopg.OperationalError:
                continue
            return socket_dsn
    return None


def test_unix_socket_dsn_in_keyword_and_uri_form(dsn: str) -> None:
    socket_dsn = _socket_dsn(dsn)
    if socket_dsn is None:
        pytest.skip("the server's unix socket is not reachable from this host")
    params = conninfo_to_dict(socket_dsn)
    uri = f"postgresql://{params['user']}:@/{params['dbname']}?host={params['host']}&port={params['port']}"

    for form, value in (("keyword", socket_dsn), ("uri", uri)):
        result = gate(value, run_id=f"socket-{form}")
        assert result.passed, (form, result.failures)
        assert len(stored(dsn, f"socket-{form}")) == TOTAL_EXPECTATIONS


def test_gate_over_10k_rows(db_dsn: str) -> None:
    """Timing: ~10,000 customers in each mart and ~5,000 campaign members for one date."""
    seed(db_dsn, 10_000)

    started = time.perf_counter()
    result = gate(db_dsn, run_id="bench")
    elapsed = time.perf_counter() - started

    log.warning("quality gate over 10,000 rows per mart: %.2fs", elapsed)
    assert result.passed, result.failures
    assert elapsed < 120  # generous: it is ~1s here; this only catches pathological slowness


def test_rerun_of_a_date_under_a_new_run_id_replaces_its_rows(dsn: str) -> None:
    assert gate(dsn, run_id="run-1").passed
    assert gate(dsn, run_id="run-2").passed  # the date run again (a new Airflow run)
    assert fetch(dsn, "select count(*) from ops.dq_results where as_of_date = %s", (D,))[0][0] == TOTAL_EXPECTATIONS
    assert fetch(dsn, "select distinct run_id from ops.dq_results where as_of_date = %s", (D,)) == [("run-2",)]


def test_export_after_a_passing_gate_refuses_rows_changed_since(dsn: str, tmp_path: Path) -> None:
    from importlib.resources import files

    from python_tasks.exports.catalog import Campaign
    from python_tasks.exports.files import ExportBlocked, export_campaign_files

    execute(dsn, files("python_tasks.exports").joinpath("exports_schema.sql").read_text())
    campaign = Campaign(code="CMP-WEALTH", name="w", name_zh="w", tiers=("gold",), channels=("sms",),
                        frequency_cap_days=0, reason="r")
    assert gate(dsn, run_id="run-1").passed
    export_campaign_files(dsn, D, "run-1", tmp_path, [campaign])
    # After the gate: a row the suite would refuse, then the export task retried with the passing run id.
    execute(dsn, "update exports.campaign_members set mobile = '12345' "
                 "where as_of_date = %s and customer_id = 'C000002'",
            (D,))
    with pytest.raises(ExportBlocked, match="changed since the gate"):
        export_campaign_files(dsn, D, "run-1", tmp_path, [campaign])
    assert "12345" not in (tmp_path / D.isoformat() / "CMP-WEALTH.csv").read_text(encoding="utf-8-sig")
    # Gated again, the bad row fails the gate, and the export stays refused.
    assert not gate(dsn, run_id="run-2").passed
    with pytest.raises(ExportBlocked, match="gate failed"):
        export_campaign_files(dsn, D, "run-1", tmp_path, [campaign])
