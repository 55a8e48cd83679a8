"""Sampled (history, state) pairs and their fixed points, shared by the trained-denoiser checks.

The data set D of Definition 5 is modelled by sampled pairs (tau_k, s_k): every agent's
history in `trajectories` sampled trajectories and the true last state (as in training).
Fixed points y*_k = phi_inf(tau_k)(s_k) (Definition 4) depend on the pair only, so they
are computed once per distinct pair and broadcast back. Results are cached per
(denoiser object, model, sigma, H, trajectories, seed) so several checks on one subject
pay once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import (
    StateFixedPoints,
    fixed_points_from_states,
    float64_copy,
)
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.implementations.training import sample_pairs


@dataclass(frozen=True, eq=False)
class SampledFixedPoints:
    """Pairs (tau_k, s_k), k < K, and the fixed points of their U distinct pairs.

    Attributes:
        histories: ``[K]`` the sampled histories; ``state_index``: ``[K]`` true state indices.
        features: ``[K, F]`` float64 features in the denoiser's encoding; ``states``: ``[K, d]``.
        unique: ``[U]`` row of the first sample of each distinct pair; ``inverse``: ``[K]`` its distinct pair.
        points: `StateFixedPoints` of the U distinct pairs (float64 evaluation).
        denoiser64: the float64 copy of the denoiser the points were computed with.
    """

    histories: HistoryBatch
    state_index: np.ndarray
    features: torch.Tensor
    states: torch.Tensor
    unique: torch.Tensor
    inverse: torch.Tensor
    points: StateFixedPoints
    denoiser64: object


_CACHE: dict[tuple, tuple[weakref.ref, SampledFixedPoints]] = {}


def _features(denoiser, histories: HistoryBatch) -> torch.Tensor:
    features_of = getattr(denoiser, "features_of", None)
    return (features_of(histories) if features_of is not None else histories.features).to(torch.float64)


def sampled_fixed_points(denoiser, model: DecPOMDP, sigma: float, history_length: int, trajectories: int, *,
                         seed: int, policy: Policy | None = None) -> SampledFixedPoints:
    """Sample pairs, find the fixed point of each distinct pair from its clean state (cached)."""
    key = (id(denoiser), model.name, float(sigma), history_length, trajectories, seed, id(policy))
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is denoiser:
        return hit[1]
    traj_pairs = sample_pairs(model, history_length, trajectories, seed=seed, policy=policy)
    histories = traj_pairs.histories
    state_index = _state_indices(model, traj_pairs.states)
    features = _features(denoiser, histories)
    rows = torch.cat([features, traj_pairs.states], dim=1).numpy()
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    unique, inverse = torch.from_numpy(first), torch.from_numpy(inverse.reshape(-1))
    denoiser64 = float64_copy(denoiser)
    points = fixed_points_from_states(denoiser64, features[unique], traj_pairs.states[unique], sigma)
    result = SampledFixedPoints(histories, state_index, features, traj_pairs.states, unique, inverse, points,
                                denoiser64)
    try:
        _CACHE.clear()
        _CACHE[key] = (weakref.ref(denoiser), result)
    except TypeError:                      # a denoiser that cannot be weakly referenced: no caching
        pass
    return result


def _state_indices(model: DecPOMDP, states: torch.Tensor) -> np.ndarray:
    """Index of each embedded state in the model's state table."""
    table = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    return torch.cdist(states, table).argmin(dim=1).numpy()
