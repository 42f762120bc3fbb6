"""Incremental core-banking extract against a real Postgres: windows, ties, tombstones, late rows, faults."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

import psycopg
import pytest

from python_tasks.config import REPO_ROOT
from python_tasks.ingest.corebank import load_corebank
from python_tasks.ingest.test_hooks import ENV_BLOCK_DELAY
from python_tasks.ingest.watermarks import BANK_TZ, end_of_day
from python_tasks.synthetic.bank import GenerationSpec, generate
from tests.pgtools import create_database, drop_database

pytestmark = pytest.mark.integration

END = date(2026, 9, 30)
SPEC = GenerationSpec(customers=600, days=6, seed=11, end_date=END)
DATES = [END - timedelta(days=i) for i in range(SPEC.days - 1, -1, -1)]
TABLES_AND_KEYS = {
    "customers": "customer_id", "accounts": "account_id", "transactions": "txn_id",
    "daily_balances": "account_id, balance_date", "contact_details": "customer_id",
}


def scalar(dsn: str, query: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.fixture(scope="module")
def bank(pg_admin_dsn, tmp_path_factory):
    source = create_database(pg_admin_dsn, "ingsrc")
    generate(source, tmp_path_factory.mktemp("landing"), SPEC)
    yield source
    drop_database(pg_admin_dsn, source)


@pytest.fixture
def warehouse(pg_admin_dsn):
    dsn = create_database(pg_admin_dsn, "ingwh")
    yield dsn
    drop_database(pg_admin_dsn, dsn)


def test_backfill_in_order_moves_every_source_row_exactly_once(bank, warehouse):
    for d in DATES:
        load_corebank(bank, warehouse, d, f"run-{d}")
    for table, key in TABLES_AND_KEYS.items():
        in_source = scalar(bank, f"select count(*) from core.{table} where updated_at < %s", end_of_day(END))
        assert scalar(warehouse, f"select count(*) from raw.corebank__{table}") == in_source
        assert scalar(warehouse, f"select count(distinct ({key})) from raw.corebank__{table}") == in_source
        for d in DATES:  # each date holds exactly the rows recorded that day
            lo = end_of_day(d - timedelta(days=1)) if d != DATES[0] else datetime(1900, 1, 1, tzinfo=BANK_TZ)
            expected = scalar(bank, f"select count(*) from core.{table} where updated_at >= %s and updated_at < %s",
                              lo, end_of_day(d))
            assert scalar(warehouse, f"select count(*) from raw.corebank__{table} where _logical_date = %s",
                          d) == expected
    # the audit equation holds for every table and date
    assert scalar(warehouse, "select count(*) from ops.load_audit") == len(DATES) * 8
    assert scalar(warehouse, "select count(*) from ops.load_audit where rows_read <> rows_loaded") == 0


def test_rerunning_a_date_twice_leaves_the_state_of_one_run(bank, warehouse):
    for d in DATES[:4]:
        load_corebank(bank, warehouse, d, f"run-{d}")
    before = scalar(warehouse, "select count(*) from raw.corebank__transactions where _logical_date = %s", DATES[2])
    load_corebank(bank, warehouse, DATES[2], "rerun-1")
    load_corebank(bank, warehouse, DATES[2], "rerun-2")
    assert scalar(warehouse, "select count(*) from raw.corebank__transactions where _logical_date = %s",
                  DATES[2]) == before
    assert scalar(warehouse, "select count(*) from raw.corebank__transactions where _run_id = 'rerun-2'") == before
    assert scalar(warehouse, "select count(*) - count(distinct txn_id) from raw.corebank__transactions") == 0


def test_late_transactions_are_loaded_on_the_date_they_were_recorded(bank, warehouse):
    late = scalar(bank, "select count(*) from core.transactions where updated_at >= %s "
                        "and (updated_at at time zone 'Asia/Shanghai')::date "
                        "> (txn_ts at time zone 'Asia/Shanghai')::date "
                        "and updated_at < %s", end_of_day(DATES[0]), end_of_day(END))
    assert late > 0, "the generator plants late-arriving transactions"
    for d in DATES:
        load_corebank(bank, warehouse, d, f"run-{d}", tables=("transactions",))
    assert scalar(warehouse, "select count(*) from raw.corebank__transactions "
                             "where _logical_date > (txn_ts at time zone 'Asia/Shanghai')::date "
                             "and _logical_date > %s", DATES[0]) == late
    assert scalar(warehouse, "select count(*) from raw.corebank__transactions "
                             "where _logical_date <> (updated_at at time zone 'Asia/Shanghai')::date "
                             "and _logical_date > %s", DATES[0]) == 0


def test_tombstones_are_carried_into_raw(bank, warehouse):
    load_corebank(bank, warehouse, END, "run", tables=("customers",))
    erased = scalar(bank, "select count(*) from core.customers where is_deleted")
    assert erased > 0
    assert scalar(warehouse, "select count(*) from raw.corebank__customers where is_deleted") == erased


# ---- a hand-made source: ties at the watermark, the midnight boundary, out-of-order dates ----

D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)
T = datetime(2026, 9, 1, 15, 0, tzinfo=BANK_TZ)


@pytest.fixture
def tiny_source(pg_admin_dsn):
    dsn = create_database(pg_admin_dsn, "ingtiny")
    with psycopg.connect(dsn) as conn:
        conn.execute("create schema core; create table core.things (thing_id text primary key, v int, "
                     "updated_at timestamptz not null)")
        conn.cursor().executemany("insert into core.things values (%s, 0, %s)", [("k1", T), ("k2", T), ("k3", T)])
    yield dsn
    drop_database(pg_admin_dsn, dsn)


def _insert(dsn: str, rows: list[tuple[str, datetime]]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.cursor().executemany("insert into core.things values (%s, 0, %s)", rows)


def _per_date(dsn: str) -> dict[date, int]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("select _logical_date, count(*) from raw.corebank__things group by 1").fetchall())


def test_rows_sharing_updated_at_at_the_watermark_are_neither_lost_nor_duplicated(tiny_source, warehouse):
    load_corebank(tiny_source, warehouse, D1, "r1", tables=("things",))
    assert scalar(warehouse, "select high_key from ops.watermarks where logical_date = %s", D1) == "k3"
    # committed after the D1 extract, same updated_at as the watermark, larger key; and one row
    # exactly at midnight, which belongs to the next day
    _insert(tiny_source, [("k4", T), ("m1", end_of_day(D1))])
    load_corebank(tiny_source, warehouse, D2, "r2", tables=("things",))
    load_corebank(tiny_source, warehouse, D1, "r1-again", tables=("things",))  # pinned: cannot take k4
    assert _per_date(warehouse) == {D1: 3, D2: 2}
    assert scalar(warehouse, "select count(distinct thing_id) from raw.corebank__things") == 5


def test_dates_run_out_of_order_never_pull_a_row_twice(tiny_source, warehouse):
    _insert(tiny_source, [("d2", T + timedelta(days=1)), ("d3", T + timedelta(days=2))])
    load_corebank(tiny_source, warehouse, D3, "r3", tables=("things",))  # pulls everything up to D3
    load_corebank(tiny_source, warehouse, D1, "r1", tables=("things",))  # behind D3: nothing left
    load_corebank(tiny_source, warehouse, D2, "r2", tables=("things",))
    load_corebank(tiny_source, warehouse, D3, "r3-again", tables=("things",))
    assert _per_date(warehouse) == {D3: 5}
    # windows tile: each date starts where the previous one ends
    with psycopg.connect(warehouse) as conn:
        wm = conn.execute(
            "select low_wm, low_key, high_wm, high_key from ops.watermarks order by logical_date").fetchall()
    assert [w[2:] for w in wm[:-1]] == [w[:2] for w in wm[1:]]


# ---- faults ----

FAULT_TABLE = "transactions"


def _copy_progress(dsn: str, dbname: str) -> int:
    return scalar(dsn, "select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy p "
                       "join pg_database d on d.oid = p.datid where d.datname = %s and p.command = 'COPY FROM'", dbname)


def _wait_for_copy(admin_dsn: str, dbname: str, rows: int = 20, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _copy_progress(admin_dsn, dbname) < rows:
        assert time.monotonic() < deadline, "the load never reached its COPY"
        time.sleep(0.05)


def _expected_rows(bank: str) -> int:
    return scalar(bank, f"select count(*) from core.{FAULT_TABLE} where updated_at < %s", end_of_day(END))


def test_loader_killed_mid_copy_then_rerun_loads_exact_counts(bank, warehouse, pg_admin_dsn):
    from psycopg.conninfo import conninfo_to_dict

    code = ("import sys; from datetime import date; from python_tasks.ingest.corebank import load_corebank; "
            f"load_corebank(sys.argv[1], sys.argv[2], date.fromisoformat('{END}'), 'killed', "
            f"tables=('{FAULT_TABLE}',))")
    env = dict(os.environ, **{ENV_BLOCK_DELAY: "0.002"})
    child = subprocess.Popen([sys.executable, "-c", code, bank, warehouse], cwd=REPO_ROOT, env=env)
    try:
        _wait_for_copy(pg_admin_dsn, conninfo_to_dict(warehouse)["dbname"])
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    load_corebank(bank, warehouse, END, "rerun", tables=(FAULT_TABLE,))
    expected = _expected_rows(bank)
    assert scalar(warehouse, f"select count(*) from raw.corebank__{FAULT_TABLE}") == expected
    assert scalar(warehouse, f"select count(distinct txn_id) from raw.corebank__{FAULT_TABLE}") == expected
    assert scalar(warehouse, "select count(*) from ops.load_audit") == 1
    assert scalar(warehouse, "select count(*) from ops.watermarks where run_id = 'killed'") == 0


def test_warehouse_connection_lost_mid_load_then_retry_loads_exact_counts(bank, warehouse, pg_admin_dsn, monkeypatch):
    from psycopg.conninfo import conninfo_to_dict

    dbname = conninfo_to_dict(warehouse)["dbname"]
    monkeypatch.setenv(ENV_BLOCK_DELAY, "0.002")

    def kill_the_backend() -> None:
        _wait_for_copy(pg_admin_dsn, dbname)
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute("select pg_terminate_backend(pid) from pg_stat_progress_copy p "
                          "join pg_database d on d.oid = p.datid where d.datname = %s", (dbname,))

    killer = threading.Thread(target=kill_the_backend)
    killer.start()
    with pytest.raises(psycopg.OperationalError):
        load_corebank(bank, warehouse, END, "first-try", tables=(FAULT_TABLE,))
    killer.join()
    monkeypatch.delenv(ENV_BLOCK_DELAY)
    load_corebank(bank, warehouse, END, "retry", tables=(FAULT_TABLE,))  # what the task's retry does
    expected = _expected_rows(bank)
    assert scalar(warehouse, f"select count(*) from raw.corebank__{FAULT_TABLE}") == expected
    assert scalar(warehouse, f"select count(distinct txn_id) from raw.corebank__{FAULT_TABLE}") == expected
    assert scalar(warehouse, "select count(*) from ops.load_audit where run_id = 'first-try'") == 0
    assert scalar(warehouse, "select rows_read, rows_loaded from ops.load_audit where run_id = 'retry'") == expected
