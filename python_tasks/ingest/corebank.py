"""Incremental extract of the core-banking database into ``raw``, streamed with COPY.

Each table moves the rows of the logical date's window (see ``watermarks`` for the rule):
positions ``(updated_at, primary key)`` after the previous loaded date's high watermark, up to
the end of the logical date (Asia/Shanghai) or up to where a later loaded date begins. The
extract reads one repeatable-read snapshot of the source, so the rows copied and the high
watermark recorded agree. Re-running a date replaces that date's batch in one warehouse
transaction: two runs leave exactly the state of one, and a run killed half way leaves nothing.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from python_tasks.db import connect
from python_tasks.ingest import test_hooks
from python_tasks.ingest import watermarks as wm
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.contracts import (
    Contract,
    ContractViolationError,
    contract_for,
    failure_message,
    find_sql,
    rules,
)
from python_tasks.ingest.load_audit import replace_audit
from python_tasks.ingest.watermarks import BANK_TZ, EPOCH, end_of_day  # noqa: F401  (public names)

log = logging.getLogger(__name__)

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
KEY_SEPARATOR = "\x1f"  # ASCII unit separator: never inside a key, so composite keys cannot collide


class LoadMismatchError(RuntimeError):
    """The rows written to raw differ from the rows read from the source."""


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    low_wm: datetime
    high_wm: datetime
    seconds: float


def raw_table_name(table: str) -> str:
    return f"corebank__{table}"


def _source_columns(src: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    rows = src.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        where a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))
          and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (SOURCE_SCHEMA, table),
    ).fetchall()
    if not rows:
        raise LookupError(
            f"source table {SOURCE_SCHEMA}.{table} not found; generate the synthetic bank with "
            "`crm generate` or point CRM_SOURCE_DSN at the core-banking database"
        )
    return [(r[0], r[1]) for r in rows]


def _key_columns(src: psycopg.Connection, table: str) -> list[str]:
    rows = src.execute(
        """
        select a.attname
        from pg_index i
        join lateral unnest(i.indkey) with ordinality as k(attnum, ord) on true
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
        where i.indrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) and i.indisprimary
        order by k.ord
        """,
        (SOURCE_SCHEMA, table),
    ).fetchall()
    if not rows:
        raise LookupError(
            f"source table {SOURCE_SCHEMA}.{table} has no primary key; the incremental extract needs one "
            "to break ties between rows with the same updated_at. Add a primary key in the source."
        )
    return [r[0] for r in rows]


def key_expression(key_columns: list[str]) -> sql.Composable:
    """The tie-break key as text in the "C" collation (byte order: locale-independent)."""
    parts = [sql.SQL("{}::text").format(sql.Identifier(c)) for c in key_columns]
    if len(parts) == 1:
        return sql.SQL("({} collate \"C\")").format(parts[0])
    return sql.SQL("(concat_ws({}, {}) collate \"C\")").format(sql.Literal(KEY_SEPARATOR), sql.SQL(", ").join(parts))


def window_predicate(window: wm.Window, key: sql.Composable) -> sql.Composable:
    """``updated_at`` ranges come first so the source's updated_at index bounds the scan."""
    low = sql.SQL(
        "updated_at >= {lt} and (updated_at, {key}) > ({lt}::timestamptz, {lk}::text collate \"C\")"
    ).format(lt=sql.Literal(window.low.updated_at), lk=sql.Literal(window.low.key), key=key)
    if window.high is None:
        high = sql.SQL("updated_at < {}").format(sql.Literal(window.cutoff))
    else:
        high = sql.SQL(
            "updated_at <= {ht} and (updated_at, {key}) <= ({ht}::timestamptz, {hk}::text collate \"C\")"
        ).format(ht=sql.Literal(window.high.updated_at), hk=sql.Literal(window.high.key), key=key)
    return sql.SQL("{} and {}").format(low, high)


def _ensure_raw_table(wh: psycopg.Connection, table: str, columns: list[tuple[str, str]], *,
                      run_id: str, logical_date: date) -> list[str]:
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
            wh.execute(
                """
                insert into ops.schema_drift (run_id, logical_date, source, change, column_name, detail)
                values (%s, %s, %s, 'column_added_to_raw', %s, %s)
                """,
                (run_id, logical_date, f"{SOURCE_SCHEMA}.{table}", name, f"source gained {name} {type_}"),
            )
    return [c for c, _ in columns]


