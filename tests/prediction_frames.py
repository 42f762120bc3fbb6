"""Small synthetic feature tables with planted signals, shaped like marts.mart_customer_features."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

PRODUCTS = ("card", "fund", "loan")


def planted_bank(customers: int = 1500, dates: int = 12, seed: int = 0, start: date = date(2025, 1, 1)) -> pd.DataFrame:
    """Customers seen every 30 days. A customer about to leave shows it in ``complaints_90d`` one or
    two dates before (the planted signal); ``noise_*`` columns carry nothing. Customers with high
    ``txn_count_90d`` open a fund (cards open at random); profit follows ``balance_cny``."""
    rng = np.random.default_rng(seed)
    feature_dates = [start + timedelta(days=30 * i) for i in range(dates)]
    leave_at = np.where(rng.random(customers) < 0.35, rng.integers(2, max(3, dates), customers), 10_000)
    fund_at = np.where(rng.random(customers) < 0.3, rng.integers(1, max(2, dates), customers), 10_000)
    # Cards are opened more often than funds, with no warning: popularity recommends a card.
    card_at = np.where(rng.random(customers) < 0.6, rng.integers(1, max(2, dates), customers), 10_000)
    activity = rng.gamma(2.0, 10.0, customers)
    balance = rng.lognormal(9, 1, customers)
    rows = []
    for i, d in enumerate(feature_dates):
        gone = i >= leave_at
        warning = (leave_at - i >= 1) & (leave_at - i <= 3)
        has_fund = i >= fund_at
        will_open = (fund_at - i >= 1) & (fund_at - i <= 3)
        frame = pd.DataFrame({
            "feature_date": d,
            "customer_id": [f"C{j:05d}" for j in range(customers)],
            "complaints_90d": rng.poisson(np.where(warning, 3.0, 0.2)).astype(float),
            "txn_count_90d": np.where(gone, 0, rng.poisson(activity * np.where(will_open, 2.5, 1.0))).astype(float),
            "days_since_last_txn": np.where(gone, 200, rng.integers(0, 20, customers)).astype(float),
            "balance_cny": np.where(gone, 0, balance * rng.lognormal(0, 0.1, customers)),
            "profit_90d": np.where(gone, 0, balance * 0.004 * (1 + 0.05 * i) + rng.normal(0, 5, customers)),
            "noise_a": rng.normal(size=customers),
            "noise_b": rng.random(customers),
            "product_count": np.where(gone, 0, 1 + has_fund).astype(float),
            "has_card": (i >= card_at).astype(float),
            "has_fund": has_fund.astype(float),
            "has_loan": np.zeros(customers),
            "customer_closed": gone.astype(float),
        })
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
