"""How complete a fixed-point search is: seeds for tiny-basin attractors, and what a search can have missed.

Centroid seeds. n equally likely states at mutual distance D have a stable fixed point of f* at their
centroid once sigma > D / sqrt(2n) (implementations/dynamics/isolation.py), with a basin that can be
tiny (for n = 8 one-hot states at sigma = 1.01 D / 4 plain iteration reaches it only from within ~1e-3
of it). Random starts almost never land there, so Newton is also seeded at the posterior-weighted
centroids of clusters of consistent states: single linkage at distance sqrt(2K) sigma (K consistent
states; two states closer than that can share such a centroid attractor), every cluster of at least
two states, at most MAX_CENTROID_SEEDS of them (the most probable first).

What a search can miss. A set of fixed points is *proved* complete for the exact denoiser below
sigma_iso (every stable fixed point is then a certified one); otherwise it is only searched, and an
attractor whose basin has mass p under the start distribution is missed by all N independent starts
with probability (1 - p)^N, which is at least 1 - CONFIDENCE_LEVEL for p <= 1 - (1 - CONFIDENCE_LEVEL)^(1/N).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage

from decdiff.tolerances import CONFIDENCE_LEVEL

#: At most this many centroid seeds per search.
MAX_CENTROID_SEEDS = 32


def centroid_seeds(states: torch.Tensor, posterior: torch.Tensor, sigma: float) -> torch.Tensor:
    """``[M, d]`` posterior-weighted centroids of the single-linkage clusters of the consistent states."""
    consistent = torch.nonzero(posterior > 0).flatten()
    if consistent.numel() < 2:
        return states[:0]
    points, weights = states[consistent].numpy(), posterior[consistent].numpy()
    labels = fcluster(linkage(points, method="single"), t=np.sqrt(2.0 * len(points)) * sigma, criterion="distance")
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    groups = sorted((g for g in groups if g.size >= 2), key=lambda g: -weights[g].sum())[:MAX_CENTROID_SEEDS]
    if not groups:
        return states[:0]
    return torch.from_numpy(np.stack([weights[g] @ points[g] / weights[g].sum() for g in groups]))


def missable_basin_mass(n_starts: int) -> float:
    """1 - (1 - CONFIDENCE_LEVEL)^(1/N): basins lighter than this can be missed by N starts (module docstring)."""
    return 1.0 - (1.0 - CONFIDENCE_LEVEL) ** (1.0 / max(n_starts, 1))


def completeness(proved: bool, n_starts: int) -> dict[str, object]:
    """The completeness statement of one fixed-point set: proved, or searched with the basin mass it may miss."""
    if proved:
        return {"proved_complete": True, "starts": n_starts,
                "statement": "proved complete: exact denoiser below sigma_iso, every stable fixed point is certified"}
    mass = missable_basin_mass(n_starts)
    return {"proved_complete": False, "starts": n_starts, "missable_basin_mass": mass,
            "statement": f"searched from {n_starts} starts: an attractor whose basin has mass below {mass:.3g} "
                         f"under the start distribution could have been missed ({CONFIDENCE_LEVEL:.0%})"}
