"""The drift check: the same distribution reads stable, a shifted one warns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from python_tasks.predictions.drift import PSI_WARNING, BinCounter, reference_bins


def test_psi_is_small_for_the_training_distribution_and_large_for_a_shifted_one():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=20_000), "y": rng.exponential(size=20_000)})
    ref = reference_bins(train, ["x", "y"], rng.random(20_000))

    same = BinCounter(ref)
    for part in np.array_split(np.arange(20_000), 4):  # chunk by chunk, as scoring adds them
        same.add(pd.DataFrame({"x": rng.normal(size=len(part)), "y": rng.exponential(size=len(part))}),
                 rng.random(len(part)))
    stable = same.result()
    assert max(stable["feature_psi"].values()) < 0.02 and stable["score_psi"] < 0.02

    moved = BinCounter(ref)
    moved.add(pd.DataFrame({"x": rng.normal(loc=1.0, size=5000), "y": rng.exponential(size=5000)}),
              rng.random(5000) ** 3)
    shifted = moved.result()
    assert shifted["feature_psi"]["x"] > PSI_WARNING > shifted["feature_psi"]["y"]
    assert shifted["score_psi"] > PSI_WARNING
