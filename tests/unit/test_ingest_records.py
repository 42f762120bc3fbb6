"""The structural pass: every physical line lands in exactly one record, good or bad."""
from __future__ import annotations

import io

from python_tasks.ingest.records import MAX_RECORD_LINES, split_records


def split(text: bytes, columns: int = 3) -> list[tuple[int, int, str]]:
    return [(r.line, r.lines, r.reason or "ok") for r in split_records(io.BytesIO(text), 2, "utf-8", ",", columns)]


def test_each_line_is_one_record_and_line_numbers_follow_the_file():
    assert split(b"a,b,c\nd,e,f\r\ng,h,i") == [(2, 1, "ok"), (3, 1, "ok"), (4, 1, "ok")]


def test_quoted_line_break_is_one_record_spanning_two_lines():
    records = list(split_records(io.BytesIO(b'a,"x\ny",c\nd,e,f\n'), 2, "utf-8", ",", 3))
    assert [(r.line, r.lines, r.fields) for r in records] == [(2, 2, ["a", "x\ny", "c"]), (4, 1, ["d", "e", "f"])]


def test_an_unclosed_quote_costs_its_own_line_only():
    assert split(b'a,b,c\na,"open,c\nd,e,f\ng,h,i\n') == [
        (2, 1, "ok"), (3, 1, "unbalanced_quote"), (4, 1, "ok"), (5, 1, "ok")]


def test_two_stray_quotes_that_pair_up_into_a_malformed_record_are_split_again():
    # lines 2..4 balance their quotes together but make no 3-field record: line 2 is charged alone
    assert split(b'a,"b,c\nd,e,f\ng,h"x,i\n') == [(2, 1, "unbalanced_quote"), (3, 1, "ok"), (4, 1, "unbalanced_quote")]


def test_a_quote_is_followed_for_a_bounded_number_of_lines():
    text = b'a,"open,c\n' + b"d,e,f\n" * (MAX_RECORD_LINES * 3)
    records = split(text)
    assert len(records) == 1 + MAX_RECORD_LINES * 3
    assert records[0] == (2, 1, "unbalanced_quote")
    assert {r[2] for r in records[1:]} == {"ok"}


def test_blank_nul_undecodable_and_short_lines_are_each_named():
    text = b"a,b,c\n\n\r\nx\x00y,b,c\n\xff\xfe,b,c\nonly,two\n"
    assert split(text) == [(2, 1, "ok"), (3, 1, "blank_line"), (4, 1, "blank_line"), (5, 1, "nul_byte"),
                           (6, 1, "invalid_encoding"), (7, 1, "wrong_column_count")]
