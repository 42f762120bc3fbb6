"""Load the channel file drops of one logical date into ``raw``.

Files are read line by line in their declared encoding and streamed to Postgres with COPY.
Every file is registered by sha256: the same bytes are never loaded for a second date, even if
renamed or dropped again. Lines that fail checks go to ``ops.quarantine`` with a reason.
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
from python_tasks.ingest.bootstrap import ensure_ops_schema
from python_tasks.ingest.feeds import FEEDS, Feed

log = logging.getLogger(__name__)


class MissingDropError(FileNotFoundError):
    """A feed's file for the logical date has not arrived."""


@dataclass(frozen=True)
class FileLoad:
    feed: str
    path: str
    read: int
    loaded: int
    quarantined: int
    skipped_duplicate_file: bool = False


def raw_table_name(feed: Feed) -> str:
    return f"channel__{feed.name}"


def drop_path(landing_dir: Path, logical_date: date, feed: Feed) -> Path:
    return landing_dir / logical_date.isoformat() / feed.filename()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _ensure_raw_table(conn: psycopg.Connection, feed: Feed) -> None:
    cols = [sql.SQL("{} text").format(sql.Identifier(c)) for c in feed.columns]
    cols += [
        sql.SQL("_run_id text not null"),
        sql.SQL("_logical_date date not null"),
        sql.SQL("_source_file text not null"),
        sql.SQL("_source_line bigint not null"),
        sql.SQL("_file_sha256 text not null"),
        sql.SQL("_loaded_at timestamptz not null default now()"),
    ]
    conn.execute(
        sql.SQL("create table if not exists raw.{} ({})").format(
            sql.Identifier(raw_table_name(feed)), sql.SQL(", ").join(cols)
        )
    )


def _decoded_lines(path: Path, encoding: str, bad: list[q.QuarantinedRow],
                   position: list[int]) -> Iterator[str]:
    """Yield decoded physical lines; lines that do not decode are quarantined, not guessed."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            position[0] = number
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as exc:
                bad.append(q.QuarantinedRow(number, raw.decode(encoding, errors="replace").rstrip("\r\n"),
                                            q.INVALID_ENCODING, f"not valid {encoding}: {exc.reason}"))


def _check_row(feed: Feed, row: list[str], seen: set[str]) -> tuple[str, str] | None:
    if len(row) != len(feed.columns):
        return q.WRONG_COLUMN_COUNT, f"expected {len(feed.columns)} columns, got {len(row)}"
    record = dict(zip(feed.columns, row))
    key = record[feed.key].strip()
    if not key:
        return q.MISSING_KEY, f"{feed.key} is empty"
    if key in seen:
        return q.DUPLICATE_KEY, f"{feed.key}={key} already in this file"
    for col in feed.columns:
        if col.endswith("_ts") or col.endswith("_at"):
            try:
                datetime.fromisoformat(record[col])
            except ValueError:
                return q.BAD_TIMESTAMP, f"{col}={record[col]!r} is not an ISO 8601 timestamp"
    seen.add(key)
    return None


def load_file(conn: psycopg.Connection, feed: Feed, path: Path, logical_date: date, run_id: str) -> FileLoad:
    source = f"landing.{feed.name}"
    digest = sha256_of(path)
    registered = conn.execute(
        "select logical_date, path from ops.file_registry where sha256 = %s", (digest,)
    ).fetchone()
    if registered and registered[0] != logical_date:
        log.warning("%s has the same bytes as %s (loaded for %s); not loading it again",
                    path, registered[1], registered[0])
        return FileLoad(feed.name, str(path), 0, 0, 0, skipped_duplicate_file=True)

    _ensure_raw_table(conn, feed)
    raw = sql.Identifier(raw_table_name(feed))
    bad: list[q.QuarantinedRow] = []
    position = [0]
    read = loaded = 0
    started_at = datetime.now().astimezone()
    with conn.transaction():
        conn.execute(sql.SQL("delete from raw.{} where _logical_date = %s").format(raw), (logical_date,))
        q.clear_quarantine(conn, logical_date=logical_date, source=source)
        reader = csv.reader(_decoded_lines(path, feed.encoding, bad, position))
        header = next(reader, None)
        if header is None:
            log.info("%s is empty: nothing to load", path)
        elif [h.strip() for h in header] != list(feed.columns):
            missing = [c for c in feed.columns if c not in header]
            # The whole batch is suspect when the header does not match: keep every line for repair.
            for number, line in enumerate(path.read_bytes().decode(feed.encoding, "replace").splitlines()[1:], 2):
                bad.append(q.QuarantinedRow(number, line, q.MISSING_REQUIRED_COLUMN,
                                            f"header {header} lacks {missing}" if missing
                                            else f"header {header} differs from {list(feed.columns)}"))
                read += 1
        else:
            seen: set[str] = set()
            copy_sql = sql.SQL(
                "copy raw.{} ({}, _run_id, _logical_date, _source_file, _source_line, _file_sha256) from stdin"
            ).format(raw, sql.SQL(", ").join(sql.Identifier(c) for c in feed.columns))
            with conn.cursor().copy(copy_sql) as cp:
                for row in reader:
                    read += 1
                    problem = _check_row(feed, row, seen)
                    if problem:
                        bad.append(q.QuarantinedRow(position[0], ",".join(row), *problem))
                        continue
                    cp.write_row((*row, run_id, logical_date, str(path), position[0], digest))
                    loaded += 1
        # Lines that never reached the CSV reader (bad encoding) still count as read.
        read += sum(1 for b in bad if b.reason_code == q.INVALID_ENCODING)
        q.write_quarantine(conn, bad, run_id=run_id, logical_date=logical_date, source=source,
                           source_file=str(path))
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
            (run_id, logical_date, source, read, loaded, len(bad),
             "loaded" if not bad else "loaded_with_quarantine", str(path), started_at),
        )
    log.info("%s: read %d, loaded %d, quarantined %d", path, read, loaded, len(bad))
    return FileLoad(feed.name, str(path), read, loaded, len(bad))


def load_landing(warehouse_dsn: str, landing_dir: Path, logical_date: date, run_id: str,
                 feeds: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Load every feed's drop for ``logical_date``. A missing file is an error naming it."""
    selected = [FEEDS[n] for n in (feeds or tuple(FEEDS))]
    missing = [drop_path(landing_dir, logical_date, f) for f in selected
               if not drop_path(landing_dir, logical_date, f).exists()]
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
