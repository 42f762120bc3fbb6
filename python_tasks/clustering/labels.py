"""Stable cluster ids across refits: a refit must not rename "cluster 2" to "cluster 0".

KMeans numbers its clusters arbitrarily, so each new model's centroids are matched to the
previous model's centroids (Hungarian algorithm on Euclidean distance in one standardised
space) and inherit their ids. Clusters with no partner (k grew) get ids never used before.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from python_tasks.clustering.model import ClusterModel

log = logging.getLogger(__name__)


def match_cluster_ids(
    previous_centers: np.ndarray,
    previous_ids: Sequence[int],
    new_centers: np.ndarray,
    *,
    next_free_id: int | None = None,
) -> list[int]:
    """Ids for ``new_centers`` (row order kept), inherited from the closest previous centers.

    Both center arrays must live in the same space. ``next_free_id`` is where fresh ids start;
    it is raised above the previous ids if needed so a fresh id never collides.
    """
    previous_centers = np.atleast_2d(np.asarray(previous_centers, dtype=np.float64))
    new_centers = np.atleast_2d(np.asarray(new_centers, dtype=np.float64))
    if len(previous_ids) != len(previous_centers):
        raise ValueError("previous_ids and previous_centers differ in length")
    if len(set(previous_ids)) != len(previous_ids):
        raise ValueError(f"previous ids are not distinct: {list(previous_ids)}")
    fresh = max([-1, *previous_ids]) + 1
    if next_free_id is not None:
        fresh = max(fresh, next_free_id)

    ids: list[int | None] = [None] * len(new_centers)
    if len(previous_centers) and len(new_centers):
        if previous_centers.shape[1] != new_centers.shape[1]:
            raise ValueError("previous and new centers have different dimensions")
        # Rectangular problems are fine: min(k_old, k_new) pairs are matched.
        rows, cols = linear_sum_assignment(cdist(new_centers, previous_centers))
        for r, c in zip(rows, cols):
            ids[r] = int(previous_ids[c])
    out: list[int] = []
    for cid in ids:
        if cid is None:
            cid, fresh = fresh, fresh + 1
        out.append(cid)
    return out


def previous_centers_in(previous: ClusterModel, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The previous model's centroids re-standardised with a new scaler (one common space)."""
    return (previous.centroids_unscaled() - mean) / scale


def stable_cluster_ids(
    new_centers: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    previous: ClusterModel | None,
    *,
    features_match: bool = True,
    next_free_id: int | None = None,
) -> list[int]:
    """Ids for a freshly fitted model (centers standardised with ``mean``/``scale``)."""
    k = len(new_centers)
    if previous is None:
        return list(range(k))
    if not features_match:
        # Different feature spaces cannot be compared; ids restart (logged, this is rare).
        log.warning("feature spec changed since %s; cluster ids restart at 0", previous.model_id)
        return list(range(k))
    ids = match_cluster_ids(
        previous_centers_in(previous, mean, scale),
        previous.cluster_ids,
        new_centers,
        next_free_id=next_free_id,
    )
    log.info("matched new clusters to %s: ids %s", previous.model_id, ids)
    return ids
