"""The synthetic bank generator against a real Postgres (small scale).

Each test module run creates its own databases (synthtest_<random>) on the server named by
CRM_TEST_PG_ADMIN_DSN (default: local trust-auth postgres) and drops them afterwards.
"""

from __future__ import annotations

import csv
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from python_tasks.ingest.feeds import FEEDS
from python_tasks.synthetic.bank import GenerationResult, GenerationSpec, generate
from python_tasks.synthetic.identity import is_valid_mobile, is_valid_resident_id

pytestmark = pytest.mark.integration

ADMIN_DSN = os.environ.get(
    "CRM_TEST_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
SMALL = GenerationSpec(customers=300, days=15, seed=7, end_date=date(2026, 9, 30))

CORE_TABLES = {
    "core.products": "product_code",
    "core.customers": "customer_id",
    "core.contact_details": "customer_id",
    "core.accounts": "account_id",
    "core.daily_balances": "account_id, balance_date",
    "core.transactions": "txn_id",
    "core.loans": "loan_id",
    "core.cards": "card_id",
    "synthetic_truth.customer_truth": "customer_id",
}


@pytest.fixture(scope="module")
def make_db() -> Iterator[Callable[[], str]]:
    """Factory for fresh databases; all of them are dropped when the module is done."""
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no Postgres at {ADMIN_DSN}: {exc}")
    created: list[str] = []

    def _make() -> str:
        name = f"synthtest_{uuid.uuid4().hex[:12]}"
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        created.append(name)
        return make_conninfo(ADMIN_DSN, dbname=name)

    yield _make
    for name in created:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
    admin.close()


@pytest.fixture(scope="module")
def small(
    make_db: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[GenerationResult, str, Path]:
    dsn = make_db()
    landing = tmp_path_factory.mktemp("landing")
    # Things generate() must leave alone / must clear.
    (landing / "2020-01-01").mkdir()
    (landing / "2020-01-01" / "keep.csv").write_text("x\n")
    (landing / "2026-09-20").mkdir()
    (landing / "2026-09-20" / "stale.csv").write_text("x\n")
    result = generate(dsn, landing, SMALL)
    return result, dsn, landing


def _scalar(dsn: str, query: str):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchone()[0]


def _table_checksums(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        return {
            table: conn.execute(
                f"select md5(string_agg(t::text, ',' order by {key})) from {table} t"
            ).fetchone()[0]
            for table, key in CORE_TABLES.items()
        }


def _file_hashes(landing: Path, result: GenerationResult) -> dict[str, str]:
    out = {}
    d = result.start_date
    while d <= result.end_date:
        for f in sorted((landing / d.isoformat()).iterdir()):
            out[f"{d}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
        d += timedelta(days=1)
    return out


def test_result_and_row_counts(small) -> None:
    result, dsn, _ = small
    assert result.start_date == date(2026, 9, 16)
    assert result.end_date == date(2026, 9, 30)
    assert result.landing_files == 15 * len(FEEDS)
    with psycopg.connect(dsn) as conn:
        for table in CORE_TABLES:
            n = conn.execute(f"select count(*) from {table}").fetchone()[0]
            assert result.row_counts[table] == n, table
        gen = conn.execute(
            "select seed, customers, days, start_date, end_date " "from synthetic_truth.generation"
        ).fetchall()
    assert gen == [(7, 300, 15, date(2026, 9, 16), date(2026, 9, 30))]
    assert result.row_counts["core.customers"] == 300
    assert result.row_counts["core.transactions"] > 1000
    for feed in FEEDS:
        assert f"landing/{feed}" in result.row_counts


def test_deterministic(small, make_db: Callable[[], str], tmp_path: Path) -> None:
    result, dsn, landing = small
    dsn2 = make_db()
    result2 = generate(dsn2, tmp_path, SMALL)
    assert result2.row_counts == result.row_counts
    assert _file_hashes(tmp_path, result2) == _file_hashes(landing, result)
    assert _table_checksums(dsn2) == _table_checksums(dsn)


def test_different_seed_differs(small, make_db: Callable[[], str], tmp_path: Path) -> None:
    _, dsn, _ = small
    dsn2 = make_db()
    generate(dsn2, tmp_path, GenerationSpec(customers=300, days=15, seed=8))
    assert _table_checksums(dsn2)["core.transactions"] != _table_checksums(dsn)["core.transactions"]


def test_identity_fields_valid(small) -> None:
    _, dsn, _ = small
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select resident_id, gender, birth_date from core.customers").fetchall()
        mobiles = [r[0] for r in conn.execute("select mobile from core.contact_details")]
        dup_people = conn.execute(
            "select count(*) from (select c.resident_id from core.customers c "
            "join synthetic_truth.customer_truth t using (customer_id) group by 1 "
            "having count(*) > 1 and count(distinct t.person_key) = 1 "
            "and count(distinct c.full_name) = 1 and count(distinct c.birth_date) = 1) x"
        ).fetchone()[0]
    for rid, gender, birth in rows:
        assert is_valid_resident_id(rid), rid
        assert rid[6:14] == birth.strftime("%Y%m%d")
        assert (int(rid[16]) % 2 == 1) == (gender == "M")
    assert all(is_valid_mobile(m) for m in mobiles)
    assert dup_people >= 1  # some people hold two customer_ids


def test_referential_integrity(small) -> None:
    _, dsn, _ = small
    checks = {
        "account without customer": "select count(*) from core.accounts a "
        "left join core.customers c using (customer_id) where c.customer_id is null",
        "account without product": "select count(*) from core.accounts a "
        "left join core.products p using (product_code) where p.product_code is null",
        "transaction without account": "select count(*) from core.transactions t "
        "left join core.accounts a using (account_id) where a.account_id is null",
        "transaction customer differs from account's": "select count(*) from core.transactions t "
        "join core.accounts a using (account_id) where a.customer_id <> t.customer_id",
        "balance without account": "select count(*) from core.daily_balances b "
        "left join core.accounts a using (account_id) where a.account_id is null",
        "balance while account not open": "select count(*) from core.daily_balances b "
        "join core.accounts a using (account_id) where b.balance_date < a.opened_on "
        "or b.balance_date >= coalesce(a.closed_on, 'infinity')",
        "transaction while account not open": "select count(*) from core.transactions t "
        "join core.accounts a using (account_id) "
        "where (t.txn_ts at time zone 'Asia/Shanghai')::date "
        "not between a.opened_on and coalesce(a.closed_on - 1, 'infinity')",
        "loan without account": "select count(*) from core.loans l "
        "left join core.accounts a using (account_id) where a.account_id is null",
        "card without account": "select count(*) from core.cards k "
        "left join core.accounts a using (account_id) where a.account_id is null",
        "customer without contact": "select count(*) from core.customers c "
        "left join core.contact_details d using (customer_id) where d.customer_id is null",
        "customer without truth": "select count(*) from core.customers c "
        "left join synthetic_truth.customer_truth t using (customer_id) "
        "where t.customer_id is null",
        "open account of closed customer": "select count(*) from core.accounts a "
        "join core.customers c using (customer_id) where c.status = 'closed' and a.status = 'open'",
        "closed account without date": "select count(*) from core.accounts "
        "where (status = 'closed') <> (closed_on is not null)",
        "sign does not match type": "select count(*) from core.transactions where "
        "(txn_type in ('salary', 'deposit', 'transfer_in') and amount_cny <= 0) or "
        "(txn_type not in ('salary', 'deposit', 'transfer_in') and amount_cny >= 0)",
        "no current account": "select count(*) from core.customers c where not exists ("
        "select 1 from core.accounts a join core.products p using (product_code) "
        "where a.customer_id = c.customer_id and p.product_type = 'current')",
        "duplicate balance": "select count(*) - count(distinct (account_id, balance_date)) "
        "from core.daily_balances",
    }
    with psycopg.connect(dsn) as conn:
        failures = {name: n for name, q in checks.items() if (n := conn.execute(q).fetchone()[0])}
    assert failures == {}


def test_every_open_account_has_every_balance(small) -> None:
    _, dsn, _ = small
    missing = _scalar(
        dsn,
        """
        select count(*) from core.accounts a
        cross join generate_series('2026-09-16'::date, '2026-09-30'::date, '1 day') d(day)
        where d.day >= a.opened_on and d.day < coalesce(a.closed_on, 'infinity')
          and not exists (select 1 from core.daily_balances b
                          where b.account_id = a.account_id and b.balance_date = d.day)""",
    )
    assert missing == 0
    stamps = _scalar(
        dsn,
        "select count(*) from core.daily_balances where updated_at <> "
        "(balance_date + time '22:00') at time zone 'Asia/Shanghai'",
    )
    assert stamps == 0


def test_late_arrivals_and_snapshot_end(small) -> None:
    _, dsn, _ = small
    with psycopg.connect(dsn) as conn:
        late, total = conn.execute(
            "select count(*) filter (where updated_at - txn_ts >= interval '1 day'), count(*) "
            "from core.transactions"
        ).fetchone()
        worst = conn.execute("select max(updated_at - txn_ts) from core.transactions").fetchone()[0]
        early = conn.execute(
            "select count(*) from core.transactions where updated_at < txn_ts"
        ).fetchone()[0]
        for table in (
            "customers",
            "contact_details",
            "accounts",
            "daily_balances",
            "transactions",
            "loans",
            "cards",
            "products",
        ):
            latest = conn.execute(
                f"select max(updated_at) > timestamptz '2026-09-30 23:59:59+08' from core.{table}"
            ).fetchone()[0]
            assert not latest, f"core.{table} has rows updated after the snapshot"
        ids = conn.execute(
            "select count(*) from core.transactions where txn_id !~ '^T[0-9]{12}$'"
        ).fetchone()[0]
    assert late >= 1
    assert late / total < 0.03
    assert worst < timedelta(days=6)
    assert early == 0
    assert ids == 0


def test_tombstones_and_closures(small) -> None:
    result, dsn, landing = small
    with psycopg.connect(dsn) as conn:
        tombs = conn.execute(
            "select customer_id, (updated_at at time zone 'Asia/Shanghai')::date, status "
            "from core.customers where is_deleted"
        ).fetchall()
        closed = conn.execute(
            "select count(*) from core.customers where status = 'closed'"
        ).fetchone()[0]
        dnc = conn.execute(
            "select bool_and(d.do_not_contact) from core.customers c "
            "join core.contact_details d using (customer_id) where c.is_deleted"
        ).fetchone()[0]
    assert tombs, "expected at least one tombstoned customer"
    assert closed >= len(tombs)
    assert dnc
    for cid, day, status in tombs:
        assert result.start_date <= day <= result.end_date
        assert status == "closed"
        with open(
            landing / day.isoformat() / "consent_changes.csv", newline="", encoding="utf-8"
        ) as fh:
            rows = list(csv.DictReader(fh))
        assert any(
            r["customer_id"] == cid and r["channel"] == "all" and r["consent"] == "withdrawn"
            for r in rows
        )


def test_landing_files(small) -> None:
    result, _, landing = small
    assert (landing / "2020-01-01" / "keep.csv").exists()  # outside the window: untouched
    assert not (landing / "2026-09-20" / "stale.csv").exists()  # inside: replaced
    gbk_has_chinese = False
    d = result.start_date
    while d <= result.end_date:
        folder = landing / d.isoformat()
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            f.filename() for f in FEEDS.values()
        )
        for feed in FEEDS.values():
            raw = (folder / feed.filename()).read_bytes()
            text = raw.decode(feed.encoding)  # strict: must decode in the declared encoding
            rows = list(csv.reader(text.splitlines()))
            assert tuple(rows[0]) == feed.columns
            assert all(len(r) == len(feed.columns) for r in rows[1:])
            ids = [r[0] for r in rows[1:]]
            assert len(ids) == len(set(ids))
            for r in rows[1:]:
                ts = r[
                    feed.columns.index(next(c for c in feed.columns if c.endswith(("_ts", "_at"))))
                ]
                assert ts.startswith(d.isoformat() + "T") and ts.endswith("+08:00"), ts
            if feed.encoding == "gbk" and len(rows) > 1:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    gbk_has_chinese = True
                assert all(r[2].startswith("RM") and len(r[2]) == 6 for r in rows[1:])
        d += timedelta(days=1)
    assert gbk_has_chinese, "rm_interactions should carry GBK-encoded Chinese notes"


def test_updated_at_indexes(small) -> None:
    _, dsn, _ = small
    with psycopg.connect(dsn) as conn:
        indexed = {
            r[0]
            for r in conn.execute(
                "select t.relname from pg_index i join pg_class t on t.oid = i.indrelid "
                "join pg_namespace n on n.oid = t.relnamespace join pg_attribute a "
                "on a.attrelid = t.oid and a.attnum = i.indkey[0] "
                "where n.nspname = 'core' and a.attname = 'updated_at'"
            )
        }
        pks = {
            r[0]
            for r in conn.execute(
                "select conrelid::regclass::text from pg_constraint where contype = 'p' "
                "and connamespace = 'core'::regnamespace"
            )
        }
    tables = {
        "products",
        "customers",
        "contact_details",
        "accounts",
        "daily_balances",
        "transactions",
        "loans",
        "cards",
    }
    assert indexed == tables
    assert pks == {f"core.{t}" for t in tables}


@pytest.fixture(scope="module")
def larger(make_db: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    dsn = make_db()
    generate(
        dsn,
        tmp_path_factory.mktemp("landing_larger"),
        GenerationSpec(customers=2000, days=30, seed=11),
    )
    return dsn


def test_wealth_concentration(larger: str) -> None:
    """Heavy tail: the top 20% of customers by deposit + wealth hold at least 70%."""
    share = _scalar(
        larger,
        """
        with held as (
            select a.customer_id, sum(b.balance_cny) as v
            from core.daily_balances b
            join core.accounts a using (account_id)
            join core.products p using (product_code)
            where b.balance_date = (select max(balance_date) from core.daily_balances)
              and p.product_type in ('current', 'term_deposit', 'wealth')
            group by 1),
        ranked as (select v, ntile(5) over (order by v desc) as quintile from held)
        select sum(v) filter (where quintile = 1) / sum(v) from ranked""",
    )
    assert share >= 0.70


def test_personas_are_all_present(larger: str) -> None:
    with psycopg.connect(larger) as conn:
        personas = dict(
            conn.execute(
                "select persona, count(*) from synthetic_truth.customer_truth group by 1"
            ).fetchall()
        )
    assert set(personas) == {
        "hnw_investor",
        "affluent_professional",
        "young_digital",
        "family_mass",
        "senior_saver",
        "dormant_low_value",
    }
