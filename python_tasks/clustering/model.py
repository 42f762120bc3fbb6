"""The fitted clustering model as plain data: what is stored, and all that scoring needs."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from python_tasks.clustering.features import Feature, features_from_json, features_to_json

ALGORITHM = "standard_scaler+kmeans"


@dataclass(frozen=True)
class ClusterModel:
    """Scaler and centroids in standardised space; ``cluster_ids[i]`` names ``centroids[i]``."""

    model_id: str
    as_of_date: date
    features: tuple[Feature, ...]
    scaler_mean: np.ndarray
    scaler_scale: np.ndarray
    centroids: np.ndarray
    cluster_ids: tuple[int, ...]
    selection: dict[str, dict[str, float]] = field(default_factory=dict)
    silhouette: float | None = None
    sample_size: int = 0
    sklearn_version: str = ""
    fitted_at: datetime | None = None
    algorithm: str = ALGORITHM

    @property
    def k(self) -> int:
        return len(self.cluster_ids)

    def centroids_unscaled(self) -> np.ndarray:
        """Centroids in transformed-feature space (before standardisation)."""
        return self.centroids * self.scaler_scale + self.scaler_mean

    def scaler_json(self) -> dict[str, Any]:
        return {"mean": self.scaler_mean.tolist(), "scale": self.scaler_scale.tolist()}

    def centroids_json(self) -> list[dict[str, Any]]:
        unscaled = self.centroids_unscaled()
        return [
            {
                "cluster_id": int(cid),
                "center": self.centroids[i].tolist(),
                # Readable companion: same point before scaling, keyed by feature name.
                "center_features": {
                    f.name: float(unscaled[i, j]) for j, f in enumerate(self.features)
                },
            }
            for i, cid in enumerate(self.cluster_ids)
        ]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ClusterModel:
        centroids = sorted(row["centroids"], key=lambda c: c["cluster_id"])
        return cls(
            model_id=row["model_id"],
            as_of_date=row["as_of_date"],
            features=features_from_json(row["features"]),
            scaler_mean=np.asarray(row["scaler"]["mean"], dtype=np.float64),
            scaler_scale=np.asarray(row["scaler"]["scale"], dtype=np.float64),
            centroids=np.asarray([c["center"] for c in centroids], dtype=np.float64),
            cluster_ids=tuple(int(c["cluster_id"]) for c in centroids),
            selection=row.get("selection") or {},
            silhouette=row.get("silhouette"),
            sample_size=int(row.get("sample_size") or 0),
            sklearn_version=row.get("sklearn_version") or "",
            fitted_at=row.get("fitted_at"),
            algorithm=row.get("algorithm") or ALGORITHM,
        )


def make_model_id(
    as_of_date: date,
    features: tuple[Feature, ...],
    scaler_mean: np.ndarray,
    scaler_scale: np.ndarray,
    centroids: np.ndarray,
    cluster_ids: tuple[int, ...],
) -> str:
    """``kmeans-<date>-<hash>``: the hash is over the content, so the same fit gets the same id."""
    payload = json.dumps(
        {
            "features": features_to_json(features),
            "mean": np.round(scaler_mean, 12).tolist(),
            "scale": np.round(scaler_scale, 12).tolist(),
            "centroids": np.round(centroids, 12).tolist(),
            "ids": list(cluster_ids),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()[:10]
    return f"kmeans-{as_of_date.isoformat()}-{digest}"
