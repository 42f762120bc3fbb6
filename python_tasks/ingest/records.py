"""Split a file's data lines into CSV records, one physical line at a time, losing none.

Each physical line begins a record or belongs to the one before it, so every line of the file is
in exactly one :class:`Record`: good (its fields) or bad (a reason for quarantine). A quoted field
may span lines, but only while its quotes stay balanced and the record then has the right number
of fields; otherwise only the line that opened the quote is quarantined (``unbalanced_quote``) and
reading starts again on the next line, so one stray quote never swallows the rest of the file. A
quote left open is followed for at most ``MAX_RECORD_LINES`` lines.
"""
from __future__ import annotations

import csv
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from python_tasks.ingest import quarantine as q

MAX_RECORD_LINES = 100


@dataclass(frozen=True)
class Record:
    line: int  # physical line it starts on
    lines: int  # physical lines it spans
    fields: list[str] | None  # None: bad, see reason
    raw: str = ""
    reason: str = ""
    detail: str = ""


def _decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _fields(record: str, delimiter: str) -> list[str] | None:
    """The record's fields, or None when it is not valid CSV."""
    body = record.rstrip("\r\n")
    if '"' not in body:
        return body.split(delimiter)
    try:
        rows = list(csv.reader([body], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def split_records(fh: BinaryIO, first_line: int, encoding: str, delimiter: str, columns: int) -> Iterator[Record]:
    """Records of ``fh`` (positioned on its first data line, numbered ``first_line``)."""
    pending: deque[bytes] = deque()
    lines = iter(fh)
    number = first_line

    def have(k: int) -> bool:
        while len(pending) < k:
            nxt = next(lines, None)
            if nxt is None:
                return False
            pending.append(nxt)
        return True

    def bad(reason: str, raw: str, detail: str) -> Record:
        return Record(number, 1, None, raw.rstrip("\r\n"), reason, detail)

    while have(1):
        head = pending[0]
        text = _decode(head, encoding)
        if text is None:
            rec = bad(q.INVALID_ENCODING, head.decode(encoding, errors="replace"), f"not valid {encoding}")
        elif "\x00" in text:
            rec = bad(q.NUL_BYTE, text, "the line holds a NUL byte")
        elif not text.strip():
            rec = bad(q.BLANK_LINE, text, "blank line")
        else:
            parts, quotes = [text], text.count('"')
            while quotes % 2 and len(parts) < MAX_RECORD_LINES and have(len(parts) + 1):
                nxt = _decode(pending[len(parts)], encoding)
                if nxt is None or "\x00" in nxt:
                    break
                parts.append(nxt)
                quotes += nxt.count('"')
            fields = None if quotes % 2 else _fields("".join(parts), delimiter)
            if fields is not None and len(fields) == columns:
                rec = Record(number, len(parts), fields)
            elif quotes % 2 or len(parts) > 1:
                rec = bad(q.UNBALANCED_QUOTE, text,
                          f"a quote opened on line {number} is not closed by a well-formed record "
                          f"(followed {len(parts)} line(s)); the next line is read on its own")
            elif fields is None:
                rec = bad(q.WRONG_COLUMN_COUNT, text, "unparseable CSV quoting")
            else:
                rec = bad(q.WRONG_COLUMN_COUNT, text, f"expected {columns} columns, got {len(fields)}")
        for _ in range(rec.lines):
            pending.popleft()
        number += rec.lines
        yield rec
