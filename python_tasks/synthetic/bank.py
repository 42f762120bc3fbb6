"""The synthetic bank: one call fills the core-banking source database and the landing folder.

    generate(source_dsn, landing_dir, GenerationSpec(customers=10_000, days=90, seed=42))

Everything random comes from numpy generators derived from ``spec.seed`` (see window.stream),
so the same spec gives identical table contents and byte-identical landing files. The
database load runs in one transaction: readers see the old bank or the new one, never half.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from python_tasks.synthetic import holdings, landing, people, transactions
from python_tasks.synthetic.copy_writer import copy_columns
from python_tasks.synthetic.dirt import DirtSpec, FileDirt, apply_dirt
from python_tasks.synthetic.window import Window

log = logging.getLogger(__name__)

SCHEMA_SQL = Path(__file__).with_name("corebank_schema.sql")

# Extraction is incremental on updated_at, so every core table gets an index on it.
UPDATED_AT_TABLES: tuple[str, ...] = (
    "products",
    "customers",
    "contact_details",
    "accounts",
    "daily_balances",
    "transactions",
    "loans",
    "cards",
)
# Primary keys of the two big tables are built after the load: one sort beats 2M inserts
# into a growing btree.
DEFERRED_KEYS: dict[str, str] = {
    "daily_balances": "(account_id, balance_date)",
    "transactions": "(txn_id)",
}


@dataclass(frozen=True)
class GenerationSpec:
    customers: int = 10_000
    days: int = 90
    seed: int = 42
    end_date: date = date(2026, 9, 30)  # last business date generated
    dirt: DirtSpec | None = None  # spoil the landing files (tests of the loader); None = clean

    @property
    def start_date(self) -> date:
        return Window.ending(self.end_date, self.days).start


@dataclass(frozen=True)
class GenerationResult:
    spec: GenerationSpec
    start_date: date
    end_date: date
    row_counts: dict[str, int]  # "core.customers" -> n, ..., "landing/<feed>" -> n over all dates
    landing_files: int
    dirt: dict[str, FileDirt] | None = None  # what was planted, per "<date>/<file>", when spec.dirt


def _validate(spec: GenerationSpec) -> None:
    if spec.customers < 1:
        raise ValueError("customers must be >= 1")
    if spec.days < 1:
        raise ValueError("days must be >= 1")
    if not 0 <= spec.seed < 2**31:
        raise ValueError("seed must fit the generation table's integer column")


def generate(source_dsn: str, landing_dir: Path, spec: GenerationSpec) -> GenerationResult:
    """(Re)create schemas core and synthetic_truth in the source database, fill them, write the
    window's date folders under ``landing_dir`` and record the run in synthetic_truth.generation.
    Only the date folders of the window are replaced; other dates in ``landing_dir`` stay."""
    _validate(spec)
    started = time.perf_counter()
    window = Window.ending(spec.end_date, spec.days)
    seed = spec.seed
    landing_dir = Path(landing_dir)

    pop = people.build_population(spec.customers, window, seed)
    acc = holdings.build_accounts(pop, window, seed)
    feeds = landing.build_feeds(pop, window, seed, holdings.openings(acc, window))
    landing.apply_consent(pop, feeds["consent_changes"], window)
    txns = transactions.transactions_columns(pop, acc, window, seed)
    log.info("model built in %.1fs", time.perf_counter() - started)

    counts: dict[str, int] = {}
    with psycopg.connect(source_dsn) as conn:
        # Durability of this bulk load is not worth waiting for fsync on each commit.
        conn.execute("set local synchronous_commit = off")
        conn.execute("set local maintenance_work_mem = '256MB'")
        conn.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        for table in DEFERRED_KEYS:
            conn.execute(f"alter table core.{table} drop constraint {table}_pkey")
        loads = (
            ("core.products", holdings.products_columns(window)),
            ("core.customers", people.customers_columns(pop, window)),
            ("core.contact_details", people.contacts_columns(pop)),
            ("core.accounts", holdings.accounts_columns(acc, pop, window)),
            ("core.loans", holdings.loans_columns(acc, pop, window)),
            ("core.cards", holdings.cards_columns(acc, pop, window, seed)),
            ("synthetic_truth.customer_truth", people.truth_columns(pop, window)),
            ("core.transactions", txns),
            ("core.daily_balances", holdings.balance_chunks(acc, pop, window, seed)),
        )
        for table, columns in loads:
            counts[table] = copy_columns(conn, table, columns)
        for table, key in DEFERRED_KEYS.items():
            conn.execute(f"alter table core.{table} add primary key {key}")
        for table in UPDATED_AT_TABLES:
            conn.execute(f"create index {table}_updated_at_idx on core.{table} (updated_at)")
        conn.execute(
            "insert into synthetic_truth.generation (seed, customers, days, start_date, end_date)"
            " values (%s, %s, %s, %s, %s)",
            (seed, spec.customers, spec.days, window.start, window.end),
        )
        counts["synthetic_truth.generation"] = 1
        log.info("database loaded in %.1fs", time.perf_counter() - started)
    # Statistics for the extraction queries; outside the load transaction so a slow analyze
    # never holds the new bank back.
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(
            "analyze core.daily_balances, core.transactions, core.accounts, core.customers"
        )

    files = landing.write_landing(landing_dir, window, feeds)
    planted = apply_dirt(landing_dir, window, spec.dirt, seed) if spec.dirt is not None else None
    counts.update(landing.row_counts(feeds))
    log.info(
        "generated %d customers x %d days (%s..%s) in %.1fs",
        spec.customers,
        spec.days,
        window.start,
        window.end,
        time.perf_counter() - started,
    )
    return GenerationResult(
        spec=spec,
        start_date=window.start,
        end_date=window.end,
        row_counts=counts,
        landing_files=files,
        dirt=planted,
    )
