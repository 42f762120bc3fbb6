"""Validation figures, computed the same way for a model and for its baseline."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score


def ranking(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC and lift of the top decile for a score where higher means more likely."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    base = float(y.mean())
    if base in (0.0, 1.0):
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "top_decile_lift": float("nan"), "base_rate": base}
    k = max(1, len(y) // 10)
    # Ties (a flag has only two values) are broken by position after a fixed shuffle, not by row order.
    order = np.lexsort((np.random.default_rng(0).random(len(y)), -score))
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "top_decile_lift": float(y[order[:k]].mean() / base),
        "base_rate": base,
    }


def list_leaver_rate(y: np.ndarray, priority: np.ndarray, size: int) -> float:
    """Leaver rate among the ``size`` customers with the highest priority (ties shuffled)."""
    y = np.asarray(y, dtype=float)
    size = max(1, min(size, len(y)))
    order = np.lexsort((np.random.default_rng(0).random(len(y)), -np.asarray(priority, dtype=float)))
    return float(y[order[:size]].mean())


def value_figures(actual_next: np.ndarray, predicted_next: np.ndarray, current: np.ndarray) -> dict[str, float]:
    """Spearman of predicted against actual next-period value, and precision of the top decile of
    predicted growers (share of them in the actual top decile of growth)."""
    actual_next = np.asarray(actual_next, dtype=float)
    predicted_next = np.asarray(predicted_next, dtype=float)
    current = np.asarray(current, dtype=float)
    k = max(1, len(actual_next) // 10)
    tie = np.random.default_rng(0).random(len(actual_next))
    actual_top = set(np.lexsort((tie, -(actual_next - current)))[:k])
    predicted_top = np.lexsort((tie, -(predicted_next - current)))[:k]
    return {
        "spearman": float(spearmanr(predicted_next, actual_next).statistic),
        "top_decile_growth_precision": float(np.mean([i in actual_top for i in predicted_top])),
    }


def precision_at(opened: np.ndarray, scores: np.ndarray, held: np.ndarray, k: int) -> float:
    """Among customers who opened at least one product, the share whose top-k recommendations
    (products not held) include one they opened. ``opened``/``scores``/``held``: customers x products."""
    opened = np.asarray(opened, dtype=float)
    any_open = np.nansum(opened, axis=1) > 0
    if not any_open.any():
        return float("nan")
    s = np.where(held, -np.inf, np.asarray(scores, dtype=float))[any_open]
    o = np.nan_to_num(opened[any_open]) > 0
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return float(np.take_along_axis(o, top, axis=1).any(axis=1).mean())
