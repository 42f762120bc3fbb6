"""Labels from the feature table itself: what a customer's row at D + H says about the row at D.

Churn (the customer left within H days of D), written down once here and in docs/predictions.md:
a customer in the population at D (not closed, holding a product) has left by D + H when, at D + H,
- the customer is closed (``customer_closed``), or
- the customer holds no product any more (``product_count`` = 0), or
- the customer has made no transaction for 30 days (QUIET_DAYS) and every balance is gone
  (<= 1 CNY), or
- the customer has no feature row at all (erased or removed from the core system).
Next-period value: ``profit_90d`` at D + H (zero when the customer has left).
Product opened: ``has_<type>`` false at D and true at D + H.
"""
from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pandas as pd

HORIZON_DAYS = 90
# Quiet this long with nothing left counts as gone. Shorter than the horizon, so a customer who
# empties the accounts and stops within the horizon is a leaver of that horizon, not only one who
# had already stopped before D (whose features would show it).
QUIET_DAYS = 30
_NOT_A_BALANCE = re.compile(r"change|chg|trend|ratio|pct|share|util|loan")


def balance_columns(columns) -> list[str]:
    """Money held: columns named ``*balance*`` that are not changes, ratios or loans owed."""
    return [c for c in columns if "balance" in c and not _NOT_A_BALANCE.search(c)]


def has_left(later: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
    """Whether each row (a customer at D + H, or at D for the population) says the customer has
    gone. ``horizon_days`` is kept for callers; the quiet period is QUIET_DAYS."""
    n = len(later)
    left = np.zeros(n, dtype=bool)
    if "customer_closed" in later:
        left |= later["customer_closed"].fillna(0).to_numpy() > 0
    if "product_count" in later:
        left |= later["product_count"].fillna(0).to_numpy() <= 0
    balances = balance_columns(later.columns)
    if "days_since_last_txn" in later and balances:
        quiet = later["days_since_last_txn"].fillna(1e9).to_numpy() >= QUIET_DAYS
        empty = (later[balances].fillna(0).abs().to_numpy() <= 1.0).all(axis=1)
        left |= quiet & empty
    return left


def later_rows(frame: pd.DataFrame, horizon_days: int, columns: list[str]) -> pd.DataFrame:
    """For every row at D, the same customer's ``columns`` at D + H (NaN when absent), plus
    ``_later_present`` and ``_label_date_known`` (D + H is a feature date of the table)."""
    dates = set(pd.to_datetime(frame["feature_date"]).dt.date.unique())
    key_date = pd.to_datetime(frame["feature_date"]).dt.date
    target = key_date.map(lambda d: d + timedelta(days=horizon_days))
    later = frame[["feature_date", "customer_id", *columns]].copy()
    later["feature_date"] = pd.to_datetime(later["feature_date"]).dt.date
    later["_later_present"] = True
    probe = pd.DataFrame({"feature_date": target.to_numpy(), "customer_id": frame["customer_id"].to_numpy()})
    joined = probe.merge(later, on=["feature_date", "customer_id"], how="left")
    joined["_later_present"] = joined["_later_present"].fillna(False).astype(bool)
    joined["_label_date_known"] = target.isin(dates).to_numpy()
    joined.index = frame.index
    return joined


def churn_label(frame: pd.DataFrame, horizon_days: int) -> pd.Series:
    """1 = left within H, 0 = stayed, NaN = D + H is not (yet) a feature date."""
    cols = [c for c in ("customer_closed", "product_count", "days_since_last_txn") if c in frame]
    cols += balance_columns(frame.columns)
    later = later_rows(frame, horizon_days, cols)
    left = ~later["_later_present"].to_numpy() | has_left(later[cols], horizon_days)
    out = pd.Series(left.astype("float64"), index=frame.index)
    out[~later["_label_date_known"].to_numpy()] = np.nan
    return out


def next_value_label(frame: pd.DataFrame, horizon_days: int, column: str = "profit_90d") -> pd.Series:
    later = later_rows(frame, horizon_days, [column])
    value = later[column].astype("float64").fillna(0.0)
    value[~later["_label_date_known"].to_numpy()] = np.nan
    return pd.Series(value.to_numpy(), index=frame.index)


def opened_labels(frame: pd.DataFrame, horizon_days: int, products: list[str]) -> pd.DataFrame:
    """Per product: 1 opened within H, 0 did not, NaN already held at D or label not yet known."""
    cols = [f"has_{p}" for p in products]
    later = later_rows(frame, horizon_days, cols)
    known = later["_label_date_known"].to_numpy()
    out = {}
    for p, c in zip(products, cols):
        held_before = frame[c].fillna(0).to_numpy() > 0
        held_after = later[c].fillna(0).to_numpy() > 0
        y = held_after.astype("float64")
        y[held_before | ~known] = np.nan
        out[p] = y
    return pd.DataFrame(out, index=frame.index)
