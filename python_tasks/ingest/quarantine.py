"""Rows that cannot be loaded are kept here with the reason, never dropped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

# Reason codes a data engineer can filter on.
WRONG_COLUMN_COUNT = "wrong_column_count"
INVALID_ENCODING = "invalid_encoding"
MISSING_KEY = "missing_key"
DUPLICATE_KEY = "duplicate_key_in_batch"
BAD_TIMESTAMP = "bad_timestamp"
MISSING_REQUIRED_COLUMN = "missing_required_column"
WRONG_TYPE = "wrong_type"
BLANK_LINE = "blank_line"
BEFORE_HEADER = "before_header"  # a line above the header that is not blank (a title, a timestamp)
UNBALANCED_QUOTE = "unbalanced_quote"
NUL_BYTE = "nul_byte"
DUPLICATE_COLUMN = "duplicate_column"


@dataclass(frozen=True)
class QuarantinedRow:
    line_number: int | None
    raw_line: str
    reason_code: str
    detail: str


def printable(text: str) -> str:
    """The line as Postgres can store it: a NUL byte cannot be in a text value."""
    return text.replace("\x00", "\\0")


def write_quarantine(conn: psycopg.Connection, rows: list[QuarantinedRow], *, run_id: str,
                     logical_date: date, source: str, source_file: str | None) -> None:
    if not rows:
        return
    with conn.cursor().copy(
        "copy ops.quarantine (run_id, logical_date, source, source_file, line_number, raw_line, "
        "reason_code, detail) from stdin"
    ) as cp:
        for r in rows:
            cp.write_row((run_id, logical_date, source, source_file, r.line_number, printable(r.raw_line),
                          r.reason_code, r.detail))


def clear_quarantine(conn: psycopg.Connection, *, logical_date: date, source: str) -> None:
    conn.execute("delete from ops.quarantine where logical_date = %s and source = %s", (logical_date, source))
