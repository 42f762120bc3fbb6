"""Bulk load numpy columns into Postgres with binary COPY.

Millions of balance rows would spend most of their time being formatted as text in Python and
parsed again by the server. The binary COPY format is a fixed recipe per type, so whole columns
are encoded at once with numpy: every column becomes a (rows, width) byte matrix plus a mask of
the bytes actually used, and a boolean compress of the stacked matrices yields the rows in wire
order.

Column conventions (the encoder is picked from the table's real column types):
text/char <- str arrays (object arrays may hold None for NULL), or ``Coded`` (categories +
integer codes) so that a value repeated millions of times is encoded once; date <-
datetime64[D] (NaT is NULL); timestamptz <- datetime64[s] in Asia/Shanghai wall-clock time;
numeric <- float (NaN is NULL), rounded to the column's scale; boolean <- bool; double
precision <- float; integer <- int.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import psycopg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Coded:
    """A dictionary-encoded text column, like pandas.Categorical: row i holds
    categories[codes[i]]."""

    categories: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key: slice) -> Coded:
        return Coded(self.categories, self.codes[key])

    def decode(self) -> np.ndarray:
        return np.asarray(self.categories)[self.codes]


Columns = Mapping[str, "np.ndarray | Coded"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_D = np.datetime64("2000-01-01", "D")
PG_EPOCH_S = np.datetime64("2000-01-01T00:00:00", "s")
SHANGHAI_OFFSET = np.timedelta64(8 * 3600, "s")
CHUNK_ROWS = 200_000
NUMERIC_INT_GROUPS = 5  # base-10000 digits before the point: up to 10^20, beyond any column here


class _Field:
    """One encoded column chunk: bytes (rows, width) and how many of them each row uses."""

    def __init__(self, data: np.ndarray, used: np.ndarray | None):
        self.data = data
        self.used = used  # None: every row uses the full width


def _be(values: np.ndarray, dtype: str) -> np.ndarray:
    arr = np.ascontiguousarray(values.astype(dtype))
    return arr.view(np.uint8).reshape(len(values), -1)


def _with_length(payload: np.ndarray, null: np.ndarray | None) -> _Field:
    """Prefix each fixed-width payload with its int32 length (-1 and no payload for NULL)."""
    n, w = payload.shape
    if null is None or not null.any():
        return _Field(np.hstack([_be(np.full(n, w), ">i4"), payload]), None)
    length = np.where(null, -1, w)
    used = np.where(null, 4, 4 + w)
    return _Field(np.hstack([_be(length, ">i4"), payload]), used)


def _text(values: np.ndarray | Coded) -> _Field:
    if isinstance(values, Coded):
        f = _text(values.categories)
        return _Field(f.data[values.codes], None if f.used is None else f.used[values.codes])
    values = np.asarray(values)
    null = None
    if values.dtype == object:
        null = np.equal(values, None)
        values = np.where(null, "", values)
    if values.dtype.kind == "U" and len(values):
        try:  # plain casting is several times faster than encode() and exact for ASCII
            width = max(int(np.strings.str_len(values).max()), 1)
            encoded = values.astype(f"S{width}")
        except UnicodeEncodeError:
            encoded = np.strings.encode(values, "utf-8")
    else:
        encoded = np.strings.encode(values.astype(np.dtypes.StringDType()), "utf-8")
    n = len(encoded)
    width = encoded.dtype.itemsize
    payload = encoded.view(np.uint8).reshape(n, width)
    lengths = np.strings.str_len(encoded).astype(np.int64)
    if null is not None:
        lengths = np.where(null, -1, lengths)
    used = 4 + np.maximum(lengths, 0)
    return _Field(np.hstack([_be(lengths, ">i4"), payload]), used)


def _date(values: np.ndarray) -> _Field:
    d = np.asarray(values, dtype="datetime64[D]")
    null = np.isnat(d)
    days = np.where(null, 0, (d - PG_EPOCH_D).astype(np.int64))
    return _with_length(_be(days, ">i4"), null)


def _timestamptz(values: np.ndarray) -> _Field:
    ts = np.asarray(values, dtype="datetime64[s]")
    null = np.isnat(ts)
    micros = np.where(null, 0, (ts - SHANGHAI_OFFSET - PG_EPOCH_S).astype(np.int64) * 1_000_000)
    return _with_length(_be(micros, ">i8"), null)


def _numeric(values: np.ndarray, scale: int) -> _Field:
    """Postgres numeric on the wire: ndigits, weight, sign, dscale, then base-10000 digits.
    Every value is sent with the same number of digit groups; the server strips the zeros."""
    x = np.asarray(values, dtype=float)
    null = np.isnan(x)
    v = np.round(np.where(null, 0.0, x) * 10.0**scale).astype(np.int64)
    sign = np.where(v < 0, 0x4000, 0)
    v = np.abs(v)
    frac_groups = -(-scale // 4)
    int_part, frac = np.divmod(v, 10**scale)
    frac = frac * 10 ** (4 * frac_groups - scale)
    groups = []
    for _ in range(NUMERIC_INT_GROUPS):
        int_part, g = np.divmod(int_part, 10_000)
        groups.insert(0, g)
    if int_part.any():
        raise ValueError("numeric value too large for the binary encoder")
    fgroups = []
    for _ in range(frac_groups):
        frac, g = np.divmod(frac, 10_000)
        fgroups.insert(0, g)
    ndigits = NUMERIC_INT_GROUPS + frac_groups
    n = len(v)
    header = np.stack(
        [np.full(n, ndigits), np.full(n, NUMERIC_INT_GROUPS - 1), sign, np.full(n, scale)], axis=1
    )
    digits = np.stack(groups + fgroups, axis=1)
    payload = _be(np.hstack([header, digits]).ravel(), ">i2").reshape(n, -1)
    return _with_length(payload, null)


def _encode(kind: str, scale: int | None, values: np.ndarray) -> _Field:
    if kind in ("text", "character", "character varying"):
        return _text(values)
    if kind == "date":
        return _date(values)
    if kind == "timestamp with time zone":
        return _timestamptz(values)
    if kind == "numeric":
        return _numeric(values, scale or 0)
    if kind == "boolean":
        return _with_length(np.asarray(values, dtype=bool).astype(np.uint8)[:, None], None)
    if kind == "double precision":
        x = np.asarray(values, dtype=float)
        return _with_length(_be(x, ">f8"), np.isnan(x))
    if kind == "integer":
        return _with_length(_be(np.asarray(values), ">i4"), None)
    raise TypeError(f"no binary encoder for {kind}")


def encode_rows(kinds: list[tuple[str, int | None]], cols: list[np.ndarray]) -> bytes:
    """Rows (without signature/trailer) in COPY binary format."""
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise ValueError("columns differ in length")
    fields = [_Field(_be(np.full(n, len(cols)), ">i2"), None)]
    fields += [_encode(kind, scale, col) for (kind, scale), col in zip(kinds, cols, strict=True)]
    data = np.hstack([f.data for f in fields])
    if all(f.used is None for f in fields):
        return data.tobytes()
    masks = []
    for f in fields:
        w = f.data.shape[1]
        if f.used is None:
            masks.append(np.ones((n, w), dtype=bool))
        else:
            masks.append(np.arange(w)[None, :] < f.used[:, None])
    return data[np.hstack(masks)].tobytes()


def _rows(col: np.ndarray | Coded, lo: int, hi: int) -> np.ndarray | Coded:
    return col[lo:hi] if isinstance(col, Coded) else np.asarray(col)[lo:hi]


def column_types(conn: psycopg.Connection, table: str) -> dict[str, tuple[str, int | None]]:
    schema, name = table.split(".")
    rows = conn.execute(
        "select column_name, data_type, numeric_scale from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, name),
    ).fetchall()
    if not rows:
        raise LookupError(f"table {table} not found")
    return {r[0]: (r[1], r[2]) for r in rows}


def copy_columns(conn: psycopg.Connection, table: str, chunks: Columns | Iterable[Columns]) -> int:
    """COPY one or more column chunks (same columns each) into ``table``; returns rows loaded."""
    it = iter([chunks] if isinstance(chunks, Mapping) else chunks)
    first = next(it, None)
    if first is None:
        return 0
    names = list(first)
    types = column_types(conn, table)
    missing = set(names) - set(types)
    if missing:
        raise KeyError(f"{table} has no columns {sorted(missing)}")
    kinds = [types[c] for c in names]
    total = 0
    with conn.cursor() as cur:
        with cur.copy(f"copy {table} ({', '.join(names)}) from stdin (format binary)") as cp:
            cp.write(SIGNATURE)
            for chunk in itertools.chain([first], it):
                n = len(chunk[names[0]])
                if set(chunk) != set(names):
                    raise KeyError(f"{table}: chunk columns {sorted(chunk)} != {sorted(names)}")
                for lo in range(0, n, CHUNK_ROWS):
                    part = [_rows(chunk[c], lo, lo + CHUNK_ROWS) for c in names]
                    cp.write(encode_rows(kinds, part))
                total += n
            cp.write(TRAILER)
    log.info("loaded %s: %d rows", table, total)
    return total
