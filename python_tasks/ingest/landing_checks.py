"""Line checks of a loaded file batch, done in bulk in Postgres.

Lines are first written to raw as text; this module then moves the ones that fail a check to
``ops.quarantine`` (same transaction), with the reason and the line number. Checks in order:
missing key, each declared type, then duplicate key among the lines that passed (the first line
of a key stays, later ones go).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from python_tasks.ingest import quarantine as q
from python_tasks.ingest.feeds import Feed

# ops.input_is_valid (pg_input_is_valid on PostgreSQL 16+) is the real check (fast, exact: it
# rejects 2026-02-30). What it accepts beyond what a feed may send is excluded with cheap string
# tests; Postgres regexes cost 5x the parse.
NOT_NUMBERS = ("nan", "infinity", "+infinity", "-infinity", "inf", "+inf", "-inf")
DATE_TYPES = ("timestamptz", "date")


@dataclass(frozen=True)
class BatchRef:
    raw_table: str  # in schema raw
    logical_date: date
    source: str
    source_file: str
    run_id: str
    delimiter: str
    file_columns: tuple[str, ...]  # raw columns in file order, for rebuilding the quarantined line


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


def move_bad_lines(conn: psycopg.Connection, feed: Feed, batch: BatchRef) -> int:
    """Move lines of the batch that fail a check to quarantine; returns how many moved."""
    raw = sql.Identifier(batch.raw_table)
    key = sql.Identifier(feed.key)
    d = sql.Literal(batch.logical_date)  # literals, not parameters: the SQL holds format('%s') patterns
    types = feed.column_types()
    conds = [sql.SQL("btrim({}) = ''").format(key)] + [_invalid(c, t) for c, t in types.items()]
    reasons = [q.MISSING_KEY] + [q.BAD_TIMESTAMP if t in DATE_TYPES else q.WRONG_TYPE
                                 for t in types.values()]
    details = [sql.Literal(f"{feed.key} is empty")] + [
        sql.SQL("format('%s=%L is not a valid %s', {c}, {col}, {t})").format(
            c=sql.Literal(c), col=sql.Identifier(c), t=sql.Literal(t))
        for c, t in types.items()]
    reason_case = sql.SQL("case {} end").format(sql.SQL(" ").join(
        sql.SQL("when {} then {}").format(c, sql.Literal(r)) for c, r in zip(conds, reasons)))
    detail_case = sql.SQL("case {} end").format(sql.SQL(" ").join(
        sql.SQL("when {} then {}").format(c, d) for c, d in zip(conds, details)))
    conn.execute("create temp table if not exists _crm_bad_lines (line_ctid tid, reason text, detail text)")
    conn.execute("truncate _crm_bad_lines")
    # Good lines (nearly all) pay for each check once; only lines failing one get the CASEs.
    conn.execute(sql.SQL(
        """
        insert into _crm_bad_lines
        select ctid, {reason}, {detail}
        from raw.{raw}
        where _logical_date = {d} and ({any_bad})
        """).format(reason=reason_case, detail=detail_case, raw=raw, d=d, any_bad=sql.SQL(" or ").join(conds)))
    conn.execute(sql.SQL(
        """
        insert into _crm_bad_lines
        select line_ctid, {r}, format('%s=%s already on line %s of this file', {kn}, k, first_line)
        from (
            select r.ctid as line_ctid, r.{key} as k, r._source_line,
                   row_number() over w as n, first_value(r._source_line) over w as first_line
            from raw.{raw} r
            join (select {key} from raw.{raw} where _logical_date = {d}
                  group by {key} having count(*) > 1) dup using ({key})
            where r._logical_date = {d}
              and not exists (select 1 from _crm_bad_lines b where b.line_ctid = r.ctid)
            window w as (partition by r.{key} order by r._source_line)
        ) ranked
        where n > 1
        """).format(r=sql.Literal(q.DUPLICATE_KEY), kn=sql.Literal(feed.key), key=key, raw=raw, d=d))
    line = sql.SQL("concat_ws({}, {})").format(
        sql.Literal(batch.delimiter), sql.SQL(", ").join(sql.SQL("m.") + sql.Identifier(c) for c in batch.file_columns))
    moved = conn.execute(sql.SQL(
        """
        with m as (
            delete from raw.{raw} r using _crm_bad_lines b
            where r.ctid = b.line_ctid and r._logical_date = {d}
            returning r.*, b.reason as _q_reason, b.detail as _q_detail
        )
        insert into ops.quarantine (run_id, logical_date, source, source_file, line_number, raw_line,
                                    reason_code, detail)
        select {run}, {d}, {source}, {file}, m._source_line, {line}, m._q_reason, m._q_detail from m
        """).format(raw=raw, line=line, d=d, run=sql.Literal(batch.run_id), source=sql.Literal(batch.source),
                 file=sql.Literal(batch.source_file)))
    return moved.rowcount
