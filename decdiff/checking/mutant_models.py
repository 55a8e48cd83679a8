"""The model mutants: a model whose defect breaks an assumption the claims need (the exact denoiser of
the mutated model is then checked)."""

from __future__ import annotations

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP


def correlated_observations(model: DecPOMDP) -> DecPOMDP:
    """`model` with every agent's reading shifted by one shared uniform offset r: o_i' = (o_i + r) mod K.

    Each agent's reading alone is then uniform noise (its marginal is 1/K whatever the
    state), while the joint reading keeps every difference o_i - o_j: observations are
    correlated across agents, the assumption (C1) of Theorems 3 and 4 fails (docs/claims.md#support-conditions).
    Needs all agents to share one observation alphabet size K.
    """
    from dataclasses import replace

    from decdiff.implementations.models.tables import JointObservation, JointSpace

    sizes = set(model.observation_sizes)
    if len(sizes) != 1:
        raise InputError("needs one observation alphabet size for all agents", source=model.name,
                         field="observations")
    if _depends_on_action(model):
        raise InputError("needs action-independent observations", source=model.name, field="observations")
    k = sizes.pop()
    space = JointSpace(model.observation_sizes)
    every = space.all_elements()                                            # [JO, n]

    def shared_offset(observation):
        table = np.stack([observation.likelihood(None, every, model.action_space)])   # [1, JO, S]
        table = np.moveaxis(table, 1, 2)                                              # [1, S, JO]
        shifted = sum(table[:, :, space.ravel((every - r) % k)] for r in range(k)) / k
        return JointObservation(table=shifted, space=space)

    return replace(model, name=f"{model.name}+correlated-observations",
                   observation=shared_offset(model.observation),
                   initial_observation=None if model.initial_observation is None
                   else shared_offset(model.initial_observation))


def _depends_on_action(model: DecPOMDP) -> bool:
    return any(model.observation.agent_marginal(i)[1] != "none" for i in range(model.n_agents))
