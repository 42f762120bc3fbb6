"""Client-side certificates: exactly the documented shapes are certified, nothing else.

A plain-Python reference spells out the shapes; fuzzed values must get the same verdict from the
vectorised code. (That the server accepts every certified value is checked in
tests/integration/test_ingest_landing.py.)
"""
from __future__ import annotations

import calendar
import random
import re

import numpy as np
import pytest

from python_tasks.ingest.feeds import Feed
from python_tasks.ingest.precheck import KEY_WINDOW, Prechecker, PrecheckPlan

TS = re.compile(rb"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d):(\d\d)(Z|[+-](\d\d):(\d\d))?)?")


def reference(type_: str, v: bytes) -> bool:
    if type_ in ("timestamptz", "date"):
        m = TS.fullmatch(v)
        if not m or (type_ == "date" and len(v) != 10):
            return False
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        if year == 0 or not 1 <= month <= 12 or (month, day) == (2, 29):
            return False
        if not 1 <= day <= calendar.monthrange(2023, month)[1]:  # 2023: not a leap year
            return False
        if m[4] is not None and (int(m[4]) > 23 or int(m[5]) > 59 or int(m[6]) > 59):
            return False
        return m[8] is None or (int(m[8]) <= 14 and int(m[9]) <= 59)
    if type_ == "numeric":
        return bool(re.fullmatch(rb"-?\d+(\.\d+)?", v)) and len(v) <= 24
    if type_ == "integer":
        return bool(re.fullmatch(rb"-?\d{1,9}", v))
    if type_ == "bigint":
        return bool(re.fullmatch(rb"-?\d{1,18}", v))
    return False  # boolean: never certified


SEEDS = {
    "timestamptz": [b"2026-09-30T10:00:00+08:00", b"2026-09-30 23:59:59-05:30", b"2026-09-30T10:00:00Z",
                    b"2026-09-30T10:00:00", b"2026-09-30", b"2024-02-29T10:00:00+08:00", b"0001-01-31"],
    "date": [b"2026-09-30", b"2026-02-28", b"2024-02-29", b"1999-12-31"],
    "numeric": [b"12.50", b"-3", b"0.00", b"123456789012345678901234", b"-0.5"],
    "integer": [b"42", b"-123456789", b"0"],
    "bigint": [b"42", b"-123456789012345678"],
    "boolean": [b"true", b"f"],
}
ALPHABET = b"0123456789-:T Z+.aNn\te/"
SPECIALS = [b"", b" ", b"-", b".", b"1.", b".5", b"+1", b"1e5", b"NaN", b"Infinity", b"-inf", b" 1", b"1 ", b"--1",
            b"1.2.3", b"now", b"epoch", b"2026-13-01", b"2026-00-10", b"2026-04-31", b"2026-09-00", b"0000-01-01",
            b"2026-09-30T24:00:00", b"2026-09-30T23:60:00", b"2026-09-30T23:59:60", b"2026-09-30T10:00:00+15:00",
            b"2026-09-30T10:00:00+08:60", b"2026-9-30", b"26-09-30", b"2026/09/30", b"2026-09-30T10:00",
            b"2026-09-30t10:00:00", b"2026-09-30T10:00:00z", b"2026-09-30T10:00:00+0800", b"09/30/2026"]


