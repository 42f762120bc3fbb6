"""Clustering features: which mart columns, and how each is transformed.

Every transform is written twice from the same spec: as a SQL expression (scoring runs inside
Postgres over every customer) and as numpy code (fitting runs in Python on a sample). Both are
generated from :class:`Feature`, so they cannot drift apart; an integration test checks they
agree numerically. A fitted model stores its feature specs, so changing ``FEATURES`` later does
not change how an old model scores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
from psycopg import sql

Transform = Literal["none", "log1p", "slog1p"]

# The point-in-time feature table; a date's customers are its rows for that feature date.
SOURCE_TABLE = ("marts", "mart_customer_features")
DATE_COLUMN = "feature_date"


@dataclass(frozen=True)
class Feature:
    """One model input: ``transform(clip(coalesce(column, fill), lower, upper))``, standardised
    and then multiplied by ``weight`` (the fit folds the weight into the stored scale)."""

    name: str
    column: str
    transform: Transform = "none"
    fill: float = 0.0
    lower: float | None = None
    upper: float | None = None
    weight: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Feature":
        return cls(**data)


# What tells the bank's groups apart is how much they hold, how often and where they bank
# (branch counter, card terminal), life stage (age) and a relationship manager. Money is
# heavy-tailed, hence signed log; counts are skewed, hence log1p after clipping at 0; shares stay
# 0-1 and age is clipped to adult years. Balance and age weigh double after standard scaling:
# on the demo bank they are what separates the affluent from families and the young from both,
# while loans (bimodal: held or not) and product counts cut across every group and are left to
# the profiles that name the clusters.
FEATURES: tuple[Feature, ...] = (
    Feature("deposit_balance_slog", "deposit_balance", "slog1p", weight=2.0),
    Feature("age_years", "age_years", "none", fill=45.0, lower=18.0, upper=90.0, weight=2.0),
    Feature("txn_count_90d_log", "txn_count_90d", "log1p", lower=0.0),
    Feature("branch_share", "branch_share_90d", "none", lower=0.0, upper=1.0),
    Feature("pos_share", "pos_share_90d", "none", lower=0.0, upper=1.0),
    Feature("rm_contacts_90d_log", "rm_contacts_90d", "log1p", lower=0.0),
)


def features_to_json(features: Sequence[Feature]) -> list[dict[str, Any]]:
    return [f.to_json() for f in features]


def features_from_json(data: Sequence[dict[str, Any]]) -> tuple[Feature, ...]:
    return tuple(Feature.from_json(d) for d in data)


def source_columns(features: Sequence[Feature]) -> list[str]:
    """Distinct mart columns the features read, in first-use order."""
    return list(dict.fromkeys(f.column for f in features))


def _validate(feature: Feature) -> None:
    if feature.transform == "log1p" and (feature.lower is None or feature.lower < 0):
        # ln(1 + v) is undefined for v <= -1; a lower clip at 0 keeps SQL and numpy total.
        raise ValueError(f"feature {feature.name}: log1p needs lower >= 0")


def _float(value: float) -> sql.Composable:
    # Explicit float8: a bare literal would be numeric in Postgres and slow the arithmetic.
    return sql.SQL("{}::float8").format(sql.Literal(float(value)))


def sql_expression(feature: Feature, table_alias: str | None = None) -> sql.Composable:
    """The feature as a float8 SQL expression over the mart row."""
    _validate(feature)
    parts = (table_alias, feature.column) if table_alias else (feature.column,)
    col: sql.Composable = sql.Identifier(*parts)
    expr: sql.Composable = sql.SQL("coalesce({}::float8, {})").format(col, _float(feature.fill))
    if feature.lower is not None:
        expr = sql.SQL("greatest({}, {})").format(expr, _float(feature.lower))
    if feature.upper is not None:
        expr = sql.SQL("least({}, {})").format(expr, _float(feature.upper))
    if feature.transform == "log1p":
        # ln(1 + v) rather than a log1p function: Postgres has none, and numpy mirrors this form.
        expr = sql.SQL("ln(1.0::float8 + {})").format(expr)
    elif feature.transform == "slog1p":
        # The inner expression appears twice; it is a cheap coalesce/clip, and repeating it
        # keeps the whole feature a plain expression that the planner inlines.
        expr = sql.SQL("(sign({0}) * ln(1.0::float8 + abs({0})))").format(expr)
    return expr


def transform_frame(frame: pd.DataFrame, features: Sequence[Feature] = FEATURES) -> np.ndarray:
    """The feature matrix (rows x features, float64) for raw mart rows, mirroring SQL."""
    out = np.empty((len(frame), len(features)), dtype=np.float64)
    for j, feature in enumerate(features):
        _validate(feature)
        v = pd.to_numeric(frame[feature.column], errors="coerce").astype("float64")
        x = v.fillna(feature.fill).to_numpy(dtype=np.float64, copy=True)
        if feature.lower is not None:
            x = np.maximum(x, feature.lower)
        if feature.upper is not None:
            x = np.minimum(x, feature.upper)
        if feature.transform == "log1p":
            x = np.log(1.0 + x)
        elif feature.transform == "slog1p":
            x = np.sign(x) * np.log(1.0 + np.abs(x))
        out[:, j] = x
    return out
