"""Daily scoring: every customer of a date, streamed in chunks from a server-side cursor and
written with COPY, so memory stays flat whatever the number of customers."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import psycopg

from python_tasks.predictions import reasons
from python_tasks.predictions.drift import BinCounter
from python_tasks.predictions.features import in_population, stream_date
from python_tasks.predictions.registry import Registered

log = logging.getLogger(__name__)

SCORE_COLUMNS = (
    "as_of_date", "customer_id", "score_source", "churn_probability", "churn_reasons_en", "churn_reasons_zh",
    "current_profit_90d_cny", "predicted_profit_90d_cny", "predicted_annual_uplift_cny", "value_reasons_en",
    "value_reasons_zh", "next_best_product", "next_best_product_probability", "churn_model_version",
    "value_model_version", "product_model_version",
)


@dataclass
class ScoringResult:
    customers: int = 0
    chunks: int = 0
    drift: dict = field(default_factory=dict)


# A feature is named as a reason only when it moved the score at least this much.
MIN_CHURN_EFFECT = 0.01   # probability points
MIN_VALUE_EFFECT = 10.0   # CNY of next-period profit


def score_chunk(chunk: pd.DataFrame, as_of: date, churn: Registered, value: Registered | None,
                products: Registered | None) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Scores and reasons for one chunk of feature rows (customers in the population only):
    the rows to store, the feature rows they came from, and the churn probabilities."""
    chunk = chunk[in_population(chunk)].reset_index(drop=True)
    n = len(chunk)
    out = pd.DataFrame({"as_of_date": [as_of] * n, "customer_id": chunk["customer_id"].to_numpy(),
                        "score_source": "model"})
    cb = churn.bundle
    p = cb.predict(chunk)
    out["churn_probability"] = p
    contrib = reasons.contributions(cb.predict, chunk, cb.reason_features, cb.medians)
    out["churn_reasons_en"], out["churn_reasons_zh"] = reasons.sentences(
        chunk, cb.reason_features, contrib, cb.medians, min_effect=MIN_CHURN_EFFECT)
    current = chunk["profit_90d"].to_numpy(dtype=float) if "profit_90d" in chunk else np.full(n, np.nan)
    out["current_profit_90d_cny"] = current
    out["churn_model_version"] = churn.version
    if value is not None:
        vb = value.bundle
        predicted = vb.predict(chunk)
        out["predicted_profit_90d_cny"] = predicted
        out["predicted_annual_uplift_cny"] = 4.0 * (predicted - np.nan_to_num(current))
        vc = reasons.contributions(vb.predict, chunk, vb.reason_features, vb.medians)
        out["value_reasons_en"], out["value_reasons_zh"] = reasons.sentences(
            chunk, vb.reason_features, vc, vb.medians, min_effect=MIN_VALUE_EFFECT)
        out["value_model_version"] = value.version
    else:
        for c in ("predicted_profit_90d_cny", "predicted_annual_uplift_cny", "value_reasons_en", "value_reasons_zh",
                  "value_model_version"):
            out[c] = None
    if products is not None and n:
        probs = products.bundle.predict_products(chunk)
        best = probs.to_numpy().argmax(axis=1)
        out["next_best_product"] = np.asarray(probs.columns)[best]
        out["next_best_product_probability"] = probs.to_numpy()[np.arange(n), best]
        out["product_model_version"] = products.version
    else:
        for c in ("next_best_product", "next_best_product_probability", "product_model_version"):
            out[c] = None
    return out[list(SCORE_COLUMNS)], chunk, p


def _copy_rows(conn: psycopg.Connection, frame: pd.DataFrame) -> None:
    with conn.cursor().copy(f"copy ml.customer_scores ({', '.join(SCORE_COLUMNS)}) from stdin") as copy:
        for row in frame.itertuples(index=False, name=None):
            copy.write_row([None if (isinstance(v, float) and v != v) else
                            (int(v) if isinstance(v, (np.integer,)) else v) for v in row])


def score_date(conn: psycopg.Connection, as_of: date, churn: Registered, value: Registered | None,
               products: Registered | None, columns: list[str], chunk_rows: int = 20_000) -> ScoringResult:
    """Replace the scores of ``as_of`` (call inside a transaction: the delete and the new rows
    commit together, so a re-run never duplicates)."""
    conn.execute("delete from ml.customer_scores where as_of_date = %s", (as_of,))
    result = ScoringResult()
    drift = BinCounter(churn.bundle.reference)
    for chunk in stream_date(conn, as_of, columns, chunk_rows):
        rows, kept, p = score_chunk(chunk, as_of, churn, value, products)
        drift.add(kept, p)
        _copy_rows(conn, rows)
        result.customers += len(rows)
        result.chunks += 1
        log.info("scored %d customers for %s (chunk %d)", result.customers, as_of, result.chunks)
    result.drift = drift.result()
    return result
