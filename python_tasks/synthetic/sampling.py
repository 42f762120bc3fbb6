"""Vectorised sampling helpers shared by the generator modules."""

from __future__ import annotations

import numpy as np


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows need not be normalised; all-zero rows give 0)."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs, axis=1)
    total = cum[:, -1:]
    u = rng.random((probs.shape[0], 1)) * np.where(total > 0, total, 1.0)
    idx = (u >= cum).sum(axis=1)
    return np.minimum(idx, probs.shape[1] - 1)


def pick(
    rng: np.random.Generator,
    options: tuple[str, ...] | list[str],
    size: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """``size`` draws from string options as a numpy string array."""
    arr = np.array(options)
    if weights is None:
        return arr[rng.integers(0, len(arr), size=size)]
    w = np.asarray(weights, dtype=float)
    return arr[rng.choice(len(arr), size=size, p=w / w.sum())]


def exact_count(share: float, n: int, minimum: int = 0) -> int:
    """How many of n get a rare trait: the share rounded, with a floor so small test runs still
    contain the rare cases the pipeline must handle."""
    return min(n, max(minimum, int(round(share * n))))


def seconds_between(
    rng: np.random.Generator, size: int, start_h: float, end_h: float
) -> np.ndarray:
    return rng.integers(int(start_h * 3600), int(end_h * 3600), size=size)


def daytime_seconds(
    rng: np.random.Generator, size: int, peaks: tuple[tuple[float, float, float], ...]
) -> np.ndarray:
    """Seconds after midnight from a mixture of normal peaks (weight, hour, sd hours), clipped to
    the day."""
    w = np.array([p[0] for p in peaks], dtype=float)
    comp = rng.choice(len(peaks), size=size, p=w / w.sum())
    hours = np.array([p[1] for p in peaks])[comp] + np.array([p[2] for p in peaks])[
        comp
    ] * rng.standard_normal(size)
    return np.clip((hours * 3600).astype(np.int64), 0, 86_399)


def numbered(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """prefix + zero-padded numbers, e.g. numbered("RM", [12], 4) -> ["RM0012"].
    (np.strings.zfill cannot handle an empty array, which small runs produce.)"""
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size == 0:
        return np.array([], dtype=f"<U{len(prefix) + width}")
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(str), width))
