"""Dirt in the channel file drops, planted at a configured rate so the loader can be tested.

Real feeds arrive with broken lines and broken files; the synthetic bank writes clean ones. With
``GenerationSpec(dirt=DirtSpec(line_rate=0.01, file_rate=0.05))`` the written files are then
spoiled, deterministically per seed, and the report says exactly what was planted where, so a test
can expect exact quarantine counts. Off by default: without a DirtSpec nothing here runs.

Line dirt (each spoiled line gets one kind; each leads to one quarantined line):
  bad_timestamp, wrong_column_count, invalid_encoding, duplicate_key (a second copy of the line
  is inserted; the copy is the dirt), missing_key.
File dirt (each spoiled file gets one kind, applied after line dirt):
  extra_column (drift: loads, recorded), missing_column (the whole file is quarantined),
  empty_file (0 bytes: the day's rows are gone, the load succeeds with nothing).
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from python_tasks.ingest.feeds import FEEDS, Feed
from python_tasks.synthetic.window import Window, fmt_dates, stream

log = logging.getLogger(__name__)

LINE_KINDS = ("bad_timestamp", "wrong_column_count", "invalid_encoding", "duplicate_key", "missing_key")
FILE_KINDS = ("extra_column", "missing_column", "empty_file")
BAD_TIMESTAMP = "2026-13-45T99:61:00"
INVALID_BYTE = b"\xff"  # never valid in UTF-8 nor as a GBK lead byte
EXTRA_COLUMN = "unexpected_col"


@dataclass(frozen=True)
class DirtSpec:
    line_rate: float = 0.0  # share of data lines spoiled
    file_rate: float = 0.0  # share of non-empty files spoiled as a whole
    line_kinds: tuple[str, ...] = LINE_KINDS
    file_kinds: tuple[str, ...] = FILE_KINDS

    def __post_init__(self) -> None:
        if not (0 <= self.line_rate <= 1 and 0 <= self.file_rate <= 1):
            raise ValueError("dirt rates must be between 0 and 1")
        unknown = (set(self.line_kinds) - set(LINE_KINDS)) | (set(self.file_kinds) - set(FILE_KINDS))
        if unknown:
            raise ValueError(f"unknown dirt kinds {sorted(unknown)}; known: {LINE_KINDS + FILE_KINDS}")


@dataclass
class FileDirt:
    lines: dict[int, str] = field(default_factory=dict)  # physical line number in the final file -> kind
    file_kind: str | None = None
    data_lines_written: int = 0  # data lines in the final file (0 for an emptied file)


def _encode_row(row: list[str], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    return buf.getvalue().encode(encoding)


def _spoil_lines(
    feed: Feed, rows: list[list[str]], rng: np.random.Generator, spec: DirtSpec
) -> tuple[list[bytes], dict[int, str]]:
    ts_col = next(i for i, c in enumerate(feed.columns) if c in feed.column_types())
    key_col = feed.columns.index(feed.key)
    out: list[bytes] = []
    planted: dict[int, str] = {}
    spoil = rng.random(len(rows)) < spec.line_rate
    kinds = rng.integers(0, len(spec.line_kinds), size=len(rows)) if spec.line_kinds else np.zeros(len(rows), int)
    for row, bad, k in zip(rows, spoil, kinds):
        line = _encode_row(row, feed.encoding)
        if not bad or not spec.line_kinds:
            out.append(line)
            continue
        kind = spec.line_kinds[k]
        if kind == "bad_timestamp":
            line = _encode_row([BAD_TIMESTAMP if i == ts_col else v for i, v in enumerate(row)], feed.encoding)
        elif kind == "wrong_column_count":
            line = line.rstrip(b"\r\n") + b",EXTRA\r\n"
        elif kind == "invalid_encoding":
            line = line.rstrip(b"\r\n") + INVALID_BYTE + b"\r\n"
        elif kind == "missing_key":
            line = _encode_row(["" if i == key_col else v for i, v in enumerate(row)], feed.encoding)
        elif kind == "duplicate_key":
            out.append(line)  # the original stays good; the copy after it is the dirt
        out.append(line)
        planted[len(out) + 1] = kind  # +1: line 1 is the header
    return out, planted


def _spoil_file(feed: Feed, header: list[str], lines: list[bytes], kind: str) -> bytes:
    if kind == "empty_file":
        return b""
    head = _encode_row(header + [EXTRA_COLUMN] if kind == "extra_column" else header[:-1], feed.encoding)
    body = []
    for raw in lines:
        if kind == "extra_column":
            body.append(raw.rstrip(b"\r\n") + b",x\r\n")
        else:  # missing_column: drop the last field of the header only; every line is now suspect
            body.append(raw)
    return head + b"".join(body)


def apply_dirt(landing_dir: Path, window: Window, spec: DirtSpec, seed: int) -> dict[str, FileDirt]:
    """Spoil the window's files in place; returns what was planted per file (relative path)."""
    report: dict[str, FileDirt] = {}
    for d in fmt_dates(window.dates):
        for feed in FEEDS.values():
            path = Path(landing_dir) / str(d) / feed.filename()
            rng = stream(seed, f"dirt/{d}/{feed.name}")
            with path.open(encoding=feed.encoding, newline="") as fh:
                rows = list(csv.reader(fh))
            header, data = rows[0], rows[1:]
            lines, planted = _spoil_lines(feed, data, rng, spec)
            dirt = FileDirt(lines=planted, data_lines_written=len(lines))
            if data and spec.file_kinds and rng.random() < spec.file_rate:
                dirt.file_kind = spec.file_kinds[int(rng.integers(0, len(spec.file_kinds)))]
                dirt.lines = {} if dirt.file_kind in ("empty_file", "missing_column") else planted
                if dirt.file_kind == "empty_file":
                    dirt.data_lines_written = 0
                path.write_bytes(_spoil_file(feed, header, lines, dirt.file_kind))
            else:
                path.write_bytes(_encode_row(header, feed.encoding) + b"".join(lines))
            if dirt.lines or dirt.file_kind:
                report[f"{d}/{feed.filename()}"] = dirt
    log.info("dirt: spoiled %d lines and %d whole files", sum(len(r.lines) for r in report.values()),
             sum(1 for r in report.values() if r.file_kind))
    return report
