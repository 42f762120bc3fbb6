"""Load the channel file drops of one logical date into ``raw``.

Nothing is lost: every data line of a file ends up either in raw or in ``ops.quarantine`` (with
source, line number and reason), and the audit row says read = loaded + quarantined. Every file
is registered by sha256: the same bytes are never loaded for a second date, even renamed.

Two ways in, one result:

* fast path: the file's bytes go straight to the server's COPY parser (CSV, the file's delimiter
  and encoding); Python only appends the constant load metadata to each line with a bytes
  replace, and a sequence numbers the lines. Then ``landing_checks`` moves lines with a missing
  key, a bad type or a duplicate key to quarantine in bulk SQL.
* exact path: when the server rejects the file's structure (a wrong column count, bytes invalid
  in the encoding, a quoted field spanning lines, an extra column to drop), the fast attempt is
  rolled back to a savepoint and the file is read line by line in Python: structurally bad lines
  go to quarantine with their line number, good ones are copied; the same SQL checks follow.

Memory stays flat in both: the file is streamed in blocks, never held whole.
"""
from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from python_tasks.db import connect
from python_tasks.ingest import quarantine as q
from python_tasks.ingest import test_hooks
from python_tasks.ingest.arrival import MissingDropError, drop_path, missing_drops
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.csv_format import FileFormat, read_format
from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.ingest.landing_checks import BatchRef, move_bad_lines

log = logging.getLogger(__name__)

__all__ = ["FileLoad", "MissingDropError", "drop_path", "load_file", "load_landing", "raw_table_name"]

BLOCK_BYTES = 1 << 20
EXACT_CHUNK_ROWS = 20_000
META_COLUMNS = ("_run_id", "_logical_date", "_source_file", "_file_sha256")
# Server errors that mean "this file's bytes are not clean CSV for the fast path", not "the server is
# in trouble": bad copy format, invalid byte sequences, untranslatable characters.
STRUCTURE_ERRORS = (psycopg.errors.BadCopyFileFormat, psycopg.errors.CharacterNotInRepertoire,
                    psycopg.errors.UntranslatableCharacter, psycopg.errors.InvalidTextRepresentation)


class LoadMismatchError(RuntimeError):
    """read != loaded + quarantined: a line went missing somewhere. Never commit that."""


class _NeedsExactPath(Exception):
    """The fast path cannot place line numbers exactly for this file."""


@dataclass(frozen=True)
class FileLoad:
    feed: str
    path: str
    read: int
    loaded: int
    quarantined: int
    skipped_duplicate_file: bool = False
    path_taken: str = "fast"


