"""Load the channel file drops of one logical date into ``raw``.

Nothing is lost: every physical line of a file except its header ends up either in raw or in
``ops.quarantine`` (with source, line number and reason), and the audit row says read = loaded +
quarantined, where read counts the file's records as a structural pass finds them (``records``:
one per line, or one per quoted field spanning lines). A file that is not text at all (binary,
UTF-16) is rejected whole: audited, raised, the date's earlier batch left as it was.

A file is its date, feed and content (``ops.file_registry``): a corrected file for a date replaces
that date's batch; bytes that are also another date's current file are loaded all the same and
reported as misfiled (``ops.misfiled_files``, a warning), since one of the two folders is wrong.

One transaction per file. The date's rows are built in a staging table created inside it and
checked there; then the date's old partition of ``raw.channel__<feed>`` is dropped and the staging
table attached in its place (``raw_batches``). A load that dies leaves nothing behind; a re-run
of a date replaces that date's batch atomically.

Two ways in, one result:

* fast path: the file's bytes go unchanged to the server's COPY parser (the file's delimiter and
  encoding, FREEZE); a cached sequence numbers the lines. A file without quotes or backslashes
  is read in COPY's text format, which means the same for such bytes and is cheaper to parse;
  any other in CSV. While the server parses one block, the client hashes the file and runs
  ``precheck`` on the next: lines it proves good need no server check, and a file whose key
  hashes are all distinct has no duplicate keys. Only the lines left uncertain go through
  ``landing_checks``' SQL (missing key, bad type, duplicate key). This uses a second core: the
  server parses while the client checks.
* exact path: when the server rejects the file's structure (a wrong column count, bytes invalid
  in the encoding, a NUL byte, a blank line, a quoted field spanning lines, an extra column to
  drop), the fast attempt is rolled back to a savepoint and the file is read record by record in
  Python (``records``): structurally bad lines go to quarantine with their line number and reason,
  good ones are copied; every line is then checked in SQL.

Memory stays flat in both: the file is streamed in blocks, never held whole (the fast path keeps
one 8-byte key hash per line).
"""
from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import psycopg
from psycopg import sql

from python_tasks.db import connect
from python_tasks.ingest import quarantine as q
from python_tasks.ingest import raw_batches, test_hooks
from python_tasks.ingest.arrival import MissingDropError, drop_path, missing_drops
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.contracts import ContractViolationError, checkable, contract_for
from python_tasks.ingest.csv_format import FileFormat, FileRejectedError, read_format
from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.ingest.landing_checks import BatchRef, CheckScope, move_bad_lines, move_contract_breaches
from python_tasks.ingest.load_audit import replace_audit
from python_tasks.ingest.precheck import Prechecker, PrecheckPlan
from python_tasks.ingest.raw_batches import Staging, raw_table_name
from python_tasks.ingest.records import split_records

log = logging.getLogger(__name__)

__all__ = ["FileLoad", "FileRejectedError", "MissingDropError", "drop_path", "load_file", "load_landing",
           "raw_table_name"]

BLOCK_BYTES = 1 << 20
SEND_QUEUE_BLOCKS = 4  # blocks read ahead of the server: bounds memory, keeps its parser busy
EXACT_CHUNK_ROWS = 20_000
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
    path_taken: str = "fast"
    misfiled_as: list[str] = field(default_factory=list)  # other dates whose file has the same bytes


