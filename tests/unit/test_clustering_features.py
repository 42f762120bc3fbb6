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
        "aum_cny": 0.0,
        "loan_exposure_cny": 0.0,
        "profit_contribution_cny": 0.0,
        "frequency_90d": 0,
        "digital_share": 0.0,
        "product_count": 0,
        "tenure_months": 0,
        "recency_days": 0,
    }
    row.update(overrides)
    return row


def _features(frame: pd.DataFrame) -> dict[str, float]:
    x = transform_frame(frame)
    return {f.name: float(x[0, j]) for j, f in enumerate(FEATURES)}


def test_money_uses_signed_log() -> None:
    got = _features(pd.DataFrame([_row(aum_cny=1e6, profit_contribution_cny=-999.0)]))
    assert got["aum_slog"] == pytest.approx(math.log(1e6 + 1))
    assert got["profit_slog"] == pytest.approx(-math.log(1000.0))
    assert got["loan_exposure_slog"] == 0.0


def test_clips_fills_and_caps() -> None:
    got = _features(
        pd.DataFrame(
            [_row(digital_share=1.7, product_count=40, recency_days=None, frequency_90d=-3,
                  tenure_months=None)]
        )
    )
    assert got["digital_share"] == 1.0
    assert got["product_count"] == 10.0
    assert got["recency_days_capped"] == 365.0  # never transacted counts as fully dormant
    assert got["frequency_90d_log"] == 0.0
    assert got["tenure_months_log"] == 0.0
    big = _features(pd.DataFrame([_row(recency_days=99_999)]))
    assert big["recency_days_capped"] == 365.0


def test_transform_accepts_decimal_and_object_columns() -> None:
    from decimal import Decimal

    frame = pd.DataFrame([_row(aum_cny=Decimal("12345.67"))])
    assert _features(frame)["aum_slog"] == pytest.approx(math.log(12346.67))


def test_matrix_shape_and_dtype() -> None:
    frame = pd.DataFrame([_row(), _row(aum_cny=5.0)])
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
