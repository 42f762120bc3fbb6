"""Fit StandardScaler + KMeans on a reproducible sample, choosing k by silhouette if not pinned."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

import numpy as np
import pandas as pd
import psycopg
import sklearn
from psycopg import sql
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from python_tasks.clustering.features import (
    DATE_COLUMN,
    FEATURES,
    SOURCE_TABLE,
    Feature,
    source_columns,
    transform_frame,
)
from python_tasks.clustering.model import ClusterModel, make_model_id

log = logging.getLogger(__name__)

# Silhouette is O(n^2) in memory and time; 5000 points keep it to a few seconds.
SILHOUETTE_POINTS = 5000


@dataclass
class FitResult:
    scaler: StandardScaler
    kmeans: KMeans
    k: int
    silhouette: float | None
    selection: dict[str, dict[str, float | None]] = field(default_factory=dict)
    sample_size: int = 0


def load_sample(
    conn: psycopg.Connection,
    as_of_date: date,
    *,
    sample_size: int,
    seed: int,
    features: Sequence[Feature] = FEATURES,
) -> pd.DataFrame:
    """Raw mart rows of a reproducible random sample, drawn inside Postgres.

    Ordering by md5(customer_id || seed) gives the same sample for the same customers and seed
    whatever the physical row order, and only ``sample_size`` rows ever leave the database.
    """
    columns = source_columns(features)
    query = sql.SQL(
        "select customer_id, {cols} from {table} where {date_column} = %(d)s "
        "order by md5(customer_id || %(seed)s::text), customer_id limit %(n)s"
    ).format(
        cols=sql.SQL(", ").join(
            sql.SQL("{0}::float8 as {0}").format(sql.Identifier(c)) for c in columns
        ),
        table=sql.Identifier(*SOURCE_TABLE),
        date_column=sql.Identifier(DATE_COLUMN),
    )
    with conn.cursor() as cur:
        cur.execute(query, {"d": as_of_date, "seed": str(seed), "n": sample_size})
        rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=["customer_id", *columns])
    log.info("loaded a sample of %d customers for %s (seed %d)", len(frame), as_of_date, seed)
    return frame


def _silhouette(z: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    if not 2 <= len(np.unique(labels)) < len(z):
        return None  # degenerate fit (e.g. many identical rows); not a usable candidate
    points = SILHOUETTE_POINTS if len(z) > SILHOUETTE_POINTS else None
    value = float(silhouette_score(z, labels, sample_size=points, random_state=seed))
    return value if math.isfinite(value) else None


def fit_kmeans(
    x: np.ndarray,
    *,
    k: int | None = None,
    k_range: Sequence[int] = range(3, 9),
    seed: int = 42,
    weights: Sequence[float] | None = None,
) -> FitResult:
    """Scale, then fit KMeans for the pinned ``k`` or for each candidate and keep the best.
    ``weights`` multiply the standardised columns; they are folded into the scaler's scale, so
    the stored model (and SQL scoring) applies them without knowing about them."""
    n = len(x)
    if k is not None:
        if not 1 <= k <= n:
            raise ValueError(f"cannot fit k={k} on {n} rows")
        candidates = [k]
    else:
        # Silhouette is defined for 2 <= k <= n - 1 only.
        candidates = [c for c in k_range if 2 <= c < n]
        if not candidates:
            raise ValueError(f"no k in {list(k_range)} can be fitted on {n} rows")
    scaler = StandardScaler().fit(x)
    if weights is not None:
        scaler.scale_ = scaler.scale_ / np.asarray(weights, dtype=np.float64)
    z = scaler.transform(x)

    selection: dict[str, dict[str, float | None]] = {}
    best: tuple[float, int, KMeans] | None = None
    for c in candidates:
        km = KMeans(n_clusters=c, n_init=10, random_state=seed).fit(z)
        sil = _silhouette(z, km.labels_, seed)
        selection[str(c)] = {"silhouette": sil, "inertia": float(km.inertia_)}
        log.info("k=%d silhouette=%s inertia=%.1f", c, sil, km.inertia_)
        score = sil if sil is not None else -math.inf
        # Strictly greater: on a tie the smaller k wins (simpler segmentation).
        if best is None or score > best[0]:
            best = (score, c, km)
    assert best is not None
    score, chosen, km = best
    return FitResult(
        scaler=scaler,
        kmeans=km,
        k=chosen,
        silhouette=None if score == -math.inf else score,
        selection=selection,
        sample_size=n,
    )


def build_model(
    fit: FitResult,
    as_of_date: date,
    cluster_ids: Sequence[int] | None = None,
    features: Sequence[Feature] = FEATURES,
) -> ClusterModel:
    """Freeze a fit into a :class:`ClusterModel`; ``cluster_ids`` default to KMeans' order."""
    ids = tuple(int(i) for i in (cluster_ids if cluster_ids is not None else range(fit.k)))
    if len(ids) != fit.k or len(set(ids)) != fit.k:
        raise ValueError(f"need {fit.k} distinct cluster ids, got {ids}")
    feats = tuple(features)
    mean = np.asarray(fit.scaler.mean_, dtype=np.float64)
    scale = np.asarray(fit.scaler.scale_, dtype=np.float64)
    centroids = np.asarray(fit.kmeans.cluster_centers_, dtype=np.float64)
    return ClusterModel(
        model_id=make_model_id(as_of_date, feats, mean, scale, centroids, ids),
        as_of_date=as_of_date,
        features=feats,
        scaler_mean=mean,
        scaler_scale=scale,
        centroids=centroids,
        cluster_ids=ids,
        selection=fit.selection,
        silhouette=fit.silhouette,
        sample_size=fit.sample_size,
        sklearn_version=sklearn.__version__,
    )


def fit_sample(
    frame: pd.DataFrame,
    *,
    k: int | None,
    k_range: Sequence[int],
    seed: int,
    features: Sequence[Feature] = FEATURES,
) -> FitResult:
    return fit_kmeans(transform_frame(frame, features), k=k, k_range=k_range, seed=seed,
                      weights=[f.weight for f in features])


def should_refit(
    latest: ClusterModel | None,
    as_of_date: date,
    *,
    k: int | None,
    refit_after_days: int,
    features: Sequence[Feature] = FEATURES,
) -> tuple[bool, str]:
    """Whether to fit a new model, and why (for the log)."""
    if latest is None:
        return True, "no model yet"
    if tuple(latest.features) != tuple(features):
        return True, f"feature spec differs from model {latest.model_id}"
    if k is not None and k != latest.k:
        return True, f"k pinned to {k}, model {latest.model_id} has k={latest.k}"
    age = (as_of_date - latest.as_of_date).days
    if age > refit_after_days:
        return True, f"model {latest.model_id} is {age} days old (> {refit_after_days})"
    return False, f"model {latest.model_id} is {age} days old (<= {refit_after_days})"