@dataclass(frozen=True)
class _Staged:
    staging: Staging
    read: int
    rows: int  # rows written to staging, as the server counted them
    scope: CheckScope  # what the server still has to check
    digest: str | None  # sha256 of the file, when this path read all of it
    path_taken: str


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(BLOCK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


class _BlockSender:
    """Writes blocks to a COPY from a thread, so the server parses one block while we check the next.

    The thread also hashes the file's bytes (it mostly waits for the server anyway). The queue is
    short: the reader waits for the server rather than buffering the file."""

    def __init__(self, copy: psycopg.Copy, hash_update: Callable[[bytes], object],
                 depth: int = SEND_QUEUE_BLOCKS) -> None:
        self._copy = copy
        self._hash_update = hash_update
        self._queue: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="crm-copy-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            block, raw = item
            if self._error is None:
                try:
                    if block:
                        self._copy.write(block)
                    self._hash_update(raw)
                except BaseException as exc:  # handed to the reader thread, which raises it
                    self._error = exc

    def put(self, block: bytes, raw: bytes = b"") -> None:
        """Send ``block`` to COPY and add ``raw`` (the file's bytes as read) to the hash."""
        self.raise_if_failed()
        self._queue.put((block, raw))

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class _RetryAsCSV(Exception):
    """The file holds quotes or backslashes: the text-format COPY would misread it."""


class _EscapeScan:
    """Reads ahead through the whole file for a quote or a backslash, in a thread.

    Without either, COPY's text format reads the bytes exactly as CSV would (no quoting, no
    escapes) and costs the server less to parse. The scan runs far ahead of COPY, so a file that
    needs CSV is found out after a few blocks, not at its end."""

    def __init__(self, path: Path, offset: int) -> None:
        self.found = False
        self._path, self._offset = path, offset
        self._thread = threading.Thread(target=self._run, name="crm-escape-scan", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._path.open("rb") as fh:
            fh.seek(self._offset)
            while not self.found and (chunk := fh.read(BLOCK_BYTES)):
                self.found = b'"' in chunk or b"\\" in chunk

    def stop(self) -> None:
        self.found = True  # also ends the scan early
        self._thread.join()


def _copy_statement(staging: Staging, fmt: FileFormat, *, csv_format: bool) -> sql.Composed:
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in fmt.header)
    # force_not_null: CSV reads an empty unquoted field as NULL, text format (and raw) as ''.
    options = sql.SQL("format text, ")
    if csv_format:
        options = sql.SQL("format csv, force_not_null ({}), ").format(columns)
    return sql.SQL("copy {} ({}) from stdin ({}delimiter {}, encoding {}, freeze)").format(
        staging.ident, columns, options, sql.Literal(fmt.delimiter), sql.Literal(fmt.pg_encoding))


def _fast_path(conn: psycopg.Connection, feed: Feed, path: Path, fmt: FileFormat, load_id: int, *,
               csv_format: bool) -> _Staged:
    """COPY the data lines as they are; raises on anything not plainly CSV. Call in a savepoint.

    ``csv_format`` False: COPY's text format, given up (_RetryAsCSV) at the first quote or backslash."""
    if fmt.pg_encoding is None:
        raise _NeedsExactPath(f"Postgres has no COPY encoding for {fmt.encoding}")
    if set(fmt.header) - set(feed.columns) or len(fmt.header) != len(set(fmt.header)):
        raise _NeedsExactPath("extra or repeated columns must be dropped line by line")
    staging = raw_batches.create_staging(conn, feed, fmt.header, load_id, fmt.first_data_line)
    checker = Prechecker(PrecheckPlan.for_file(feed, fmt.header, fmt.delimiter, fmt.newline, fmt.encoding))
    digest = hashlib.sha256()
    escapes = None if csv_format else _EscapeScan(path, fmt.data_offset)
    try:
        with path.open("rb") as fh, conn.cursor() as cur:
            digest.update(fh.read(fmt.data_offset))
            with cur.copy(_copy_statement(staging, fmt, csv_format=csv_format)) as cp:
                lines, saw_quote = _stream(fh, cp, fmt, checker, digest.update, escapes)
            copied = cur.rowcount
    finally:
        if escapes:
            escapes.stop()
    if copied != lines:
        raise _NeedsExactPath(f"{lines} physical lines but {copied} records: quoted fields span lines")
    if saw_quote:
        # Equal counts mean no record spans lines; a line break inside a value would put our line
        # numbers off, so make sure before trusting them.
        has_nl = conn.execute(sql.SQL("select exists (select 1 from {} where {})").format(
            staging.ident,
            sql.SQL(" or ").join(sql.SQL("strpos({}, E'\\n') > 0").format(sql.Identifier(c)) for c in fmt.header)),
        ).fetchone()[0]
        if has_nl:
            raise _NeedsExactPath("a quoted field spans lines")
    result = checker.result()
    log.info("%s: %d lines copied (%s format); lines left for the server's value checks: %s, "
             "for its duplicate-key check: %s", path, copied, "csv" if csv_format else "text",
             _how_many(result.uncertain_lines), _how_many(result.duplicate_candidates))
    scope = CheckScope(_lines_or_all(result.uncertain_lines, copied),
                       _lines_or_all(result.duplicate_candidates, copied))
    return _Staged(staging, copied, copied, scope, digest.hexdigest(), "fast")


def _stream(fh: BinaryIO, cp: psycopg.Copy, fmt: FileFormat, checker: Prechecker,
            hash_update: Callable[[bytes], object], escapes: _EscapeScan | None) -> tuple[int, bool]:
    """Send the data lines to COPY in blocks of whole lines, prechecking each; returns (lines, saw a quote)."""
    nl = fmt.newline
    delay = test_hooks.block_delay()
    lines = 0
    saw_quote = False
    sender = _BlockSender(cp, hash_update)
    try:
        carry = b""
        while True:
            chunk = fh.read(BLOCK_BYTES)
            if chunk:
                block = carry + chunk
                cut = block.rfind(b"\n") + 1
                block, carry = block[:cut], block[cut:]
            elif carry.strip(b"\r\n"):  # a last line without a line break
                block, carry = carry.rstrip(b"\r\n") + nl, b""
            else:
                break
            if nl == b"\n" and b"\r" in block:
                raise _NeedsExactPath("mixed line endings")
            quoted = b'"' in block
            if escapes is not None and (escapes.found or quoted or b"\\" in block):
                raise _RetryAsCSV()
            saw_quote = saw_quote or quoted
            sender.put(block, chunk)
            if block:
                lines += checker.add_block(block, fmt.first_data_line + lines)
            test_hooks.pause_after_block(delay)
    finally:
        sender.stop()
    sender.raise_if_failed()
    return lines, saw_quote


def _how_many(lines: np.ndarray | None) -> str:
    return "all" if lines is None else str(len(lines))


def _lines_or_all(lines: np.ndarray | None, total: int) -> np.ndarray | None:
    """Naming most of the lines costs more than checking them all: say 'all' (None) instead."""
    return None if lines is None or len(lines) > total // 2 else lines


def _exact_path(conn: psycopg.Connection, feed: Feed, path: Path, fmt: FileFormat, load_id: int, *,
                run_id: str, logical_date: date, source: str) -> _Staged:
    """Record by record into staging (``records``); structurally bad lines go to quarantine here."""
    staging = raw_batches.create_staging(conn, feed, feed.columns, load_id, fmt.first_data_line)
    position = {name: i for i, name in enumerate(fmt.header) if name in feed.columns}
    picks = [position[c] for c in feed.columns]
    in_order = picks == list(range(len(fmt.header)))  # the file has the feed's columns, in its order
    copy = sql.SQL("copy {} ({}, _source_line) from stdin").format(
        staging.ident, sql.SQL(", ").join(sql.Identifier(c) for c in feed.columns))
    bad: list[q.QuarantinedRow] = []
    good: list[tuple] = []
    read = written = 0

    def flush() -> None:
        nonlocal good, bad, written
        if good:
            with conn.cursor() as cur:
                with cur.copy(copy) as cp:
                    for row in good:
                        cp.write_row(row)
                written += cur.rowcount
        q.write_quarantine(conn, bad, run_id=run_id, logical_date=logical_date, source=source,
                           source_file=str(path))
        good, bad = [], []

    with path.open("rb") as fh:
        fh.seek(fmt.data_offset)
        for rec in split_records(fh, fmt.first_data_line, fmt.encoding, fmt.delimiter, len(fmt.header)):
            read += 1
            if rec.fields is None:
                bad.append(q.QuarantinedRow(rec.line, rec.raw, rec.reason, rec.detail))
            elif in_order:
                good.append((*rec.fields, rec.line))
            else:
                good.append((*(rec.fields[i] for i in picks), rec.line))
            if len(good) + len(bad) >= EXACT_CHUNK_ROWS:
                flush()
    flush()
    return _Staged(staging, read, written, CheckScope.everything(), None, "exact")


def _quarantine_whole_file(conn: psycopg.Connection, path: Path, fmt: FileFormat, reason: str, detail: str, *,
                           run_id: str, logical_date: date, source: str) -> int:
    """The header lacks a required column or names one twice: the batch is suspect, keep every
    line for repair."""
    rows: list[q.QuarantinedRow] = []
    total = 0
    with path.open("rb") as fh:
        fh.seek(fmt.data_offset)
        for number, raw in enumerate(fh, start=fmt.first_data_line):
            rows.append(q.QuarantinedRow(number, raw.decode(fmt.encoding, "replace").rstrip("\r\n"), reason, detail))
            if len(rows) >= EXACT_CHUNK_ROWS:
                q.write_quarantine(conn, rows, run_id=run_id, logical_date=logical_date, source=source,
                                   source_file=str(path))
                total += len(rows)
                rows = []
    q.write_quarantine(conn, rows, run_id=run_id, logical_date=logical_date, source=source, source_file=str(path))
    return total + len(rows)


def _record_drift(conn: psycopg.Connection, feed: Feed, fmt: FileFormat, *, run_id: str, logical_date: date,
                  source: str, path: Path) -> list[str]:
    """Drift rows for the header's surprises; returns the feed's columns the header names twice."""
    def record(change: str, column: str, detail: str, severity: str) -> None:
        conn.execute(
            """
            insert into ops.schema_drift (run_id, logical_date, source, source_file, change, column_name, detail,
                                          severity)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            """, (run_id, logical_date, source, str(path), change, column, detail, severity))

    repeated = sorted({c for c in fmt.header if fmt.header.count(c) > 1})
    for column in [c for c in dict.fromkeys(fmt.header) if c not in feed.columns]:
        log.warning("schema drift: %s has unexpected column %r; loading the known columns, ignoring it",
                    path, column)
        record("extra_column", column, f"header {list(fmt.header)}; column not loaded", "warning")
    for column in repeated:
        known = column in feed.columns
        (log.error if known else log.warning)("%s: header names column %r %d times", path, column,
                                              fmt.header.count(column))
        record("duplicate_column", column, f"header {list(fmt.header)} names it {fmt.header.count(column)} times; "
               + ("which one holds the values is unknown, the file is quarantined" if known else "not loaded"),
               "error" if known else "warning")
    return [c for c in repeated if c in feed.columns]


def _misfiled_as(conn: psycopg.Connection, feed: Feed, digest: str, logical_date: date) -> list[tuple[date, str]]:
    """Other dates whose current file of this feed has these very bytes."""
    return conn.execute("select logical_date, path from ops.file_registry where feed = %s and sha256 = %s "
                        "and logical_date <> %s and rows_read > 0 order by logical_date",
                        (feed.name, digest, logical_date)).fetchall()


def _stage(conn: psycopg.Connection, feed: Feed, path: Path, fmt: FileFormat, load_id: int, *, run_id: str,
           logical_date: date, source: str) -> _Staged:
    """Fast path (text format, then CSV if the file needs it), else the exact path."""
    for csv_format in (False, True):
        try:
            with conn.transaction():  # COPY FREEZE needs the staging table created in this subtransaction
                return _fast_path(conn, feed, path, fmt, load_id, csv_format=csv_format)
        except _RetryAsCSV:
            log.info("%s holds quotes or backslashes: COPY in CSV format", path)
        except (_NeedsExactPath, *STRUCTURE_ERRORS) as exc:
            log.info("%s: exact line-by-line path (%s)", path, str(exc).splitlines()[0])
            break
    return _exact_path(conn, feed, path, fmt, load_id, run_id=run_id, logical_date=logical_date, source=source)


def _load(conn: psycopg.Connection, feed: Feed, path: Path, logical_date: date, run_id: str, source: str,
          started_at: datetime) -> FileLoad:
    """The body of load_file, inside its transaction."""
    # One loader per feed at a time: the date's partition and quarantine are per feed.
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"crm.ingest:{source}",))
    size = path.stat().st_size
    fmt = read_format(path, feed)  # FileRejectedError before anything of the date is touched
    raw_batches.ensure_raw_table(conn, feed)
    q.clear_quarantine(conn, logical_date=logical_date, source=source)
    for table in ("ops.schema_drift", "ops.misfiled_files"):
        conn.execute(sql.SQL("delete from {} where logical_date = %s and source = %s").format(
            sql.SQL(table)), (logical_date, source))
    load_id = conn.execute("select nextval(pg_get_serial_sequence('ops.load_batches', 'load_id'))").fetchone()[0]
    # Lines above the header: blank ones, or a title the exporting system wrote.
    q.write_quarantine(conn, [
        q.QuarantinedRow(n, raw.decode(fmt.encoding, "replace").rstrip("\r\n"),
                         q.BEFORE_HEADER if raw.strip() else q.BLANK_LINE,
                         "line above the header" if raw.strip() else "blank line")
        for n, raw in fmt.pre_header], run_id=run_id, logical_date=logical_date, source=source, source_file=str(path))
    staged: _Staged | None = None
    digest = None
    read, moved = len(fmt.pre_header), 0
    if not fmt.header or fmt.data_offset >= size:
        log.info("%s has no data lines: nothing to load", path)
        path_taken = "empty"
    elif missing := [c for c in feed.columns if c not in fmt.header]:
        detail = f"header {list(fmt.header)} lacks required column(s) {missing}"
        log.error("%s: %s; quarantining the whole file", path, detail)
        read += _quarantine_whole_file(conn, path, fmt, q.MISSING_REQUIRED_COLUMN, detail, run_id=run_id,
                                       logical_date=logical_date, source=source)
        path_taken = "quarantined_whole_file"
    elif repeated := _record_drift(conn, feed, fmt, run_id=run_id, logical_date=logical_date, source=source,
                                   path=path):
        detail = f"header {list(fmt.header)} names column(s) {repeated} more than once"
        log.error("%s: %s; quarantining the whole file", path, detail)
        read += _quarantine_whole_file(conn, path, fmt, q.DUPLICATE_COLUMN, detail, run_id=run_id,
                                       logical_date=logical_date, source=source)
        path_taken = "quarantined_whole_file"
    else:
        staged = _stage(conn, feed, path, fmt, load_id, run_id=run_id, logical_date=logical_date, source=source)
        read, path_taken = read + staged.read, staged.path_taken
        digest = staged.digest
        header_order = tuple(c for c in fmt.header if c in feed.columns)
        batch = BatchRef(staged.staging.table, logical_date, source, str(path), run_id, fmt.delimiter, header_order)
        moved = move_bad_lines(conn, feed, batch, staged.scope)
        if contract := contract_for(source):
            moved += move_contract_breaches(conn, feed, batch, checkable(conn, contract))
    digest = digest or sha256_of(path)
    # Nobody else can see the staging table: what COPY put in minus what the checks took out is
    # what it holds (a count(*) would re-read every row to say the same).
    loaded = staged.rows - moved if staged else 0
    quarantined = conn.execute("select count(*) from ops.quarantine where logical_date = %s and source = %s",
                               (logical_date, source)).fetchone()[0]
    if read != loaded + quarantined:
        raise LoadMismatchError(
            f"{path}: read {read} lines but loaded {loaded} + quarantined {quarantined}; "
            "rolled back. This is a loader bug: keep the file and report it.")
    raw_batches.publish(conn, feed, staged.staging if staged else None, logical_date)
    misfiled = _misfiled_as(conn, feed, digest, logical_date) if read else []
    for other_date, other_path in misfiled:
        log.warning("%s (for %s) has the same bytes as %s, loaded for %s: one of the two folders holds a "
                    "misfiled file. Loaded for both dates; put the right file in the wrong date's folder and "
                    "re-run that date.", path, logical_date, other_path, other_date)
        conn.execute(
            """
            insert into ops.misfiled_files (run_id, logical_date, source, source_file, sha256, other_logical_date,
                                            other_source_file)
            values (%s, %s, %s, %s, %s, %s, %s)
            """, (run_id, logical_date, source, str(path), digest, other_date, other_path))
    result = FileLoad(feed.name, str(path), read, loaded, quarantined, path_taken=path_taken,
                      misfiled_as=[d.isoformat() for d, _ in misfiled])
    _record(conn, result, load_id=load_id, run_id=run_id, logical_date=logical_date, source=source, digest=digest,
            size=size, started_at=started_at)
    return result


