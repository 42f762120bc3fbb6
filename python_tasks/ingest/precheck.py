"""Prove on the client, in bulk, that lines pass the loader's line checks, so the server need not.

The loader streams a file's bytes to the server's COPY; the server's line checks
(``landing_checks``: missing key, declared types, duplicate key) would then cost as much as the
COPY itself. While the server parses block n, this module looks at the same bytes with numpy and
issues *certificates*: a line is certified when its key is plainly non-empty and every typed value
has a shape that Postgres certainly accepts (``2026-09-30T10:00:00+08:00``, ``-12.50``, ...). It
also hashes every key, so a file whose keys are all distinct is proven free of duplicates.

Certificates are one-sided: anything unusual (quotes in the block, a value in another valid
spelling, 29 February, a boolean, a key longer than ``KEY_WINDOW``) is left *uncertain*, and the
server checks exactly those lines with the real SQL. A certified line passes the SQL checks; an
uncertain one may or may not. So the result is the same as checking every line on the server.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from python_tasks.ingest.feeds import Feed

log = logging.getLogger(__name__)

KEY_WINDOW = 64  # longest key hashed on the client; longer keys send the duplicate check to the server
NUMBER_WINDOW = 24  # longest numeric value certified
TS_WINDOW = 32  # a timestamp read as four 8-byte words
PAD = bytes(KEY_WINDOW + 2)  # windows near the end of a block read padding, never past the buffer
# Certify only encodings in which a byte < 0x80 is always that ASCII character; in the others
# (GBK's trail bytes include '|' and '@'..'~') only pure-ASCII blocks are certified.
ASCII_SAFE_ENCODINGS = frozenset({"utf-8", "latin-1", "iso8859-1", "cp1252"})
# Past this many uncertain lines the server checks every line anyway; stop collecting numbers.
MAX_UNCERTAIN_LINES = 2_000_000

_DIGITS = b"0123456789"
_MINUS, _DOT, _COLON, _SPACE, _PLUS = ord("-"), ord("."), ord(":"), ord(" "), ord("+")
_T, _Z, _CR = ord("T"), ord("Z"), ord("\r")


def _pair_table() -> np.ndarray:
    """Two ASCII digits read as a little-endian uint16 -> their value; anything else -> 255."""
    table = np.full(1 << 16, 255, np.uint8)
    for hi in range(10):
        for lo in range(10):
            table[_DIGITS[hi] | (_DIGITS[lo] << 8)] = hi * 10 + lo
    return table


def _month_day_table() -> np.ndarray:
    """month * 32 + day -> valid in every year. 29 February is left out: leap years go to the server."""
    table = np.zeros(13 * 32, bool)
    for month, days in enumerate((0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)):
        table[month * 32 + 1: month * 32 + days + 1] = True
    return table


def _number_flags() -> np.ndarray:
    """Byte -> 0 digit, 2 dot, 4 minus, 1 anything else."""
    flags = np.ones(256, np.uint8)
    flags[list(_DIGITS)] = 0
    flags[_DOT] = 2
    flags[_MINUS] = 4
    return flags


_WORD = np.dtype("<u8")  # 8 bytes of a field, first byte lowest, whatever the machine's byte order
PAIRS = _pair_table()
MONTH_DAYS = _month_day_table()
NUMBER_FLAGS = _number_flags()
_EVERY_BYTE = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _length_masks() -> np.ndarray:
    """length -> words with 0xFF in the first ``length`` bytes, for zeroing bytes past a field."""
    masks = np.zeros((KEY_WINDOW + 1, KEY_WINDOW), np.uint8)
    for length in range(KEY_WINDOW + 1):
        masks[length, :length] = 0xFF
    return masks.view(_WORD)


LENGTH_MASKS = _length_masks()
_HASH_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                              0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25],
                             np.uint64)


@dataclass(frozen=True)
class Window:
    """One field of every line of a block: the padded block, start offsets and lengths."""
    buf: np.ndarray
    start: np.ndarray
    length: np.ndarray

    def bytes(self, width: int) -> np.ndarray:
        """(lines, width) array of the field's first ``width`` bytes (garbage past its length)."""
        return sliding_window_view(self.buf, width)[self.start]

    def first_byte(self) -> np.ndarray:
        return self.buf[self.start]


