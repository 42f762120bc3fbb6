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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from python_tasks.ingest import quarantine as q

MAX_RECORD_LINES = 100


@dataclass(slots=True)  # one per line of a file: no frozen-dataclass cost per record
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
    pending: deque[bytes] = deque()  # lines read ahead while following a quote, not yet used
    lines = iter(fh)
    number = first_line

    def take() -> bytes | None:
        return pending.popleft() if pending else next(lines, None)

    while (head := take()) is not None:
        text = _decode(head, encoding)
        rec: Record
        if text is None:
            rec = Record(number, 1, None, head.decode(encoding, errors="replace").rstrip("\r\n"), q.INVALID_ENCODING,
                         f"not valid {encoding}")
        elif "\x00" in text:
            rec = Record(number, 1, None, text.rstrip("\r\n"), q.NUL_BYTE, "the line holds a NUL byte")
        elif not text.strip():
            rec = Record(number, 1, None, text.rstrip("\r\n"), q.BLANK_LINE, "blank line")
        else:
            parts, quotes = [text], text.count('"')
            ahead: list[bytes] = []
            while quotes % 2 and len(parts) < MAX_RECORD_LINES:
                raw = take()
                if raw is None:
                    break
                ahead.append(raw)
                nxt = _decode(raw, encoding)
                if nxt is None or "\x00" in nxt:
                    break
                parts.append(nxt)
                quotes += nxt.count('"')
            fields = None if quotes % 2 else _fields("".join(parts) if len(parts) > 1 else text, delimiter)
            if fields is not None and len(fields) == columns:
                rec = Record(number, len(parts), fields)
                ahead = ahead[len(parts) - 1:]  # a line read but not part of the record
            elif quotes % 2 or len(parts) > 1:
                rec = Record(number, 1, None, text.rstrip("\r\n"), q.UNBALANCED_QUOTE,
                             f"a quote opened on line {number} is not closed by a well-formed record "
                             f"(followed {len(parts)} line(s)); the next line is read on its own")
            elif fields is None:
                rec = Record(number, 1, None, text.rstrip("\r\n"), q.WRONG_COLUMN_COUNT, "unparseable CSV quoting")
            else:
                rec = Record(number, 1, None, text.rstrip("\r\n"), q.WRONG_COLUMN_COUNT,
                             f"expected {columns} columns, got {len(fields)}")
            if ahead:
                pending.extendleft(reversed(ahead))
        number += rec.lines
        yield rec