def raw_table_name(feed: Feed) -> str:
    return f"channel__{feed.name}"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(BLOCK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def _line_sequence(feed: Feed) -> str:
    return f"{raw_table_name(feed)}__line_seq"


def _ensure_raw_table(conn: psycopg.Connection, feed: Feed) -> None:
    raw = sql.Identifier(raw_table_name(feed))
    seq = sql.Identifier("raw", _line_sequence(feed))
    conn.execute(sql.SQL("create sequence if not exists {}").format(seq))
    cols = [sql.SQL("{} text").format(sql.Identifier(c)) for c in feed.columns]
    cols += [
        sql.SQL("_run_id text not null"),
        sql.SQL("_logical_date date not null"),
        sql.SQL("_source_file text not null"),
        sql.SQL("_source_line bigint not null"),
        sql.SQL("_file_sha256 text not null"),
        sql.SQL("_loaded_at timestamptz not null default now()"),
    ]
    conn.execute(sql.SQL("create table if not exists raw.{} ({})").format(raw, sql.SQL(", ").join(cols)))
    conn.execute(sql.SQL("create index if not exists {} on raw.{} (_logical_date)").format(
        sql.Identifier(f"{raw_table_name(feed)}_logical_date_idx"), raw))
    # The fast path numbers lines with this sequence (reset per file under the feed's lock).
    has_default = conn.execute(
        """
        select column_default is not null from information_schema.columns
        where table_schema = 'raw' and table_name = %s and column_name = '_source_line'
        """, (raw_table_name(feed),)).fetchone()[0]
    if not has_default:
        conn.execute(sql.SQL("alter table raw.{} alter column _source_line set default nextval({})").format(
            raw, sql.Literal(f"raw.{_line_sequence(feed)}")))


def _csv_field(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _fast_path(conn: psycopg.Connection, feed: Feed, path: Path, fmt: FileFormat, meta: tuple[str, ...]) -> int:
    """COPY the data lines as they are; returns lines read. Raises on anything not plainly CSV."""
    if fmt.pg_encoding is None:
        raise _NeedsExactPath(f"Postgres has no COPY encoding for {fmt.encoding}")
    if set(fmt.header) - set(feed.columns) or len(fmt.header) != len(set(fmt.header)):
        raise _NeedsExactPath("extra or repeated columns must be dropped line by line")
    try:
        suffix = ("".join(fmt.delimiter + _csv_field(m, fmt.delimiter) for m in meta)).encode(fmt.encoding)
    except UnicodeEncodeError as exc:
        raise _NeedsExactPath(f"load metadata not encodable in {fmt.encoding}") from exc
    nl = fmt.newline
    tagged_nl = suffix + nl
    conn.execute("select setval(%s, %s, false)", (f"raw.{_line_sequence(feed)}", 2))  # line 1 is the header
    copy = sql.SQL("copy raw.{} ({}) from stdin (format csv, delimiter {}, encoding {}, force_not_null ({}))").format(
        sql.Identifier(raw_table_name(feed)),
        sql.SQL(", ").join(sql.Identifier(c) for c in (*fmt.header, *META_COLUMNS)),
        sql.Literal(fmt.delimiter), sql.Literal(fmt.pg_encoding),
        sql.SQL(", ").join(sql.Identifier(c) for c in fmt.header))
    delay = test_hooks.block_delay()
    lines = 0
    saw_quote = False
    with path.open("rb") as fh, conn.cursor() as cur:
        fh.seek(fmt.data_offset)
        with cur.copy(copy) as cp:
            carry = b""
            while block := fh.read(BLOCK_BYTES):
                block = carry + block
                cut = block.rfind(b"\n") + 1
                block, carry = block[:cut], block[cut:]
                if not block:
                    continue
                if nl == b"\n" and b"\r" in block:
                    raise _NeedsExactPath("mixed line endings")
                saw_quote = saw_quote or b'"' in block
                lines += block.count(b"\n")
                cp.write(block.replace(nl, tagged_nl))
                test_hooks.pause_after_block(delay)
            if carry.strip(b"\r\n"):  # a last line without a line break
                lines += 1
                cp.write(carry.rstrip(b"\r\n") + tagged_nl)
        copied = cur.rowcount
    if copied != lines:
        raise _NeedsExactPath(f"{lines} physical lines but {copied} records: quoted fields span lines")
    if saw_quote:
        # Quoted fields may hold our suffix if they spanned lines; a newline in any value shows it.
        has_nl = conn.execute(sql.SQL("select exists (select 1 from raw.{} where _logical_date = %s and ({}))").format(
            sql.Identifier(raw_table_name(feed)),
            sql.SQL(" or ").join(sql.SQL("strpos({}, E'\\n') > 0").format(sql.Identifier(c)) for c in fmt.header)),
            (meta[1],)).fetchone()[0]
        if has_nl:
            raise _NeedsExactPath("a quoted field spans lines")
    return copied


def _decoded_lines(path: Path, fmt: FileFormat, bad: list[q.QuarantinedRow], numbers: list[int],
                   undecodable: list[int]) -> Iterator[str]:
    """Decoded physical data lines; lines that do not decode are quarantined, not guessed.

    ``numbers`` gets the line number of each line handed out (the caller clears it per record);
    ``undecodable[0]`` counts the lines kept back."""
    number = 1
    with path.open("rb") as fh:
        fh.seek(fmt.data_offset)
        for raw in fh:
            number += 1
            numbers.append(number)
            try:
                yield raw.decode(fmt.encoding)
            except UnicodeDecodeError as exc:
                numbers.pop()
                undecodable[0] += 1
                bad.append(q.QuarantinedRow(number, raw.decode(fmt.encoding, errors="replace").rstrip("\r\n"),
                                            q.INVALID_ENCODING, f"not valid {fmt.encoding}: {exc.reason}"))


def _exact_path(conn: psycopg.Connection, feed: Feed, path: Path, fmt: FileFormat, meta: tuple[str, ...],
                source: str) -> tuple[int, int]:
    """Line-by-line load; returns (lines read, lines quarantined here). Good lines go to raw."""
    position = {name: i for i, name in enumerate(fmt.header) if name in feed.columns}
    picks = [position[c] for c in feed.columns]
    copy = sql.SQL("copy raw.{} ({}, _source_line, {}) from stdin").format(
        sql.Identifier(raw_table_name(feed)), sql.SQL(", ").join(sql.Identifier(c) for c in feed.columns),
        sql.SQL(", ").join(sql.Identifier(c) for c in META_COLUMNS))
    bad: list[q.QuarantinedRow] = []
    numbers: list[int] = []  # physical line numbers of the record being parsed
    undecodable = [0]
    reader = csv.reader(_decoded_lines(path, fmt, bad, numbers, undecodable), delimiter=fmt.delimiter,
                        strict=True)
    read = quarantined = 0
    good: list[tuple] = []

    def flush() -> None:
        nonlocal quarantined, good, bad
        if good:
            with conn.cursor().copy(copy) as cp:
                for row in good:
                    cp.write_row(row)
        q.write_quarantine(conn, bad, run_id=meta[0], logical_date=date.fromisoformat(meta[1]), source=source,
                           source_file=str(path))
        quarantined += len(bad)
        good, bad = [], []

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a stray quote: keep the line, carry on with the next
            bad.append(q.QuarantinedRow(numbers[0] if numbers else None, "", q.WRONG_COLUMN_COUNT,
                                        f"unparseable CSV: {exc}"))
            numbers.clear()
            read += 1
            continue
        start = numbers[0]
        numbers.clear()
        read += 1
        if len(row) != len(fmt.header):
            bad.append(q.QuarantinedRow(start, fmt.delimiter.join(row), q.WRONG_COLUMN_COUNT,
                                        f"expected {len(fmt.header)} columns, got {len(row)}"))
        else:
            good.append((*(row[i] for i in picks), start, *meta))
        if len(good) + len(bad) >= EXACT_CHUNK_ROWS:
            flush()
    flush()
    # Lines that never reached the csv reader (bad encoding) count as read too.
    read += undecodable[0]
    return read, quarantined


def _quarantine_whole_file(conn: psycopg.Connection, path: Path, fmt: FileFormat, detail: str, *, run_id: str,
                           logical_date: date, source: str) -> int:
    """The header lacks a required column: the batch is suspect, keep every line for repair."""
    rows: list[q.QuarantinedRow] = []
    total = 0
    with path.open("rb") as fh:
        fh.seek(fmt.data_offset)
        for number, raw in enumerate(fh, start=2):
            rows.append(q.QuarantinedRow(number, raw.decode(fmt.encoding, "replace").rstrip("\r\n"),
                                         q.MISSING_REQUIRED_COLUMN, detail))
            if len(rows) >= EXACT_CHUNK_ROWS:
                q.write_quarantine(conn, rows, run_id=run_id, logical_date=logical_date, source=source,
                                   source_file=str(path))
                total += len(rows)
                rows = []
    q.write_quarantine(conn, rows, run_id=run_id, logical_date=logical_date, source=source, source_file=str(path))
    return total + len(rows)


def _record_drift(conn: psycopg.Connection, feed: Feed, fmt: FileFormat, *, run_id: str, logical_date: date,
                  source: str, path: Path) -> list[str]:
    extra = [c for c in fmt.header if c not in feed.columns]
    for column in extra:
        log.warning("schema drift: %s has unexpected column %r; loading the known columns, ignoring it",
                    path, column)
        conn.execute(
            """
            insert into ops.schema_drift (run_id, logical_date, source, source_file, change, column_name, detail)
            values (%s, %s, %s, %s, 'extra_column', %s, %s)
            """,
            (run_id, logical_date, source, str(path), column, f"header {list(fmt.header)}; column not loaded"))
    return extra


def load_file(conn: psycopg.Connection, feed: Feed, path: Path, logical_date: date, run_id: str) -> FileLoad:
    """Load one file as the feed's batch for ``logical_date``; commits. Safe to call again."""
    source = f"landing.{feed.name}"
    started_at = datetime.now().astimezone()
    digest = sha256_of(path)
    path_taken = "fast"
    with conn.transaction():
        # One loader per feed at a time: the line sequence and the batch delete are per feed.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"crm.ingest:{source}",))
        registered = conn.execute(
            "select logical_date, path from ops.file_registry where sha256 = %s", (digest,)).fetchone()
        if registered and registered[0] != logical_date:
            log.warning("%s has the same bytes as %s (loaded for %s); not loading it again",
                        path, registered[1], registered[0])
            conn.execute(
                """
                insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                            rows_quarantined, status, detail, started_at)
                values (%s, %s, %s, 0, 0, 0, 'skipped_duplicate_file', %s, %s)
                """,
                (run_id, logical_date, source, f"{path}: same sha256 as {registered[1]} loaded for {registered[0]}",
                 started_at))
            return FileLoad(feed.name, str(path), 0, 0, 0, skipped_duplicate_file=True, path_taken="skipped")

        _ensure_raw_table(conn, feed)
        raw = sql.Identifier(raw_table_name(feed))
        conn.execute(sql.SQL("delete from raw.{} where _logical_date = %s").format(raw), (logical_date,))
        q.clear_quarantine(conn, logical_date=logical_date, source=source)
        conn.execute("delete from ops.schema_drift where logical_date = %s and source = %s", (logical_date, source))
        fmt = read_format(path, feed)
        meta = (run_id, logical_date.isoformat(), str(path), digest)
        read = 0
        if not fmt.header or fmt.data_offset >= path.stat().st_size:
            log.info("%s is empty (no data lines): nothing to load", path)
            path_taken = "empty"
        elif missing := [c for c in feed.columns if c not in fmt.header]:
            detail = f"header {list(fmt.header)} lacks required column(s) {missing}"
            log.error("%s: %s; quarantining the whole file", path, detail)
            read = _quarantine_whole_file(conn, path, fmt, detail, run_id=run_id, logical_date=logical_date,
                                          source=source)
            path_taken = "quarantined_whole_file"
        else:
            _record_drift(conn, feed, fmt, run_id=run_id, logical_date=logical_date, source=source, path=path)
            try:
                with conn.transaction():
                    read = _fast_path(conn, feed, path, fmt, meta)
            except (_NeedsExactPath, *STRUCTURE_ERRORS) as exc:
                log.info("%s: exact line-by-line path (%s)", path, str(exc).splitlines()[0])
                path_taken = "exact"
                read, _ = _exact_path(conn, feed, path, fmt, meta, source)
            header_order = tuple(c for c in fmt.header if c in feed.columns)
            move_bad_lines(conn, feed, BatchRef(raw_table_name(feed), logical_date, source, str(path), run_id,
                                                fmt.delimiter, header_order))
        loaded = conn.execute(sql.SQL("select count(*) from raw.{} where _logical_date = %s").format(raw),
                              (logical_date,)).fetchone()[0]
        quarantined = conn.execute("select count(*) from ops.quarantine where logical_date = %s and source = %s",
                                   (logical_date, source)).fetchone()[0]
        if read != loaded + quarantined:
            raise LoadMismatchError(
                f"{path}: read {read} lines but loaded {loaded} + quarantined {quarantined}; "
                "rolled back. This is a loader bug: keep the file and report it.")
        conn.execute(
            """
            insert into ops.file_registry (sha256, feed, logical_date, path, bytes, run_id)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (sha256) do update set path = excluded.path, run_id = excluded.run_id
            """,
            (digest, feed.name, logical_date, str(path), path.stat().st_size, run_id),
        )
        conn.execute(
            """
            insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                        rows_quarantined, status, detail, started_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            (run_id, logical_date, source, read, loaded, quarantined,
             "loaded" if not quarantined else "loaded_with_quarantine", f"{path} ({path_taken} path)", started_at),
        )
    log.info("%s: read %d, loaded %d, quarantined %d (%s path)", path, read, loaded, quarantined, path_taken)
    return FileLoad(feed.name, str(path), read, loaded, quarantined, path_taken=path_taken)


def load_landing(warehouse_dsn: str, landing_dir: Path, logical_date: date, run_id: str,
                 feeds: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Load every feed's drop for ``logical_date``. A missing file is an error naming it."""
    selected = [FEEDS[n] for n in (feeds or tuple(FEEDS))]
    missing = missing_drops(landing_dir, logical_date, selected)
    if missing:
        raise MissingDropError(
            "channel file drop(s) missing for " + logical_date.isoformat() + ": "
            + ", ".join(str(m) for m in missing)
            + ". Ask the channel team to resend, or re-run once the files have landed."
        )
    results: dict[str, dict] = {}
    with connect(warehouse_dsn) as conn:
        ensure_ops_schema(conn)
        conn.commit()
        for feed in selected:
            fl = load_file(conn, feed, drop_path(landing_dir, logical_date, feed), logical_date, run_id)
            results[feed.name] = fl.__dict__
    return results