def fuzz(type_: str, n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out = list(SPECIALS)
    while len(out) < n:
        v = bytearray(rng.choice(SEEDS[type_] + SEEDS["timestamptz"][:1]))
        for _ in range(rng.choice((0, 1, 1, 2))):
            op, i = rng.random(), rng.randrange(len(v) + 1)
            c = rng.choice(ALPHABET)
            if op < 0.6 and i < len(v):
                v[i] = c
            elif op < 0.8:
                v.insert(i, c)
            elif v:
                del v[min(i, len(v) - 1)]
        out.append(bytes(v))
    return out


def run(feed: Feed, header: tuple[str, ...], block: bytes, newline: bytes = b"\n", encoding: str = "utf-8",
        first_line: int = 2):
    checker = Prechecker(PrecheckPlan.for_file(feed, header, ",", newline, encoding))
    checker.add_block(block, first_line)
    return checker.result()


@pytest.mark.parametrize("type_", list(SEEDS))
def test_fuzzed_values_are_certified_exactly_when_the_reference_says_so(type_):
    feed = Feed("t", "utf-8", ("k", "v"), "k", types=(("v", type_),))
    values = fuzz(type_, 4000)
    block = b"".join(b"K%d,%s\n" % (i, v) for i, v in enumerate(values))
    result = run(feed, ("k", "v"), block)
    uncertain = set((result.uncertain_lines - 2).tolist())
    wrong = [(v, reference(type_, v)) for i, v in enumerate(values) if (i not in uncertain) != reference(type_, v)]
    assert not wrong, wrong[:10]
    if type_ != "boolean":
        assert sum(reference(type_, v) for v in values) > 200  # the fuzz hits both sides


def test_clean_block_of_unique_keys_needs_no_server_check():
    feed = Feed("t", "utf-8", ("k", "ts", "n"), "k", types=(("ts", "timestamptz"), ("n", "numeric")))
    block = b"".join(b"E%05d,2026-09-30T10:00:00+08:00,%d.25\r\n" % (i, i) for i in range(500))
    result = run(feed, ("k", "ts", "n"), block, newline=b"\r\n")
    assert result.lines == 500
    assert result.uncertain_lines.tolist() == []
    assert result.duplicate_candidates.tolist() == []


def test_missing_keys_and_bad_values_are_left_to_the_server_with_their_line_numbers():
    feed = Feed("t", "utf-8", ("k", "ts"), "k", types=(("ts", "timestamptz"),))
    lines = [b"E%d,2026-09-30T10:00:00+08:00\n" % i for i in range(10)]
    lines[2] = b",2026-09-30T10:00:00+08:00\n"
    lines[5] = b" E5,2026-09-30T10:00:00+08:00\n"
    lines[7] = b"E7,yesterday\n"
    result = run(feed, ("k", "ts"), b"".join(lines), first_line=12)
    assert result.uncertain_lines.tolist() == [14, 17, 19]


def test_duplicate_keys_across_blocks_name_every_line_of_the_key():
    feed = Feed("t", "utf-8", ("k", "v"), "k")
    checker = Prechecker(PrecheckPlan.for_file(feed, ("k", "v"), ",", b"\n", "utf-8"))
    assert checker.add_block(b"A,1\nB,2\nC,3\n", 2) == 3
    checker.add_block(b"D,4\nB,5\n", 5)
    checker.add_block(b"B,6\nE,7\n", 7)
    result = checker.result()
    assert result.duplicate_candidates.tolist() == [3, 6, 7]
    assert result.uncertain_lines.tolist() == []


@pytest.mark.parametrize("block", [
    b'A,1\n"B",2\n',  # quotes: fields are not plain bytes
    b"A,1\nB,2,3\n",  # a wrong column count (COPY will refuse it anyway)
    b"A,1\nB\n",
], ids=["quoted", "extra_field", "missing_field"])
def test_blocks_that_are_not_plain_are_checked_whole_on_the_server(block):
    result = run(Feed("t", "utf-8", ("k", "v"), "k"), ("k", "v"), block)
    assert result.uncertain_lines.tolist() == [2, 3]
    assert result.duplicate_candidates is None


def test_gbk_blocks_are_certified_only_when_pure_ascii():
    feed = Feed("t", "gbk", ("k", "note"), "k")
    assert run(feed, ("k", "note"), b"A,plain\nB,text\n", encoding="gbk").uncertain_lines.tolist() == []
    result = run(feed, ("k", "note"), "A,讨论\nB,理财\n".encode("gbk"), encoding="gbk")
    assert result.uncertain_lines.tolist() == [2, 3]
    assert result.duplicate_candidates is None
    # In UTF-8 a byte below 0x80 is always ASCII, so non-ASCII text does not matter.
    assert run(Feed("t", "utf-8", ("k", "note"), "k"), ("k", "note"), "A,讨论\n".encode()).uncertain_lines.size == 0


def test_keys_too_long_to_hash_send_the_duplicate_check_to_the_server():
    feed = Feed("t", "utf-8", ("k", "v"), "k")
    result = run(feed, ("k", "v"), b"%s,1\nB,2\n" % (b"x" * (KEY_WINDOW + 1)))
    assert result.uncertain_lines.tolist() == []
    assert result.duplicate_candidates is None


def test_keys_equal_up_to_trailing_bytes_are_not_confused():
    feed = Feed("t", "utf-8", ("v", "k"), "k")  # key last: its window runs into the next line
    keys = [b"K1", b"K1 ", b"K10", b"K1\t", b"k1", b"K" * 8, b"K" * 9, b"K" * 16, b"K" * 17]
    result = run(feed, ("v", "k"), b"".join(b"x,%s\n" % k for k in keys))
    assert result.duplicate_candidates.tolist() == []


def test_lines_are_numbered_on_from_the_previous_block():
    checker = Prechecker(PrecheckPlan.for_file(Feed("t", "utf-8", ("k",), "k"), ("k",), ",", b"\n", "utf-8"))
    checker.add_block(b"a\nb\n", 2)
    with pytest.raises(ValueError, match="expected 4"):
        checker.add_block(b"c\n", 5)
    assert np.array_equal(checker.result().uncertain_lines, np.empty(0, np.int64))
