"""Reading the point-in-time feature table: which columns are features, frames for training,
and streaming one date in chunks for scoring."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

FEATURE_TABLE = ("marts", "mart_customer_features")
KEYS = ("feature_date", "customer_id")
# State flags that define who is scored (a closed customer is not), not signals to learn from.
NOT_FEATURES = frozenset({"customer_closed"})
_NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean")


def feature_table_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (".".join(FEATURE_TABLE),)).fetchone()
    return bool(row and row[0])


def table_columns(conn: psycopg.Connection) -> list[str]:
    """Numeric and boolean columns of the feature table, in table order (keys included)."""
    rows = conn.execute(
        """
        select column_name, data_type from information_schema.columns
        where table_schema = %s and table_name = %s order by ordinal_position
        """,
        FEATURE_TABLE,
    ).fetchall()
    if not rows:
        raise LookupError(f"{'.'.join(FEATURE_TABLE)} does not exist: build the dbt project first (`crm run`)")
    return [name for name, dtype in rows if dtype in _NUMERIC_TYPES or name in KEYS]


def feature_columns(columns: Sequence[str]) -> list[str]:
    """Every numeric column except the keys and the state flags that decide the population."""
    return [c for c in columns if c not in KEYS and c not in NOT_FEATURES]


def feature_dates(conn: psycopg.Connection, up_to: date) -> list[date]:
    query = sql.SQL("select distinct feature_date from {} where feature_date <= %s order by 1").format(
        sql.Identifier(*FEATURE_TABLE))
    return [r[0] for r in conn.execute(query, (up_to,))]


def to_frame(rows: list[tuple], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for c in columns:
        if c not in KEYS:
            frame[c] = pd.to_numeric(frame[c].astype("float64"), errors="coerce").astype("float32")
    return frame


def load_dates(conn: psycopg.Connection, dates: Sequence[date], columns: Sequence[str],
               sample_fraction: float = 1.0, chunk_rows: int = 50_000) -> pd.DataFrame:
    """Rows of ``dates``; a stable sample of customers (the same ones on every date) when
    ``sample_fraction`` < 1, so a customer's later rows stay available for labels."""
    where = sql.SQL("feature_date = any(%s)")
    params: list = [list(dates)]
    if sample_fraction < 1.0:
        where = sql.SQL("{} and abs(hashtext(customer_id)) %% 10000 < %s").format(where)
        params.append(int(sample_fraction * 10_000))
    query = sql.SQL("select {} from {} where {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(*FEATURE_TABLE), where)
    parts = []
    with conn.transaction(), conn.cursor(name="ml_training_rows") as cur:
        cur.itersize = chunk_rows
        cur.execute(query, params)
        while rows := cur.fetchmany(chunk_rows):
            parts.append(to_frame(rows, columns))
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


def stream_date(conn: psycopg.Connection, as_of: date, columns: Sequence[str],
                chunk_rows: int = 20_000) -> Iterator[pd.DataFrame]:
    """The feature rows of one date in chunks, from a server-side cursor: memory stays flat
    whatever the number of customers."""
    query = sql.SQL("select {} from {} where feature_date = %s order by customer_id").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(*FEATURE_TABLE))
    with conn.cursor(name="ml_scoring_rows") as cur:
        cur.itersize = chunk_rows
        cur.execute(query, (as_of,))
        while rows := cur.fetchmany(chunk_rows):
            yield to_frame(rows, columns)


def in_population(frame: pd.DataFrame) -> np.ndarray:
    """Customers who can still leave or grow: not already gone by the churn label's own
    definition (closed, no product, or quiet for the horizon with every balance gone). Scoring
    the already-gone would count as 'predicting' what has happened."""
    from python_tasks.predictions.labels import HORIZON_DAYS, has_left

    return ~has_left(frame, HORIZON_DAYS)


def product_types(columns: Sequence[str]) -> list[str]:
    return [c.removeprefix("has_") for c in columns if c.startswith("has_")]
