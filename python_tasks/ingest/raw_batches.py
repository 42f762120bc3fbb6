"""Raw channel tables: one partition per logical date, swapped in whole when a date is re-run.

``raw.channel__<feed>`` is LIST-partitioned by ``_logical_date``. A load builds the date's rows
in a staging table created inside the load's transaction (invisible to everyone else, gone if
the load dies), checks them there, and then, in the same transaction, drops the date's old
partition and attaches the staging table in its place. Readers see the old batch or the new one.

Rows stay narrow: the feed's columns as text, ``_source_line``, and three constants of the batch
(``_load_id``, ``_logical_date``, ``_loaded_at``) added after the COPY as column defaults, which
Postgres keeps once in the catalog rather than in every row. Run id, file and sha256 live once
per batch in ``ops.load_batches``; ``raw.channel__<feed>__with_meta`` joins them back.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from python_tasks.ingest.feeds import Feed

log = logging.getLogger(__name__)

MAX_TABLE_NAME = 40  # leaves room for "__20260930" and "__load_<id>" within Postgres' 63 bytes


def raw_table_name(feed: Feed) -> str:
    name = f"channel__{feed.name}"
    if len(name.encode()) > MAX_TABLE_NAME:
        raise ValueError(f"feed name {feed.name!r} is too long for its raw table names; keep it under "
                         f"{MAX_TABLE_NAME - len('channel__')} bytes")
    return name


def partition_name(feed: Feed, logical_date: date) -> str:
    return f"{raw_table_name(feed)}__{logical_date:%Y%m%d}"


def meta_view_name(feed: Feed) -> str:
    return f"{raw_table_name(feed)}__with_meta"


@dataclass(frozen=True)
class Staging:
    """A batch being built: raw.<table>, with line numbers from raw.<table>_line_seq."""
    table: str
    load_id: int

    @property
    def ident(self) -> sql.Composed:
        return sql.Identifier("raw", self.table)

    @property
    def sequence(self) -> str:
        return f"{self.table}_line_seq"


def _relkind(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute("select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                       "where n.nspname = 'raw' and c.relname = %s", (name,)).fetchone()
    return row[0] if row else None


def _feed_columns(feed: Feed) -> list[sql.Composable]:
    return [sql.SQL("{} text").format(sql.Identifier(c)) for c in feed.columns]


def ensure_raw_table(conn: psycopg.Connection, feed: Feed) -> None:
    """Create the partitioned raw table and its meta view; convert a pre-partitioning table once."""
    name = raw_table_name(feed)
    kind = _relkind(conn, name)
    if kind == "r":
        _migrate_unpartitioned(conn, feed)
    elif kind is None:
        _create_parent(conn, feed, name)
    elif kind != "p":
        raise RuntimeError(f"raw.{name} exists but is not a table (relkind {kind!r}); rename or drop it")
    if _relkind(conn, meta_view_name(feed)) is not None:
        return  # replacing it on every load would lock out its readers each time
    conn.execute(sql.SQL(
        """
        create view raw.{view} as
        select r.*, b.run_id as _run_id, b.source_file as _source_file, b.file_sha256 as _file_sha256
        from raw.{raw} r join ops.load_batches b on b.load_id = r._load_id
        """).format(view=sql.Identifier(meta_view_name(feed)), raw=sql.Identifier(name)))


def _create_parent(conn: psycopg.Connection, feed: Feed, name: str) -> None:
    cols = _feed_columns(feed) + [
        sql.SQL("_load_id bigint not null"),
        sql.SQL("_logical_date date not null"),
        sql.SQL("_source_line bigint not null"),
        sql.SQL("_loaded_at timestamptz not null"),
    ]
    conn.execute(sql.SQL("create table raw.{} ({}) partition by list (_logical_date)").format(
        sql.Identifier(name), sql.SQL(", ").join(cols)))


def _migrate_unpartitioned(conn: psycopg.Connection, feed: Feed) -> None:
    """Tables from before partitioning carried run id, file and sha256 on every row: move each
    batch into a partition of its own and its metadata into ops.load_batches. Runs once."""
    name = raw_table_name(feed)
    legacy = f"{name}__unpartitioned"
    log.warning("raw.%s predates per-date partitions: converting it (one-off copy of its rows)", name)
    conn.execute(sql.SQL("alter table raw.{} rename to {}").format(sql.Identifier(name), sql.Identifier(legacy)))
    _create_parent(conn, feed, name)
    dates = [r[0] for r in conn.execute(sql.SQL("select distinct _logical_date from raw.{}").format(
        sql.Identifier(legacy))).fetchall()]
    for d in dates:
        conn.execute(sql.SQL("create table raw.{} partition of raw.{} for values in ({})").format(
            sql.Identifier(partition_name(feed, d)), sql.Identifier(name), sql.Literal(d)))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in feed.columns)
    moved = conn.execute(sql.SQL(
        """
        with batches as (
            insert into ops.load_batches (run_id, source, logical_date, source_file, file_sha256, path_taken,
                                          rows_loaded, loaded_at)
            select _run_id, {source}, _logical_date, _source_file, _file_sha256, 'migrated', count(*), min(_loaded_at)
            from raw.{legacy}
            group by _run_id, _logical_date, _source_file, _file_sha256
            returning load_id, run_id, logical_date, source_file, file_sha256
        )
        insert into raw.{raw} ({cols}, _load_id, _logical_date, _source_line, _loaded_at)
        select {lcols}, b.load_id, l._logical_date, l._source_line, l._loaded_at
        from raw.{legacy} l
        join batches b on (b.run_id, b.logical_date, b.source_file, b.file_sha256)
                        = (l._run_id, l._logical_date, l._source_file, l._file_sha256)
        """).format(source=sql.Literal(f"landing.{feed.name}"), legacy=sql.Identifier(legacy),
                    raw=sql.Identifier(name), cols=cols,
                    lcols=sql.SQL(", ").join(sql.SQL("l.") + sql.Identifier(c) for c in feed.columns))).rowcount
    _drop_with_dependent_views(conn, legacy)
    conn.execute(sql.SQL("drop sequence if exists raw.{}").format(sql.Identifier(f"{name}__line_seq")))
    log.warning("raw.%s: %d rows of %d date(s) moved into partitions", name, moved, len(dates))


def _drop_with_dependent_views(conn: psycopg.Connection, table: str) -> None:
    """dbt's staging views read the raw table; they must go with it (the next dbt build recreates
    them, and the loads run before dbt in crm_daily)."""
    views = [r[0] for r in conn.execute(
        """
        select distinct v.oid::regclass::text
        from pg_depend d join pg_rewrite w on w.oid = d.objid join pg_class v on v.oid = w.ev_class
        where d.refobjid = %s::regclass and v.oid <> d.refobjid
        """, (f"raw.{table}",)).fetchall()]
    if views:
        log.warning("dropping views that read the unpartitioned raw.%s: %s; `dbt build` recreates them",
                    table, ", ".join(views))
    conn.execute(sql.SQL("drop table raw.{} cascade").format(sql.Identifier(table)))


def create_staging(conn: psycopg.Connection, feed: Feed, columns: tuple[str, ...], load_id: int,
                   first_line: int) -> Staging:
    """An empty table for the batch, created in the caller's (sub)transaction so COPY may FREEZE.

    ``columns``: the feed's columns in the order the file has them, so COPY maps them by name."""
    staging = Staging(f"{raw_table_name(feed)}__load_{load_id}", load_id)
    # A cached sequence numbers lines for the fast path: one nextval per row without a buffer
    # lock each time. Only this backend uses it, so the numbers stay consecutive.
    conn.execute(sql.SQL("create sequence raw.{} start {} cache 10000").format(
        sql.Identifier(staging.sequence), sql.Literal(first_line)))
    cols = [sql.SQL("{} text").format(sql.Identifier(c)) for c in columns] + [
        sql.SQL("_source_line bigint not null default nextval({})").format(sql.Literal(f"raw.{staging.sequence}"))]
    conn.execute(sql.SQL("create table {} ({})").format(staging.ident, sql.SQL(", ").join(cols)))
    return staging


