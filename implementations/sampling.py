"""Sampling trajectories of a Dec-POMDP under a behaviour policy, batched and seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decdiff.implementations.categorical import sample_rows
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import HistoryPolicy, Policy, resolve_policy


@dataclass(frozen=True, eq=False)
class Trajectories:
    """A batch of B trajectories with ``t`` steps.

    Attributes:
        states: ``[B, t + 1]`` state indices s_0 .. s_t.
        actions: ``[B, t, n]`` individual action indices a_0 .. a_{t-1}.
        observations: ``[B, t, n]`` (o_1 .. o_t), or ``[B, t + 1, n]`` (o_0 .. o_t) for
            models with an observation at t = 0.
    """

    states: np.ndarray
    actions: np.ndarray
    observations: np.ndarray

    def agent_history(self, agent: int) -> tuple[np.ndarray, np.ndarray]:
        """Agent i's own actions ``[B, t]`` and observations ``[B, t(+1)]``."""
        return self.actions[:, :, agent], self.observations[:, :, agent]


def sample_trajectories(model: DecPOMDP, history_length: int, batch: int, *, seed: int,
                        policy: Policy | None = None) -> Trajectories:
    """Draw `batch` trajectories whose histories hold `history_length` observations.

    s_0 ~ initial; o_0 ~ O0(. | s_0) if the model has it; then for each step
    a ~ policy, s' ~ T(. | s, a), o' ~ O(. | a, s'). Reproducible from `seed`.
    """
    rng = np.random.default_rng(seed)
    policy = resolve_policy(model, policy)
    n_steps, _ = model.history_shape(history_length)
    n = model.n_agents
    states = np.empty((batch, n_steps + 1), dtype=np.int64)
    actions = np.empty((batch, n_steps, n), dtype=np.int64)
    observations = []
    states[:, 0] = sample_rows(rng, np.broadcast_to(model.initial, (batch, model.n_states)))
    if model.initial_observation is not None:
        observations.append(model.initial_observation.sample(rng, None, states[:, 0], model.action_space))
    for t in range(n_steps):
        actions[:, t] = _draw_actions(rng, model, policy, actions[:, :t], observations)
        joint = model.action_space.ravel(actions[:, t]) if model.uses_joint_action else None
        states[:, t + 1] = _next_states(rng, model, states[:, t], joint)
        observations.append(model.observation.sample(rng, joint, states[:, t + 1], model.action_space))
    obs = np.stack(observations, axis=1) if observations else np.empty((batch, 0, n), dtype=np.int64)
    return Trajectories(states=states, actions=actions, observations=obs)


def _draw_actions(rng: np.random.Generator, model: DecPOMDP, policy: Policy, past_actions: np.ndarray,
                  past_observations: list[np.ndarray]) -> np.ndarray:
    batch = past_actions.shape[0]
    if not isinstance(policy, HistoryPolicy):
        return policy.sample(rng, model, batch)
    obs = np.stack(past_observations, axis=1) if past_observations else np.empty((batch, 0, model.n_agents), int)
    columns = []
    for i in range(model.n_agents):
        probs = np.stack([policy.probabilities(model, i, past_actions[b, :, i], obs[b, :, i]) for b in range(batch)])
        columns.append(sample_rows(rng, probs))
    return np.stack(columns, axis=-1)


def _next_states(rng: np.random.Generator, model: DecPOMDP, states: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """s' ~ T[ja](s, .), grouped by joint action so that each group is one row gather."""
    out = np.empty_like(states)
    groups = [(None, np.arange(states.size))] if model.transition.action_independent else \
        [(ja, np.flatnonzero(joint == ja)) for ja in np.unique(joint)]
    for ja, rows in groups:
        matrix = model.transition.matrix(0 if ja is None else int(ja))
        block = matrix[states[rows]]
        block = block.toarray() if hasattr(block, "toarray") else block
        out[rows] = sample_rows(rng, block)
    return out