def _byte(word: np.ndarray, index: int) -> np.ndarray:
    return (word >> np.uint64(8 * index)) & np.uint64(0xFF)


def _pair(words: np.ndarray, offset: int) -> np.ndarray:
    """The value of the two digits at byte ``offset`` of each row (255: not two digits)."""
    i, shift = divmod(offset, 8)
    if shift < 7:
        code = (words[:, i] >> np.uint64(8 * shift)) & np.uint64(0xFFFF)
    else:  # the pair straddles two words
        code = (words[:, i] >> np.uint64(56)) | ((words[:, i + 1] & np.uint64(0xFF)) << np.uint64(8))
    return PAIRS[code]


def _is(word: np.ndarray, index: int, *chars: int) -> np.ndarray:
    b = _byte(word, index)
    ok = b == chars[0]
    for c in chars[1:]:
        ok |= b == c
    return ok


def _date_ok(words: np.ndarray) -> np.ndarray:
    """YYYY-MM-DD at the start of the field, a real calendar day of year 0001..9999."""
    century, year, month, day = _pair(words, 0), _pair(words, 2), _pair(words, 5), _pair(words, 8)
    ok = (century < 100) & (year < 100) & ((century | year) > 0)
    ok &= _is(words[:, 0], 4, _MINUS) & _is(words[:, 0], 7, _MINUS)
    # Out-of-range months and days index row or column 0 of the table, which is all False.
    month = np.where(month <= 12, month, 0).astype(np.intp)
    return ok & MONTH_DAYS[month * 32 + np.where(day <= 31, day, 0)]


def certify_timestamptz(w: Window) -> np.ndarray:
    """YYYY-MM-DD, optionally [T ]HH:MM:SS and Z or +HH:MM / -HH:MM (offsets up to 14 hours)."""
    words = w.bytes(TS_WINDOW).view(_WORD)
    n = w.length
    time_ok = _is(words[:, 1], 2, _T, _SPACE) & _is(words[:, 1], 5, _COLON) & _is(words[:, 2], 0, _COLON)
    time_ok &= (_pair(words, 11) <= 23) & (_pair(words, 14) <= 59) & (_pair(words, 17) <= 59)
    offset_ok = _is(words[:, 2], 3, _PLUS, _MINUS) & _is(words[:, 2], 6, _COLON)
    offset_ok &= (_pair(words, 20) <= 14) & (_pair(words, 23) <= 59)
    zone_ok = (n == 19) | ((n == 20) & _is(words[:, 2], 3, _Z)) | ((n == 25) & offset_ok)
    return _date_ok(words) & ((n == 10) | (time_ok & zone_ok))


def certify_date(w: Window) -> np.ndarray:
    return (w.length == 10) & _date_ok(w.bytes(TS_WINDOW).view(_WORD))