def publish(conn: psycopg.Connection, feed: Feed, staging: Staging | None, logical_date: date) -> None:
    """Make ``staging`` the date's partition (or, with None, leave the date empty). Same transaction."""
    if staging is not None:
        _seal(conn, staging, logical_date)
    raw = raw_table_name(feed)
    partition = partition_name(feed, logical_date)
    # Dropping the old partition locks the parent against readers until commit: done last, so
    # that window is only this catalog work.
    for (old,) in conn.execute(
            """
            select c.relname from pg_inherits i
            join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
            join pg_namespace n on n.oid = p.relnamespace
            where n.nspname = 'raw' and p.relname = %s
              and pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%%L)', %s::date)
            """, (raw, logical_date)).fetchall():
        conn.execute(sql.SQL("drop table raw.{}").format(sql.Identifier(old)))
    if staging is None:
        return
    conn.execute(sql.SQL("alter table {} rename to {}").format(staging.ident, sql.Identifier(partition)))
    conn.execute(sql.SQL("alter table raw.{} attach partition raw.{} for values in ({})").format(
        sql.Identifier(raw), sql.Identifier(partition), sql.Literal(logical_date)))


def _seal(conn: psycopg.Connection, staging: Staging, logical_date: date) -> None:
    """Add the batch constants as columns. A non-volatile default is stored once in the catalog,
    not per row (now() is the transaction's start, as before). The CHECK is verified by one scan
    here, before the parent is locked, and lets the attach skip its own scan."""
    conn.execute(sql.SQL("alter table {} alter column _source_line drop default").format(staging.ident))
    conn.execute(sql.SQL("drop sequence raw.{}").format(sql.Identifier(staging.sequence)))
    conn.execute(sql.SQL(
        """
        alter table {t}
            add column _load_id bigint not null default {load_id},
            add column _logical_date date not null default {d} check (_logical_date = {d}),
            add column _loaded_at timestamptz not null default now()
        """).format(t=staging.ident, load_id=sql.Literal(staging.load_id), d=sql.Literal(logical_date)))
    # Rows inserted later (none should be) must say which batch they belong to, not inherit it.
    conn.execute(sql.SQL("alter table {} alter column _load_id drop default, alter column _logical_date "
                         "drop default, alter column _loaded_at drop default").format(staging.ident))
