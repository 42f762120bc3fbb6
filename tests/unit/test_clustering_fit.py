"""Fitting, k selection, refit policy and the model record (no database)."""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from python_tasks.clustering.features import FEATURES, Feature
from python_tasks.clustering.fit import build_model, fit_kmeans, should_refit
from python_tasks.clustering.model import ClusterModel

D = date(2024, 6, 30)


def _blobs(n_per: int = 150, k: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10.0, size=(k, len(FEATURES)))
    return np.vstack([c + rng.normal(size=(n_per, len(FEATURES))) for c in centers])


@pytest.fixture(scope="module")
def auto_fit():
    return fit_kmeans(_blobs(), k=None, k_range=range(3, 7), seed=42)


def test_silhouette_picks_the_true_k_and_records_every_candidate(auto_fit) -> None:
    assert auto_fit.k == 4
    assert set(auto_fit.selection) == {"3", "4", "5", "6"}
    for entry in auto_fit.selection.values():
        assert set(entry) == {"silhouette", "inertia"} and entry["inertia"] > 0
    best = max(auto_fit.selection.values(), key=lambda e: e["silhouette"])
    assert auto_fit.silhouette == best["silhouette"]


def test_fit_is_reproducible() -> None:
    a = fit_kmeans(_blobs(), k=None, k_range=range(3, 6), seed=1)
    b = fit_kmeans(_blobs(), k=None, k_range=range(3, 6), seed=1)
    np.testing.assert_array_equal(a.kmeans.cluster_centers_, b.kmeans.cluster_centers_)
    assert a.selection == b.selection


def test_pinned_k_fits_only_that_k() -> None:
    fit = fit_kmeans(_blobs(), k=5, seed=42)
    assert fit.k == 5 and list(fit.selection) == ["5"]


def test_too_few_rows() -> None:
    with pytest.raises(ValueError):
        fit_kmeans(np.zeros((3, len(FEATURES))), k=None, k_range=range(3, 9))
    with pytest.raises(ValueError):
        fit_kmeans(np.zeros((3, len(FEATURES))), k=4)


def test_model_record_round_trips_through_json(auto_fit) -> None:
    model = build_model(auto_fit, D, cluster_ids=[5, 2, 9, 0])
    assert model.model_id.startswith("kmeans-2024-06-30-")
    assert build_model(auto_fit, D, cluster_ids=[5, 2, 9, 0]).model_id == model.model_id
    assert build_model(auto_fit, D).model_id != model.model_id
    row = json.loads(
        json.dumps(
            {
                "model_id": model.model_id,
                "as_of_date": None,
                "features": [f.to_json() for f in model.features],
                "scaler": model.scaler_json(),
                "centroids": model.centroids_json(),
                "selection": model.selection,
                "silhouette": model.silhouette,
                "sample_size": model.sample_size,
            }
        )
    )
    back = ClusterModel.from_row(row)
    # from_row sorts by cluster id; the mapping id -> centroid must survive.
    for cid, center in zip(model.cluster_ids, model.centroids):
        np.testing.assert_array_equal(back.centroids[back.cluster_ids.index(cid)], center)
    np.testing.assert_array_equal(back.scaler_scale, model.scaler_scale)
    assert back.features == FEATURES
    np.testing.assert_allclose(
        back.centroids_unscaled(), back.centroids * back.scaler_scale + back.scaler_mean
    )


def test_build_model_rejects_bad_ids(auto_fit) -> None:
    with pytest.raises(ValueError):
        build_model(auto_fit, D, cluster_ids=[0, 0, 1, 2])


def _model(as_of: date, k: int = 4, features=FEATURES) -> ClusterModel:
    n = len(features)
    return ClusterModel("m", as_of, tuple(features), np.zeros(n), np.ones(n),
                        np.zeros((k, n)), tuple(range(k)))


@pytest.mark.parametrize(
    ("latest", "k", "expected"),
    [
        (None, None, True),
        (_model(date(2024, 6, 23)), None, False),  # 7 days old: not older than 7
        (_model(date(2024, 6, 22)), None, True),   # 8 days old
        (_model(date(2024, 6, 30)), 4, False),
        (_model(date(2024, 6, 30)), 5, True),      # pinned k differs
        (_model(date(2024, 6, 30), features=FEATURES[:-1] + (Feature("r", "recency_days"),)),
         None, True),
    ],
)
def test_refit_policy(latest, k, expected) -> None:
    refit, reason = should_refit(latest, D, k=k, refit_after_days=7)
    assert refit is expected and reason


def test_feature_weights_are_folded_into_the_stored_scale() -> None:
    """A weight of 2 doubles the column's standardised values, in the fit and in the model."""
    from python_tasks.clustering.fit import fit_kmeans

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)) * [3.0, 5.0]
    plain = fit_kmeans(x, k=3, seed=1)
    weighted = fit_kmeans(x, k=3, seed=1, weights=[2.0, 1.0])
    np.testing.assert_allclose(weighted.scaler.scale_, plain.scaler.scale_ / [2.0, 1.0])
    z = weighted.scaler.transform(x)
    assert z[:, 0].std() == pytest.approx(2.0) and z[:, 1].std() == pytest.approx(1.0)
