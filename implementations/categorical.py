"""Categorical draws, one per row of a batch of probability vectors, by the inverse CDF.

For a row p_0, ..., p_{K-1} with cumulative sums c_k = p_0 + ... + p_k and u uniform on
[0, c_{K-1}), the draw is #{k : c_k <= u}, the least k with u < c_k: index k with
probability p_k / c_{K-1}. It is capped at K - 1 against round-off. Observation models,
stationary policies and trajectory sampling draw through it.
"""

from __future__ import annotations

import numpy as np


def sample_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probabilities`` ``[B, K]`` (inverse CDF)."""
    cdf = np.cumsum(probabilities, axis=-1)
    u = rng.random(probabilities.shape[0]) * cdf[:, -1]
    return np.minimum((cdf <= u[:, None]).sum(axis=-1), probabilities.shape[-1] - 1)