def _record(conn: psycopg.Connection, result: FileLoad, *, load_id: int, run_id: str, logical_date: date,
            source: str, digest: str, size: int, started_at: datetime) -> None:
    """The batch's metadata, the file registry and the audit row, in the load's transaction."""
    conn.execute(
        """
        insert into ops.load_batches (load_id, run_id, source, logical_date, source_file, file_sha256, path_taken,
                                      rows_loaded)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        """, (load_id, run_id, source, logical_date, result.path, digest, result.path_taken, result.loaded))
    conn.execute(
        """
        insert into ops.file_registry (feed, logical_date, sha256, path, bytes, rows_read, run_id)
        values (%s, %s, %s, %s, %s, %s, %s)
        on conflict (feed, logical_date) do update
        set sha256 = excluded.sha256, path = excluded.path, bytes = excluded.bytes, rows_read = excluded.rows_read,
            run_id = excluded.run_id, registered_at = now()
        """,
        (result.feed, logical_date, digest, result.path, size, result.read, run_id),
    )
    detail = f"{result.path} ({result.path_taken} path)"
    if result.misfiled_as:
        detail += f"; same bytes as the file of {', '.join(result.misfiled_as)}: misfiled?"
    _audit(conn, run_id=run_id, logical_date=logical_date, source=source, started_at=started_at,
           counts=(result.read, result.loaded, result.quarantined),
           status="loaded" if not result.quarantined else "loaded_with_quarantine", detail=detail)


