"""Posterior supports of joint histories: S_G(tau_i) per agent, their intersection, the joint support.

Definition 1: S_G(tau_i) = {s : p(s | tau_i) > 0}. Theorems 3 and 4 compare the
intersection of the agents' supports with the support of the joint posterior
p(s | tau_1..n) (docs/claims.md#support-conditions). Filters keep exact zeros exact (a zero factor stays
zero through normalisation), so ``> 0`` is the exact membership test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy


@dataclass(frozen=True, eq=False)
class SupportComparison:
    """Supports for B joint histories.

    Attributes:
        individual: ``[B, n, S]`` p(s | tau_i) > 0.
        intersection: ``[B, S]`` the AND over agents.
        joint: ``[B, S]`` p(s | joint history) > 0.
    """

    individual: np.ndarray
    intersection: np.ndarray
    joint: np.ndarray

    @property
    def equal(self) -> np.ndarray:
        """``[B]``: the intersection equals the joint support (Theorem 4's support claim)."""
        return np.all(self.intersection == self.joint, axis=1)

    @property
    def intersection_is_singleton(self) -> np.ndarray:
        """``[B]``: the agents' supports meet in exactly one state (Theorem 3's claim)."""
        return self.intersection.sum(axis=1) == 1


def compare_supports(model: DecPOMDP, actions: np.ndarray, observations: np.ndarray,
                     policy: Policy | None = None) -> SupportComparison:
    """Supports for joint histories ``actions [B, t, n]``, ``observations [B, t(+1), n]``."""
    actions = np.asarray(actions, dtype=np.int64)
    observations = np.asarray(observations, dtype=np.int64)
    individual = np.stack([model.individual_posterior(i, actions[:, :, i], observations[:, :, i], policy) > 0
                           for i in range(model.n_agents)], axis=1)
    joint = model.joint_posterior(actions, observations) > 0
    return SupportComparison(individual=individual, intersection=np.logical_and.reduce(individual, axis=1),
                             joint=joint)
