"""Incremental extract of the core-banking database into ``raw``, streamed with COPY.

Each table moves the rows whose ``updated_at`` falls in the window of the logical date:
after the high watermark of the latest earlier loaded date, up to the end of the logical date
(Asia/Shanghai). Re-running a date reuses the same window and replaces that date's batch in
one transaction, so two runs leave exactly the state of one.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from python_tasks.db import connect
from python_tasks.ingest.bootstrap import ensure_ops_schema

log = logging.getLogger(__name__)

BANK_TZ = ZoneInfo("Asia/Shanghai")
SOURCE_SCHEMA = "core"
CORE_TABLES: tuple[str, ...] = (
    "products",
    "customers",
    "contact_details",
    "accounts",
    "daily_balances",
    "transactions",
    "loans",
    "cards",
)
LOAD_METADATA = (
    ("_run_id", "text not null"),
    ("_logical_date", "date not null"),
    ("_source", "text not null"),
    ("_loaded_at", "timestamptz not null"),
)
EPOCH = datetime(1900, 1, 1, tzinfo=BANK_TZ)


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    low_wm: datetime
    high_wm: datetime
    seconds: float


def raw_table_name(table: str) -> str:
    return f"corebank__{table}"


def end_of_day(logical_date: date) -> datetime:
    """Last instant of the business day in the bank's time zone (exclusive bound is next midnight)."""
    return datetime.combine(logical_date + timedelta(days=1), datetime.min.time(), BANK_TZ)


def _source_columns(src: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    rows = src.execute(
        """
        select column_name, format_type(a.atttypid, a.atttypmod)
        from information_schema.columns c
        join pg_attribute a
          on a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
         and a.attname = c.column_name
        where c.table_schema = %s and c.table_name = %s
        order by c.ordinal_position
        """,
        (SOURCE_SCHEMA, table),
    ).fetchall()
    if not rows:
        raise LookupError(
            f"source table {SOURCE_SCHEMA}.{table} not found; generate the synthetic bank with "
            "`crm generate` or point CRM_SOURCE_DSN at the core-banking database"
        )
    return [(r[0], r[1]) for r in rows]


def _ensure_raw_table(wh: psycopg.Connection, table: str, columns: list[tuple[str, str]]) -> list[str]:
    """Create the raw table on first sight; add columns the source grew since. Returns loadable columns."""
    raw = raw_table_name(table)
    defs = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns]
    defs += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in LOAD_METADATA]
    wh.execute(
        sql.SQL("create table if not exists raw.{} ({})").format(sql.Identifier(raw), sql.SQL(", ").join(defs))
    )
    wh.execute(
        sql.SQL("create index if not exists {} on raw.{} (_logical_date)").format(
            sql.Identifier(f"{raw}_logical_date_idx"), sql.Identifier(raw)
        )
    )
    existing = {
        r[0]
        for r in wh.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s",
            (raw,),
        )
    }
    for name, type_ in columns:
        if name not in existing:
            log.warning("schema drift: %s.%s gained column %s %s; adding it to raw", SOURCE_SCHEMA, table, name, type_)
            wh.execute(
                sql.SQL("alter table raw.{} add column {} {}").format(
                    sql.Identifier(raw), sql.Identifier(name), sql.SQL(type_)
                )
            )
    return [c for c, _ in columns]


def _low_watermark(wh: psycopg.Connection, table: str, logical_date: date) -> datetime:
    row = wh.execute(
        """
        select high_wm from ops.watermarks
        where source = %s and logical_date < %s
        order by logical_date desc limit 1
        """,
        (f"{SOURCE_SCHEMA}.{table}", logical_date),
    ).fetchone()
    return row[0] if row else EPOCH


def load_table(src: psycopg.Connection, wh: psycopg.Connection, table: str, logical_date: date,
               run_id: str) -> TableLoad:
    """Move one table's window for ``logical_date``; commits on the warehouse connection."""
    started = time.perf_counter()
    started_at = datetime.now(BANK_TZ)
    columns = _source_columns(src, table)
    col_names = _ensure_raw_table(wh, table, columns)
    low = _low_watermark(wh, table, logical_date)
    high = end_of_day(logical_date)
    source = f"{SOURCE_SCHEMA}.{table}"
    raw = raw_table_name(table)
    select_cols = sql.SQL(", ").join(sql.Identifier(c) for c in col_names)
    extract = sql.SQL(
        "copy (select {cols}, {run_id}, {ld}::date, {source}, now() from {schema}.{table} "
        "where updated_at > {low} and updated_at < {high}) to stdout"
    ).format(
        cols=select_cols,
        run_id=sql.Literal(run_id),
        ld=sql.Literal(logical_date),
        source=sql.Literal(source),
        schema=sql.Identifier(SOURCE_SCHEMA),
        table=sql.Identifier(table),
        low=sql.Literal(low),
        high=sql.Literal(high),
    )
    load = sql.SQL("copy raw.{raw} ({cols}, _run_id, _logical_date, _source, _loaded_at) from stdin").format(
        raw=sql.Identifier(raw), cols=select_cols
    )
    with wh.transaction():
        wh.execute(
            sql.SQL("delete from raw.{} where _logical_date = %s").format(sql.Identifier(raw)), (logical_date,)
        )
        # Stream block by block from one server to the other: memory stays flat whatever the size.
        with src.cursor().copy(extract) as out, wh.cursor().copy(load) as inp:
            for block in out:
                inp.write(block)
        rows = wh.execute(
            sql.SQL("select count(*) from raw.{} where _logical_date = %s").format(sql.Identifier(raw)),
            (logical_date,),
        ).fetchone()[0]
        wh.execute(
            """
            insert into ops.watermarks (source, logical_date, low_wm, high_wm, rows_moved, run_id)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (source, logical_date) do update
               set low_wm = excluded.low_wm, high_wm = excluded.high_wm,
                   rows_moved = excluded.rows_moved, run_id = excluded.run_id, loaded_at = now()
            """,
            (source, logical_date, low, high, rows, run_id),
        )
        wh.execute(
            """
            insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                        rows_quarantined, status, started_at)
            values (%s, %s, %s, %s, %s, 0, 'loaded', %s)
            """,
            (run_id, logical_date, source, rows, rows, started_at),
        )
    seconds = time.perf_counter() - started
    log.info("%s: %d rows for %s (window %s .. %s) in %.1fs", source, rows, logical_date, low, high, seconds)
    return TableLoad(table, rows, low, high, seconds)


def load_corebank(source_dsn: str, warehouse_dsn: str, logical_date: date, run_id: str,
                  tables: tuple[str, ...] = CORE_TABLES) -> dict[str, int]:
    """Extract every core-banking table for one logical date. Returns rows moved per table."""
    with connect(source_dsn) as src, connect(warehouse_dsn) as wh:
        ensure_ops_schema(wh)
        wh.commit()
        return {t: load_table(src, wh, t, logical_date, run_id).rows for t in tables}
