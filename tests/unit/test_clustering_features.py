"""Feature transforms: numpy side, SQL rendering, and the stored spec round trip."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from python_tasks.clustering.features import (
    FEATURES,
    Feature,
    features_from_json,
    features_to_json,
    source_columns,
    sql_expression,
    transform_frame,
)


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "deposit_balance": 0.0,
        "loan_balance": 0.0,
        "txn_count_90d": 0,
        "digital_share_90d": 0.0,
        "branch_share_90d": 0.0,
        "pos_share_90d": 0.0,
        "age_years": 40,
        "product_count": 0,
        "rm_contacts_90d": 0,
    }
    row.update(overrides)
    return row


def _features(frame: pd.DataFrame) -> dict[str, float]:
    x = transform_frame(frame)
    return {f.name: float(x[0, j]) for j, f in enumerate(FEATURES)}


def test_money_uses_signed_log() -> None:
    got = _features(pd.DataFrame([_row(deposit_balance=1e6)]))
    assert got["deposit_balance_slog"] == pytest.approx(math.log(1e6 + 1))
    overdrawn = _features(pd.DataFrame([_row(deposit_balance=-999.0)]))
    assert overdrawn["deposit_balance_slog"] == pytest.approx(-math.log(1000.0))


def test_clips_fills_and_caps() -> None:
    got = _features(
        pd.DataFrame(
            [_row(pos_share_90d=1.7, age_years=None, txn_count_90d=-3, branch_share_90d=-0.2)]
        )
    )
    assert got["pos_share"] == 1.0
    assert got["branch_share"] == 0.0
    assert got["age_years"] == 45.0  # unknown (erased) age: a middle value, not an outlier
    assert got["txn_count_90d_log"] == 0.0
    assert _features(pd.DataFrame([_row(age_years=130)]))["age_years"] == 90.0


def test_transform_accepts_decimal_and_object_columns() -> None:
    from decimal import Decimal

    frame = pd.DataFrame([_row(deposit_balance=Decimal("12345.67"))])
    assert _features(frame)["deposit_balance_slog"] == pytest.approx(math.log(12346.67))


def test_matrix_shape_and_dtype() -> None:
    frame = pd.DataFrame([_row(), _row(deposit_balance=5.0)])
    x = transform_frame(frame)
    assert x.shape == (2, len(FEATURES)) and x.dtype == np.float64


def test_sql_expression_renders_every_feature() -> None:
    for f in FEATURES:
        text = sql_expression(f, "m").as_string(None)
        assert f'"m"."{f.column}"' in text
        assert "::float8" in text
    slog = sql_expression(FEATURES[0], "m").as_string(None)
    assert "sign(" in slog and "ln(" in slog and "abs(" in slog


def test_log1p_without_lower_bound_is_rejected() -> None:
    bad = Feature("x", "frequency_90d", "log1p")
    with pytest.raises(ValueError):
        sql_expression(bad)
    with pytest.raises(ValueError):
        transform_frame(pd.DataFrame({"frequency_90d": [1]}), [bad])


def test_spec_round_trips_through_json() -> None:
    assert features_from_json(features_to_json(FEATURES)) == FEATURES
    assert len(source_columns(FEATURES)) == len(FEATURES)
