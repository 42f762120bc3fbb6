"""Shape of the scoring statement (its results are checked against sklearn in integration)."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from python_tasks.clustering.features import FEATURES
from python_tasks.clustering.model import ClusterModel
from python_tasks.clustering.score import build_score_query


def _model(k: int = 3) -> ClusterModel:
    n = len(FEATURES)
    rng = np.random.default_rng(3)
    return ClusterModel("kmeans-x", date(2024, 1, 1), FEATURES, rng.normal(size=n),
                        rng.uniform(0.5, 2, size=n), rng.normal(size=(k, n)), (4, 0, 9)[:k])


def test_statement_has_one_values_row_per_centroid_and_exact_literals() -> None:
    model = _model()
    text = build_score_query(model).as_string(None)
    assert text.lstrip().startswith("insert into ml.customer_clusters")
    assert 'distinct on (z.customer_id collate "C")' in text
    assert "%(as_of_date)s" in text and "%(model_id)s" in text
    for cid in model.cluster_ids:
        assert f"({cid}, " in text
    # repr() of a float round-trips exactly, so SQL uses the very same numbers as the model.
    assert repr(float(model.centroids[1, 2])) in text
    assert repr(float(model.scaler_scale[0])) in text


def test_shape_mismatch_is_rejected() -> None:
    model = _model()
    bad = ClusterModel("x", model.as_of_date, FEATURES, model.scaler_mean, model.scaler_scale,
                       model.centroids[:, :3], model.cluster_ids)
    with pytest.raises(ValueError):
        build_score_query(bad)
