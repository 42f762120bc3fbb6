"""What a trained model is: the estimators, the features they read, what they were trained on and
how well they did on a later period. One bundle per model name, serialised into the registry."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

CHURN = "churn"
VALUE = "value"
NEXT_BEST_PRODUCT = "next_best_product"
MODEL_NAMES = (CHURN, VALUE, NEXT_BEST_PRODUCT)


def limited_threads():
    """OpenMP threads for training and scoring (CRM_ML_THREADS, default 1). The boosters spin
    their threads while waiting; on a machine shared with dbt and Postgres, one thread per task
    ran a fit 30x faster than all cores (measured under load, docs/predictions.md)."""
    return threadpool_limits(limits=int(os.environ.get("CRM_ML_THREADS", "1")), user_api="openmp")


class PlattCalibrated:
    """A boosted classifier whose scores are mapped to probabilities by a logistic fit on a later
    holdout date (Platt scaling). Monotone, so ranking figures are the booster's own."""

    def __init__(self, booster: HistGradientBoostingClassifier, features: list[str],
                 fill: dict[str, float] | None = None):
        self.booster = booster
        self.features = features
        # Features with no value at all in the training rows (card utilisation among customers
        # without a card) are filled with a constant: the booster cannot bin an all-missing column.
        self.fill = fill or {}
        self.scaler: LogisticRegression | None = None

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        x = frame[self.features]
        fill = getattr(self, "fill", None)  # models saved before the fill existed have none
        return x.fillna(fill) if fill else x

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        p = self.booster.predict_proba(self.inputs(frame))[:, 1]
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    def calibrate(self, frame: pd.DataFrame, y: np.ndarray) -> PlattCalibrated:
        if len(np.unique(y)) < 2:  # nothing to calibrate on: keep the booster's own probabilities
            self.scaler = None
            return self
        self.scaler = LogisticRegression(C=1e6).fit(self.raw(frame).reshape(-1, 1), y)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        z = self.raw(frame)
        if self.scaler is None:
            return 1 / (1 + np.exp(-z))
        return self.scaler.predict_proba(z.reshape(-1, 1))[:, 1]


@dataclass
class ModelBundle:
    name: str
    features: list[str]
    # churn: {"churn": PlattCalibrated}; value: {"value": regressor}; next best product: one per product.
    estimators: dict[str, Any]
    medians: dict[str, float]
    reason_features: list[str]
    training_from: date
    training_to: date
    validation_date: date
    horizon_days: int
    data_hash: str
    training_rows: int
    metrics: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)  # distributions at training, for the drift check

    def predict(self, frame: pd.DataFrame, key: str | None = None) -> np.ndarray:
        est = self.estimators[key or self.name]
        if isinstance(est, PlattCalibrated):
            return est.predict(frame)
        return est.predict(frame[self.features])

    def predict_products(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Customers x products: probability to open each product not held (0 when held)."""
        out = {}
        for product, est in self.estimators.items():
            p = est.predict(frame)
            held = frame[f"has_{product}"].fillna(0).to_numpy() > 0 if f"has_{product}" in frame else False
            out[product] = np.where(held, 0.0, p)
        return pd.DataFrame(out, index=frame.index)
