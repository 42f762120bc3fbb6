"""Line checks of a staged file batch, done in bulk in Postgres.

Lines are first written to a staging table as text; this module then moves the ones that fail a
check to ``ops.quarantine`` (same transaction), with the reason and the line number. Checks in
order: missing key, each declared type, then duplicate key among the lines that passed (the first
line of a key stays, later ones go).

The client may already have proven most lines good (``precheck``): a :class:`CheckScope` then
names the only lines the server still has to look at.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import psycopg
from psycopg import sql

from python_tasks.ingest import contracts
from python_tasks.ingest import quarantine as q
from python_tasks.ingest.contracts import Contract
from python_tasks.ingest.feeds import Feed

# ops.input_is_valid (pg_input_is_valid on PostgreSQL 16+) is the real check (fast, exact: it
# rejects 2026-02-30). What it accepts beyond what a feed may send is excluded with cheap string
# tests; Postgres regexes cost 5x the parse.
NOT_NUMBERS = ("nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf")
DATE_TYPES = ("timestamptz", "date")


@dataclass(frozen=True)
class BatchRef:
    table: str  # the staging table, in schema raw
    logical_date: date
    source: str
    source_file: str
    run_id: str
    delimiter: str
    file_columns: tuple[str, ...]  # raw columns in file order, for rebuilding the quarantined line


@dataclass(frozen=True)
class CheckScope:
    """Which lines the server must check. None: all of them; an empty array: none."""
    value_lines: np.ndarray | None = None  # key and type checks
    duplicate_lines: np.ndarray | None = None  # lines whose keys may repeat

    @classmethod
    def everything(cls) -> CheckScope:
        return cls(None, None)


def _invalid(column: str, type_: str) -> sql.Composable:
    col = sql.Identifier(column)
    parses = sql.SQL("ops.input_is_valid({}, {})").format(col, sql.Literal(type_))
    if type_ in DATE_TYPES:
        # ISO 8601 only ("2026-09-30..."): no 'now', 'epoch', 'yesterday', no ambiguous 09/30/2026
        return sql.SQL("not (substr({c}, 1, 1) between '0' and '9' and substr({c}, 5, 1) = '-' and {p})").format(
            c=col, p=parses)
    if type_ in ("numeric",):
        return sql.SQL("not ({p} and lower(btrim({c})) <> all ({bad}))").format(
            c=col, p=parses, bad=sql.Literal(list(NOT_NUMBERS)))
    return sql.SQL("not {}").format(parses)


def _line_filter(conn: psycopg.Connection, lines: np.ndarray | None, temp_table: str) -> sql.Composable:
    """A WHERE condition limiting a check to ``lines`` (held in a temp table), or TRUE for all."""
    if lines is None:
        return sql.SQL("true")
    conn.execute(sql.SQL("create temp table if not exists {} (line bigint not null)").format(
        sql.Identifier(temp_table)))
    conn.execute(sql.SQL("truncate {}").format(sql.Identifier(temp_table)))
    with conn.cursor().copy(sql.SQL("copy {} from stdin").format(sql.Identifier(temp_table))) as cp:
        for i in range(0, len(lines), 100_000):
            cp.write("\n".join(map(str, lines[i:i + 100_000].tolist())) + "\n")
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier(temp_table)))
    return sql.SQL("_source_line in (select line from {})").format(sql.Identifier(temp_table))


def _find_bad_values(conn: psycopg.Connection, feed: Feed, batch: BatchRef, lines: np.ndarray | None) -> int:
    if lines is not None and not len(lines):
        return 0
    key = sql.Identifier(feed.key)
    types = feed.column_types()
    conds = [sql.SQL("btrim({}) = ''").format(key)] + [_invalid(c, t) for c, t in types.items()]
    reasons = [q.MISSING_KEY] + [q.BAD_TIMESTAMP if t in DATE_TYPES else q.WRONG_TYPE for t in types.values()]
    details = [sql.Literal(f"{feed.key} is empty")] + [
        sql.SQL("format('%s=%L is not a valid %s', {c}, {col}, {t})").format(
            c=sql.Literal(c), col=sql.Identifier(c), t=sql.Literal(t))
        for c, t in types.items()]
    reason_case = sql.SQL("case {} end").format(sql.SQL(" ").join(
        sql.SQL("when {} then {}").format(c, sql.Literal(r)) for c, r in zip(conds, reasons)))
    detail_case = sql.SQL("case {} end").format(sql.SQL(" ").join(
        sql.SQL("when {} then {}").format(c, d) for c, d in zip(conds, details)))
    scope = _line_filter(conn, lines, "_crm_value_check_lines")
    # Good lines (nearly all) pay for each check once; only lines failing one get the CASEs.
    return conn.execute(sql.SQL(
        """
        insert into _crm_bad_lines
        select ctid, {reason}, {detail}
        from raw.{t}
        where {scope} and ({any_bad})
        """).format(reason=reason_case, detail=detail_case, t=sql.Identifier(batch.table), scope=scope,
                    any_bad=sql.SQL(" or ").join(conds))).rowcount


def _find_duplicates(conn: psycopg.Connection, feed: Feed, batch: BatchRef, lines: np.ndarray | None) -> int:
    """Later lines of a key that passed the other checks. ``lines`` must hold every line of any
    key that may repeat (the client's hash collisions do), so ranking within them is exact."""
    if lines is not None and not len(lines):
        return 0
    key = sql.Identifier(feed.key)
    t = sql.Identifier(batch.table)
    scope = _line_filter(conn, lines, "_crm_duplicate_check_lines")
    scope_r = sql.SQL("true") if lines is None else sql.SQL(
        "r._source_line in (select line from _crm_duplicate_check_lines)")
    return conn.execute(sql.SQL(
        """
        insert into _crm_bad_lines
        select line_ctid, {r}, format('%s=%s already on line %s of this file', {kn}, k, first_line)
        from (
            select r.ctid as line_ctid, r.{key} as k,
                   row_number() over w as n, first_value(r._source_line) over w as first_line
            from raw.{t} r
            join (select {key} from raw.{t} where {scope} group by {key} having count(*) > 1) dup using ({key})
            where {scope_r}
              and not exists (select 1 from _crm_bad_lines b where b.line_ctid = r.ctid)
            window w as (partition by r.{key} order by r._source_line)
        ) ranked
        where n > 1
        """).format(r=sql.Literal(q.DUPLICATE_KEY), kn=sql.Literal(feed.key), key=key, t=t, scope=scope,
                    scope_r=scope_r)).rowcount


def _new_bad_lines(conn: psycopg.Connection) -> None:
    conn.execute("create temp table if not exists _crm_bad_lines (line_ctid tid, reason text, detail text)")
    conn.execute("truncate _crm_bad_lines")


def move_bad_lines(conn: psycopg.Connection, feed: Feed, batch: BatchRef, scope: CheckScope) -> int:
    """Move lines of the batch that fail a check to quarantine; returns how many moved."""
    _new_bad_lines(conn)
    found = _find_bad_values(conn, feed, batch, scope.value_lines)
    found += _find_duplicates(conn, feed, batch, scope.duplicate_lines)
    return _move(conn, batch, found)


def move_contract_breaches(conn: psycopg.Connection, feed: Feed, batch: BatchRef, contract: Contract) -> int:
    """Apply the feed's source contract to the lines left after the checks above; returns how many
    moved to quarantine. Raises ContractViolationError, moving nothing, when the contract fails."""
    kinds = {c: t for c, t in feed.column_types().items() if t in DATE_TYPES}
    _new_bad_lines(conn)
    found = conn.execute(sql.SQL("insert into _crm_bad_lines {}").format(
        contracts.find_sql(contracts.rules(contract, batch.logical_date, kinds=kinds, cast=True),
                           sql.Identifier("raw", batch.table)))).rowcount
    if found and contract.on_violation == "fail":
        breaches = conn.execute("select reason, detail from _crm_bad_lines").fetchall()
        raise contracts.ContractViolationError(contracts.failure_message(
            contract, f"{batch.source_file} for {batch.logical_date}", breaches))
    return _move(conn, batch, found)


def _move(conn: psycopg.Connection, batch: BatchRef, found: int) -> int:
    """Move the lines named in _crm_bad_lines from the staging table to quarantine."""
    if not found:
        return 0
    d = sql.Literal(batch.logical_date)  # literals, not parameters: the SQL holds format('%s') patterns
    line = sql.SQL("concat_ws({}, {})").format(sql.Literal(batch.delimiter), sql.SQL(", ").join(
        sql.SQL("m.") + sql.Identifier(c) for c in batch.file_columns))
    moved = conn.execute(sql.SQL(
        """
        with m as (
            delete from raw.{t} r using _crm_bad_lines b
            where r.ctid = b.line_ctid
            returning r.*, b.reason as _q_reason, b.detail as _q_detail
        )
        insert into ops.quarantine (run_id, logical_date, source, source_file, line_number, raw_line,
                                    reason_code, detail)
        select {run}, {d}, {source}, {file}, m._source_line, {line}, m._q_reason, m._q_detail from m
        """).format(t=sql.Identifier(batch.table), line=line, d=d, run=sql.Literal(batch.run_id),
                    source=sql.Literal(batch.source), file=sql.Literal(batch.source_file))).rowcount
    if moved != found:  # each bad line is found once; the caller's counts rely on it
        raise RuntimeError(f"{batch.source_file}: {found} bad lines found but {moved} moved to quarantine; "
                           "rolled back. This is a loader bug: keep the file and report it.")
    return moved
