"""Behaviour policies that generate data.

Individual posteriors p(s | tau_i) depend on the behaviour policy of the *other* agents;
joint posteriors given a joint history do not (every agent's actions are then in the history).
Two kinds exist:

* `StationaryPolicy`: each agent draws its action from a fixed distribution pi_i(a_i),
  independently of its history and of the other agents (uniform random by default).
* `HistoryPolicy`: agent i's action distribution is any function of its own history,
  ``fn(agent, own_actions [t], own_observations [t or t + 1]) -> probs [|A_i|]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.categorical import sample_rows
from decdiff.tolerances import PROBABILITY_SUM

if TYPE_CHECKING:
    from decdiff.implementations.models.decpomdp import DecPOMDP


@dataclass(frozen=True, eq=False)
class StationaryPolicy:
    """Independent per-agent action distributions that ignore the history."""

    per_agent: tuple[np.ndarray, ...]

    @classmethod
    def uniform(cls, model: DecPOMDP) -> StationaryPolicy:
        return cls(tuple(np.full(k, 1.0 / k) for k in model.action_sizes))

    def validate(self, model: DecPOMDP) -> None:
        if len(self.per_agent) != model.n_agents:
            raise InputError(f"{len(self.per_agent)} agents, model has {model.n_agents}", field="policy")
        for i, (p, k) in enumerate(zip(self.per_agent, model.action_sizes)):
            if p.shape != (k,) or np.any(p < 0) or abs(p.sum() - 1.0) > PROBABILITY_SUM:
                raise InputError(f"agent {i}'s action distribution is not a distribution over {k} actions",
                                 field="policy")

    def others_distribution(self, model: DecPOMDP, agent: int) -> tuple[np.ndarray, np.ndarray]:
        """The others' joint actions as individual indices ``[M, n]`` (agent i's column zero)
        and their probabilities ``[M]`` (product of the others' distributions)."""
        sizes = [1 if j == agent else k for j, k in enumerate(model.action_sizes)]
        combos = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=-1)
        probs = np.ones(combos.shape[0])
        for j in range(model.n_agents):
            if j != agent:
                probs *= self.per_agent[j][combos[:, j]]
        return combos, probs

    def sample(self, rng: np.random.Generator, model: DecPOMDP, batch: int) -> np.ndarray:
        """Individual actions ``[B, n]`` for one step."""
        return np.stack([sample_rows(rng, np.broadcast_to(p, (batch, p.size))) for p in self.per_agent], axis=-1)


HistoryFunction = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class HistoryPolicy:
    """Each agent's action distribution is a function of its own action-observation history."""

    fn: HistoryFunction

    def probabilities(self, model: DecPOMDP, agent: int, actions: np.ndarray, observations: np.ndarray) -> np.ndarray:
        probs = np.asarray(self.fn(agent, actions, observations), dtype=np.float64)
        k = model.action_sizes[agent]
        if probs.shape != (k,) or np.any(probs < 0) or abs(probs.sum() - 1.0) > PROBABILITY_SUM:
            raise InputError(f"returned {probs!r}, not a distribution over agent {agent}'s {k} actions",
                             field="policy")
        return probs


Policy = StationaryPolicy | HistoryPolicy


def resolve_policy(model: DecPOMDP, policy: Policy | None) -> Policy:
    """The policy to use: uniform random when None, validated otherwise."""
    if policy is None:
        return StationaryPolicy.uniform(model)
    if isinstance(policy, StationaryPolicy):
        policy.validate(model)
    return policy