def _audit(conn: psycopg.Connection, *, run_id: str, logical_date: date, source: str, started_at: datetime,
           counts: tuple[int, int, int], status: str, detail: str) -> None:
    replace_audit(conn, logical_date, source)
    conn.execute(
        """
        insert into ops.load_audit (run_id, logical_date, source, rows_read, rows_loaded,
                                    rows_quarantined, status, detail, started_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        """, (run_id, logical_date, source, *counts, status, detail, started_at))


def load_file(conn: psycopg.Connection, feed: Feed, path: Path, logical_date: date, run_id: str) -> FileLoad:
    """Load one file as the feed's batch for ``logical_date``; commits. Safe to call again.

    A file that is not text (FileRejectedError) leaves the date's earlier batch as it was; the
    rejection is audited and raised."""
    source = f"landing.{feed.name}"
    started_at = datetime.now().astimezone()
    try:
        with conn.transaction():
            result = _load(conn, feed, path, logical_date, run_id, source, started_at)
    except (FileRejectedError, ContractViolationError) as exc:
        log.error("%s", exc)
        with conn.transaction():
            _audit(conn, run_id=run_id, logical_date=logical_date, source=source, started_at=started_at,
                   counts=(0, 0, 0), status="rejected" if isinstance(exc, FileRejectedError) else "contract_failed",
                   detail=str(exc))
        raise
    log.info("%s: read %d, loaded %d, quarantined %d (%s path)", path, result.read, result.loaded,
             result.quarantined, result.path_taken)
    return result


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
    rejected: list[str] = []
    with connect(warehouse_dsn) as conn:
        ensure_ops_schema(conn)
        conn.commit()
        for feed in selected:
            try:
                fl = load_file(conn, feed, drop_path(landing_dir, logical_date, feed), logical_date, run_id)
            except (FileRejectedError, ContractViolationError) as exc:  # the other feeds still load
                rejected.append(exc)
                continue
            results[feed.name] = fl.__dict__
    if rejected:
        kind = type(rejected[0]) if len({type(e) for e in rejected}) == 1 else ValueError
        raise kind(" ".join(str(e) for e in rejected) + " The date's other feeds are loaded; once the "
                   "file(s) named are replaced (text files: UTF-8 CSV), re-run the date.")
    return results
