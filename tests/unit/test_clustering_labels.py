"""Stable ids: a refit that finds the same clusters in another order keeps their ids."""
from __future__ import annotations

import numpy as np
import pytest

from python_tasks.clustering.features import FEATURES
from python_tasks.clustering.labels import match_cluster_ids, stable_cluster_ids
from python_tasks.clustering.model import ClusterModel

RNG = np.random.default_rng(0)
CENTERS = RNG.normal(scale=3.0, size=(5, len(FEATURES)))
IDS = [3, 0, 7, 1, 4]  # ids need not be 0..k-1 after a few refits


def test_permuted_centroids_map_back_to_same_ids() -> None:
    perm = np.array([2, 4, 0, 1, 3])
    got = match_cluster_ids(CENTERS, IDS, CENTERS[perm])
    assert got == [IDS[i] for i in perm]


def test_permuted_noisy_centroids_map_back() -> None:
    perm = np.array([4, 3, 2, 1, 0])
    noisy = CENTERS[perm] + RNG.normal(scale=0.05, size=CENTERS.shape)
    assert match_cluster_ids(CENTERS, IDS, noisy) == [IDS[i] for i in perm]


def test_extra_cluster_gets_fresh_id() -> None:
    extra = np.vstack([CENTERS[[1, 0]], CENTERS[0] + 50.0, CENTERS[[2, 3, 4]]])
    got = match_cluster_ids(CENTERS, IDS, extra)
    assert got == [0, 3, 8, 7, 1, 4]  # 8 = max(previous) + 1
    got = match_cluster_ids(CENTERS, IDS, extra, next_free_id=20)
    assert got[2] == 20
    # A next_free_id below the previous ids cannot cause a collision.
    assert match_cluster_ids(CENTERS, IDS, extra, next_free_id=2)[2] == 8


def test_fewer_clusters_keep_their_ids() -> None:
    got = match_cluster_ids(CENTERS, IDS, CENTERS[[4, 1]])
    assert got == [4, 0]


def test_no_previous_model_numbers_from_zero() -> None:
    ids = stable_cluster_ids(CENTERS, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), None)
    assert ids == [0, 1, 2, 3, 4]


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        match_cluster_ids(CENTERS, [0, 0, 1, 2, 3], CENTERS)
    with pytest.raises(ValueError):
        match_cluster_ids(CENTERS, IDS[:3], CENTERS)


def test_matching_happens_in_one_space_across_scalers() -> None:
    """A refit rescales the data; the old centroids must be re-standardised before matching."""
    n = len(FEATURES)
    raw = RNG.normal(loc=10.0, scale=4.0, size=(4, n))  # centroids in transformed units
    old_mean, old_scale = np.full(n, 9.0), np.full(n, 2.0)
    previous = ClusterModel(
        model_id="kmeans-old",
        as_of_date=__import__("datetime").date(2024, 1, 1),
        features=FEATURES,
        scaler_mean=old_mean,
        scaler_scale=old_scale,
        centroids=(raw - old_mean) / old_scale,
        cluster_ids=(10, 11, 12, 13),
    )
    new_mean, new_scale = np.full(n, 11.0), np.full(n, 5.0)
    perm = [3, 1, 0, 2]
    new_centers = (raw[perm] - new_mean) / new_scale
    got = stable_cluster_ids(new_centers, new_mean, new_scale, previous)
    assert got == [13, 11, 10, 12]