def load_table(src: psycopg.Connection, wh: psycopg.Connection, table: str, logical_date: date,
               run_id: str) -> TableLoad:
    """Move one table's window for ``logical_date``; commits on the warehouse connection.

    ``src`` should be a repeatable-read connection (``load_corebank`` opens one): the COPY and the
    high-watermark query then read the same snapshot. This function ends the source transaction.
    """
    started = time.perf_counter()
    started_at = datetime.now(BANK_TZ)
    source = f"{SOURCE_SCHEMA}.{table}"
    raw = raw_table_name(table)
    delay = test_hooks.block_delay()
    try:
        columns = _source_columns(src, table)
        key = key_expression(_key_columns(src, table))
        with wh.transaction():
            # One loader per source table at a time: two runs racing on one date would each
            # delete the other's half-written batch.
            wh.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"crm.ingest:{source}",))
            col_names = _ensure_raw_table(wh, table, columns, run_id=run_id, logical_date=logical_date)
            window = wm.window_for(wh, source, logical_date)
            where = window_predicate(window, key)
            select_cols = sql.SQL(", ").join(sql.Identifier(c) for c in col_names)
            extract = sql.SQL(
                "copy (select {cols}, {run_id}, {ld}::date, {source}, now() from {schema}.{table} where {where}) "
                "to stdout"
            ).format(cols=select_cols, run_id=sql.Literal(run_id), ld=sql.Literal(logical_date),
                     source=sql.Literal(source), schema=sql.Identifier(SOURCE_SCHEMA),
                     table=sql.Identifier(table), where=where)
            load = sql.SQL("copy raw.{raw} ({cols}, _run_id, _logical_date, _source, _loaded_at) from stdin").format(
                raw=sql.Identifier(raw), cols=select_cols
            )
            wh.execute(
                sql.SQL("delete from raw.{} where _logical_date = %s").format(sql.Identifier(raw)), (logical_date,)
            )
            wh.execute("delete from ops.quarantine where logical_date = %s and source = %s", (logical_date, source))
            # Stream block by block from one server to the other: memory stays flat whatever the size.
            with src.cursor() as out_cur, wh.cursor() as in_cur:
                with out_cur.copy(extract) as out, in_cur.copy(load) as inp:
                    for block in out:
                        inp.write(block)
                        test_hooks.pause_after_block(delay)
                read = out_cur.rowcount
            if window.high is not None:
                high = window.high
            else:
                last = src.execute(
                    sql.SQL("select updated_at, {key} from {schema}.{table} where {where} "
                            "order by updated_at desc, {key} desc limit 1").format(
                        key=key, schema=sql.Identifier(SOURCE_SCHEMA), table=sql.Identifier(table), where=where)
                ).fetchone()
                high = wm.Position(last[0], last[1]) if last else window.low
            contract = contract_for(source)
            quarantined = 0
            if contract:
                orphans = _orphans_in_source(src, contract, table, where)
                quarantined = _quarantine_breaches(wh, contract, columns, raw, logical_date, run_id, orphans)
            loaded = wh.execute(
                sql.SQL("select count(*) from raw.{} where _logical_date = %s").format(sql.Identifier(raw)),
                (logical_date,),
            ).fetchone()[0]
            if loaded + quarantined != read:
                raise LoadMismatchError(
                    f"{source} for {logical_date}: read {read} rows from the source but raw.{raw} holds {loaded} "
                    f"and {quarantined} were quarantined; the batch was rolled back. Check for concurrent writers "
                    "to raw and re-run the date."
                )
            wm.record(wh, source=source, logical_date=logical_date, window=window, high=high, rows=loaded,
                      run_id=run_id)
            replace_audit(wh, logical_date, source)
            wh.execute(
                """
                insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                            rows_quarantined, status, detail, started_at)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (run_id, logical_date, source, read, loaded, quarantined,
                 "loaded_with_quarantine" if quarantined else "loaded",
                 f"window ({window.low.updated_at}, {window.low.key!r}) .. "
                 + (f"({high.updated_at}, {high.key!r}]" if window.pinned else f"< {window.cutoff}"),
                 started_at),
            )
    except ContractViolationError as exc:
        log.error("%s", exc)
        with wh.transaction():
            wh.execute(
                """
                insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                            rows_quarantined, status, detail, started_at)
                values (%s, %s, %s, 0, 0, 0, 'contract_failed', %s, %s)
                """, (run_id, logical_date, source, str(exc), started_at))
        raise
    finally:
        src.rollback()  # read-only: ends the snapshot either way
    seconds = time.perf_counter() - started
    log.info("%s: %d rows for %s (after %s, up to %s) in %.1fs", source, loaded, logical_date,
             window.low, window.high or window.cutoff, seconds)
    return TableLoad(table, loaded, window.low.updated_at, high.updated_at, seconds)


def _orphans_in_source(src: psycopg.Connection, contract: Contract, table: str,
                       where: sql.Composable) -> dict[str, list[str]]:
    """Values of the window's rows that reference no row in the source (the extract's snapshot).

    Asked of the source, not of raw: the source keeps each row's latest version only, so a
    customer changed today arrives in raw today, after accounts of his extracted days ago."""
    out = {}
    for column, (target, target_col) in contract.references.items():
        schema, _, target_table = target.partition(".")
        if schema != SOURCE_SCHEMA:
            raise ValueError(f"{contract.source}: references {target}; core tables reference core tables only")
        out[column] = [r[0] for r in src.execute(sql.SQL(
            "select distinct r.{c}::text from {s}.{t} r where {where} "
            "and not exists (select 1 from {s}.{tt} x where x.{tc} = r.{c})").format(
                c=sql.Identifier(column), s=sql.Identifier(SOURCE_SCHEMA), t=sql.Identifier(table), where=where,
                tt=sql.Identifier(target_table), tc=sql.Identifier(target_col))).fetchall()]
    return out


def _quarantine_breaches(wh: psycopg.Connection, contract: Contract, columns: list[tuple[str, str]], raw: str,
                         logical_date: date, run_id: str, orphans: dict[str, list[str]]) -> int:
    """Move the date's rows that break the table's source contract to ops.quarantine (the row as
    JSON, the rule, the key); raise ContractViolationError instead when the contract says fail."""
    kinds = {c: "date" if t == "date" else "timestamptz"
             for c, t in columns if t == "date" or t.startswith("timestamp")}
    table = sql.Identifier("raw", raw)
    found = find_sql(rules(contract, logical_date, kinds=kinds, cast=False, orphans=orphans), table,
                     sql.SQL("r._logical_date = {}").format(sql.Literal(logical_date)))
    if contract.on_violation == "fail":
        breaches = wh.execute(sql.SQL("select reason, detail from ({}) v").format(found)).fetchall()
        if breaches:
            raise ContractViolationError(failure_message(contract, f"{contract.source} for {logical_date}", breaches))
        return 0
    moved = wh.execute(sql.SQL(
        """
        with bad as ({found}),
        m as (
            delete from {table} r using bad where r.ctid = bad.row_ctid
            returning r.*, bad.reason as _q_reason, bad.detail as _q_detail
        )
        insert into ops.quarantine (run_id, logical_date, source, raw_line, reason_code, detail)
        select {run_id}, {d}, {source},
               (to_jsonb(m) - '_q_reason' - '_q_detail' - '_run_id' - '_logical_date' - '_source' - '_loaded_at')::text,
               m._q_reason, m._q_detail
        from m
        """).format(found=found, table=table, run_id=sql.Literal(run_id), d=sql.Literal(logical_date),
                    source=sql.Literal(contract.source))).rowcount
    if moved:
        log.warning("%s for %s: %d row(s) break the source contract, quarantined (ops.quarantine)",
                    contract.source, logical_date, moved)
    return moved


def load_corebank(source_dsn: str, warehouse_dsn: str, logical_date: date, run_id: str,
                  tables: tuple[str, ...] = CORE_TABLES) -> dict[str, int]:
    """Extract every core-banking table for one logical date. Returns rows moved per table.

    Each table commits on its own; a failure part way (a dead server, a killed worker) leaves the
    finished tables loaded and the others untouched, and the task's retry redoes the whole date.
    """
    with connect(source_dsn) as src, connect(warehouse_dsn) as wh:
        src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        src.read_only = True
        # Composite keys hold dates as text: pin their format so positions compare the same every run.
        src.execute("set datestyle = 'ISO, YMD'")
        src.commit()
        ensure_ops_schema(wh)
        wh.commit()
        moved: dict[str, int] = {}
        failed: list[ContractViolationError] = []
        for t in tables:
            try:
                moved[t] = load_table(src, wh, t, logical_date, run_id).rows
            except ContractViolationError as exc:  # the other tables still load; the run fails below
                failed.append(exc)
        if failed:
            raise ContractViolationError(" ".join(str(e) for e in failed))
        return moved