def _word_columns(length: np.ndarray, limit: int) -> int:
    return max(-(-min(int(length.max()), limit) // 8), 1)


def _certify_number(w: Window, max_digits: int, allow_dot: bool) -> np.ndarray:
    """-?digits(.digits)? with at most ``max_digits`` characters after the sign."""
    n = w.length
    k = _word_columns(n, NUMBER_WINDOW)
    # Per byte: 0 digit, 2 dot, 4 minus, 1 other; bytes past the value zeroed (as if digits).
    flags = NUMBER_FLAGS[w.bytes(8 * k)].view(_WORD) & LENGTH_MASKS[np.minimum(n, 8 * k), :k]
    other = minus = dots = None
    for i in range(k):
        f = flags[:, i]
        # A minus is fine in byte 0 of the value only.
        m = f & (_EVERY_BYTE * np.uint64(4)) & (np.uint64(~0xFF & 0xFFFFFFFFFFFFFFFF) if i == 0 else _ALL)
        o = f & _EVERY_BYTE
        d = np.bitwise_count(f & (_EVERY_BYTE * np.uint64(2)))
        other, minus, dots = (o, m, d) if i == 0 else (other | o, minus | m, dots + d)
    sign = (_byte(flags[:, 0], 0) == 4).astype(np.intp)
    last = n - 1
    last_byte = (flags[np.arange(len(n)), np.clip(last // 8, 0, k - 1)] >> (8 * (last % 8)).astype(np.uint64)) \
        & np.uint64(0xFF)
    ok = (n > sign) & (n - sign <= max_digits) & (n <= 8 * k) & (other == 0) & (minus == 0)
    ok &= (dots <= (1 if allow_dot else 0)) & (last_byte == 0)
    ok &= ((flags[:, 0] >> (8 * sign).astype(np.uint64)) & np.uint64(0xFF)) == 0  # a digit right after the sign
    return ok


def certify_numeric(w: Window) -> np.ndarray:
    return _certify_number(w, NUMBER_WINDOW, allow_dot=True)


def certify_integer(w: Window) -> np.ndarray:
    return _certify_number(w, 9, allow_dot=False)


def certify_bigint(w: Window) -> np.ndarray:
    return _certify_number(w, 18, allow_dot=False)


CERTIFIERS = {"timestamptz": certify_timestamptz, "date": certify_date, "numeric": certify_numeric,
              "integer": certify_integer, "bigint": certify_bigint}  # boolean: always the server


def certify_key(w: Window) -> np.ndarray:
    """Not empty after trimming spaces: the first byte is there and is not a space."""
    return (w.length >= 1) & (w.first_byte() != _SPACE)


def hash_keys(w: Window) -> np.ndarray | None:
    """A 64-bit hash of each key's bytes; None if a key is too long to hash here."""
    if int(w.length.max()) > KEY_WINDOW:
        return None
    k = _word_columns(w.length, KEY_WINDOW)
    words = w.bytes(8 * k).view(_WORD) & LENGTH_MASKS[w.length, :k]
    with np.errstate(over="ignore"):
        h = w.length.astype(np.uint64)
        for i in range(k):
            h = h + words[:, i] * _HASH_MULTIPLIERS[i]
        h ^= h >> np.uint64(31)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    return h


@dataclass(frozen=True)
class PrecheckPlan:
    columns: int
    delimiter: int
    crlf: bool
    key_index: int
    typed: tuple[tuple[int, str], ...]  # (index in file order, declared type)
    ascii_only: bool

    @classmethod
    def for_file(cls, feed: Feed, header: tuple[str, ...], delimiter: str, newline: bytes,
                 encoding: str) -> PrecheckPlan:
        import codecs

        return cls(len(header), ord(delimiter), newline == b"\r\n", header.index(feed.key),
                   tuple((header.index(c), t) for c, t in feed.column_types().items()),
                   codecs.lookup(encoding).name not in ASCII_SAFE_ENCODINGS)


@dataclass
class PrecheckResult:
    lines: int
    uncertain_lines: np.ndarray | None  # line numbers the server must check; None: check them all
    duplicate_candidates: np.ndarray | None  # lines whose key hash repeats; None: check every key

    @property
    def uncertain_count(self) -> int | None:
        return None if self.uncertain_lines is None else len(self.uncertain_lines)


@dataclass
class Prechecker:
    """Feed it every block of whole lines in file order; ask for the result at the end."""
    plan: PrecheckPlan
    lines: int = 0
    _uncertain: list[np.ndarray] = field(default_factory=list)
    _uncertain_count: int = 0
    _check_all: bool = False
    _hashes: list[np.ndarray] | None = field(default_factory=list)
    _hash_first_lines: list[int] = field(default_factory=list)
    _first_line: int | None = None

    def add_block(self, block: bytes, first_line: int) -> int:
        """``block`` holds whole lines, each ending in the file's newline; ``first_line`` numbers its
        first. Returns the number of lines in the block."""
        if self._first_line is None:
            self._first_line = first_line
        if first_line != self._first_line + self.lines:
            raise ValueError(f"block starts at line {first_line}, expected {self._first_line + self.lines}")
        certified, hashes = self._check_block(block)
        n = len(certified) if certified is not None else block.count(b"\n")
        if certified is None:
            self._mark_uncertain(np.arange(first_line, first_line + n, dtype=np.int64))
            self._hashes = None
        else:
            bad = np.flatnonzero(~certified)
            if len(bad):
                self._mark_uncertain(bad + first_line)
            if hashes is None:
                self._hashes = None
            elif self._hashes is not None:
                self._hashes.append(hashes)
                self._hash_first_lines.append(first_line)
        self.lines += n
        return n

    def _mark_uncertain(self, lines: np.ndarray) -> None:
        if self._check_all:
            return
        self._uncertain.append(lines)
        self._uncertain_count += len(lines)
        if self._uncertain_count > MAX_UNCERTAIN_LINES:
            self._check_all, self._uncertain = True, []

    def _check_block(self, block: bytes) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(certified per line, key hashes), or (None, None) when the block is not plain enough."""
        plan = self.plan
        if not block or b'"' in block or (plan.ascii_only and not block.isascii()):
            return None, None
        buf = np.frombuffer(block + PAD, np.uint8)
        body = buf[: len(block)]
        newlines = np.flatnonzero(body == 10)
        n = len(newlines)
        if n == 0:
            return None, None
        ends = newlines - 1 if plan.crlf else newlines
        if plan.crlf and not (body[ends] == _CR).all():
            return None, None
        starts = np.empty(n, np.int64)
        starts[0] = 0
        starts[1:] = newlines[:-1] + 1
        delimiters = np.flatnonzero(body == plan.delimiter)
        width = plan.columns - 1
        if len(delimiters) != n * width:
            return None, None
        grid = delimiters.reshape(n, width)
        # Rows of the reshape are the delimiters of one line each only if every line holds exactly
        # `width` of them: with the total right, the first after its start and the last before its
        # end proves it.
        if width and not ((grid[:, 0] >= starts).all() and (grid[:, -1] < ends).all()):
            return None, None

        def window(i: int) -> Window:
            start = starts if i == 0 else grid[:, i - 1] + 1
            end = ends if i == width else grid[:, i]
            return Window(buf, start, end - start)

        key = window(plan.key_index)
        certified = certify_key(key)
        for index, type_ in plan.typed:
            certifier = CERTIFIERS.get(type_)
            if certifier is None:
                certified &= False
            else:
                certified &= certifier(window(index))
        return certified, hash_keys(key)

    def result(self) -> PrecheckResult:
        uncertain = None if self._check_all else (
            np.concatenate(self._uncertain) if self._uncertain else np.empty(0, np.int64))
        return PrecheckResult(self.lines, uncertain, self._duplicate_candidates())

    def _duplicate_candidates(self) -> np.ndarray | None:
        if self._hashes is None:
            return None
        if not self._hashes:
            return np.empty(0, np.int64)
        ordered = np.concatenate(self._hashes)  # 8 bytes a line; sorted in place to keep the peak low
        ordered.sort()
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        if not len(repeated):
            return np.empty(0, np.int64)
        log.info("%d key hash(es) repeat: the server checks those keys for duplicates", len(repeated))
        return np.concatenate([np.flatnonzero(np.isin(h, repeated)) + first
                               for h, first in zip(self._hashes, self._hash_first_lines)]).astype(np.int64)
