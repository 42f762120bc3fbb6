"""Drift: today's feature and score distributions against the ones the model was trained on.

Population stability index over ten quantile bins of the training reference:
PSI = sum((today - train) * ln(today / train)). Below 0.1 stable, 0.1-0.25 moving, above 0.25 a
warning (the usual credit-scoring reading). Calibration: today's mean predicted probability against
the validation period's leaver rate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PSI_WARNING = 0.25
_EPS = 1e-4


def _edges(x: np.ndarray) -> list[float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return []
    return sorted(set(np.quantile(x, np.linspace(0.1, 0.9, 9)).tolist()))


def shares(x: np.ndarray, edges: list[float]) -> list[float]:
    x = np.asarray(x, dtype=float)
    x = np.where(np.isnan(x), -np.inf, x)  # missing values count in the first bin
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
    return (counts / max(1, counts.sum())).tolist()


def reference_bins(frame: pd.DataFrame, features: list[str], scores: np.ndarray) -> dict:
    ref: dict = {"features": {}, "score": {}}
    for f in features:
        x = frame[f].to_numpy(dtype=float)
        e = _edges(x)
        ref["features"][f] = {"edges": e, "shares": shares(x, e)}
    e = _edges(np.asarray(scores, dtype=float))
    ref["score"] = {"edges": e, "shares": shares(scores, e), "mean": float(np.mean(scores)) if len(scores) else None}
    return ref


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.clip(np.asarray(expected, dtype=float), _EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


class BinCounter:
    """Counts of today's values in the reference bins, accumulated chunk by chunk."""

    def __init__(self, reference: dict):
        self.reference = reference
        self.counts = {f: np.zeros(len(r["edges"]) + 1) for f, r in reference.get("features", {}).items()}
        self.score_counts = np.zeros(len(reference.get("score", {}).get("edges", [])) + 1)
        self.score_sum = 0.0
        self.rows = 0

    def add(self, frame: pd.DataFrame, scores: np.ndarray) -> None:
        for f, r in self.reference.get("features", {}).items():
            if f in frame:
                x = np.where(np.isnan(frame[f].to_numpy(dtype=float)), -np.inf, frame[f].to_numpy(dtype=float))
                self.counts[f] += np.bincount(np.searchsorted(r["edges"], x, side="right"),
                                              minlength=len(r["edges"]) + 1)
        edges = self.reference.get("score", {}).get("edges", [])
        self.score_counts += np.bincount(np.searchsorted(edges, np.asarray(scores, dtype=float), side="right"),
                                         minlength=len(edges) + 1)
        self.score_sum += float(np.sum(scores))
        self.rows += len(scores)

    def result(self) -> dict:
        out = {}
        for f, c in self.counts.items():
            if c.sum():
                out[f] = psi(self.reference["features"][f]["shares"], (c / c.sum()).tolist())
        score_psi = None
        if self.score_counts.sum() and self.reference.get("score", {}).get("shares"):
            score_psi = psi(self.reference["score"]["shares"], (self.score_counts / self.score_counts.sum()).tolist())
        return {
            "feature_psi": out,
            "score_psi": score_psi,
            "mean_score": self.score_sum / self.rows if self.rows else None,
            "training_mean_score": self.reference.get("score", {}).get("mean"),
        }
