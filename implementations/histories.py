"""Batches of single-agent histories and the model's standard float encoding (ARCHITECTURE.md, "Contracts").

A `HistoryBatch` holds B agent histories tau_i: the agent ids, right-padded action and
observation index tensors (padding is -1), the number of observations in each history,
and `features`, the float encoding a network consumes:

    features = [ one-hot(agent id) | slot_1 | ... | slot_H ],   slot = [ one-hot(o) | one-hot(a) ]

Slot k holds one observation and the action that led to it (all zeros for the action of
an observation at t = 0). The last observation sits in the last slot; shorter histories
are zero-padded at the front. One-hot widths are the largest per-agent set sizes, so
every agent's history has the same length of encoding. The agent id is part of the
encoding: a network shared by all agents must know whose history it reads (docs/claims.md#agent-identity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.sampling import Trajectories

PAD = -1


@dataclass(frozen=True)
class HistoryEncoding:
    """The standard encoding of a model's histories with H observation slots."""

    n_agents: int
    max_observations: int
    max_actions: int
    horizon: int

    @classmethod
    def for_model(cls, model: DecPOMDP, horizon: int) -> HistoryEncoding:
        return cls(model.n_agents, max(model.observation_sizes), max(model.action_sizes), horizon)

    @property
    def slot_width(self) -> int:
        return self.max_observations + self.max_actions

    @property
    def dim(self) -> int:
        return self.n_agents + self.horizon * self.slot_width

    def encode(self, agents: np.ndarray, actions: np.ndarray, observations: np.ndarray,
               lengths: np.ndarray, initial_observation: bool) -> np.ndarray:
        """``[B, dim]`` float64 features of padded index arrays (see the module docstring)."""
        batch = agents.shape[0]
        features = np.zeros((batch, self.dim))
        features[np.arange(batch), agents] = 1.0
        rows = np.arange(batch)
        for back in range(self.horizon):           # back = 0 is the last observation
            obs_pos = lengths - 1 - back
            present = obs_pos >= 0
            base = self.n_agents + (self.horizon - 1 - back) * self.slot_width
            r = rows[present]
            features[r, base + observations[r, obs_pos[present]]] = 1.0
            act_pos = obs_pos - 1 if initial_observation else obs_pos
            has_action = present & (act_pos >= 0)
            r = rows[has_action]
            features[r, base + self.max_observations + actions[r, act_pos[has_action]]] = 1.0
        return features


@dataclass(frozen=True, eq=False)
class HistoryBatch:
    """B single-agent histories of one model (ARCHITECTURE.md, "Contracts").

    Attributes:
        agents: ``[B]`` agent ids.
        actions: ``[B, t_max]`` own action indices, right-padded with -1.
        observations: ``[B, t_max(+1)]`` own observation indices, right-padded with -1.
        lengths: ``[B]`` number of observations in each history.
        features: ``[B, F]`` the standard encoding (float64).
        encoding: how `features` was made.
    """

    agents: torch.Tensor
    actions: torch.Tensor
    observations: torch.Tensor
    lengths: torch.Tensor
    features: torch.Tensor
    encoding: HistoryEncoding

    def __len__(self) -> int:
        return int(self.agents.shape[0])

    def __getitem__(self, index: torch.Tensor | slice | int) -> HistoryBatch:
        if isinstance(index, int):
            index = slice(index, index + 1)
        return HistoryBatch(self.agents[index], self.actions[index], self.observations[index], self.lengths[index],
                            self.features[index], self.encoding)

    def repeat_interleave(self, repeats: int) -> HistoryBatch:
        """Each history repeated `repeats` times in a row (to pair one history with many noisy states)."""
        return self[torch.arange(len(self)).repeat_interleave(repeats)]

    def index_rows(self) -> np.ndarray:
        """``[B, 2 + t_max + t_obs]`` integers that identify each history (for deduplication)."""
        return np.concatenate([self.agents[:, None].numpy(), self.lengths[:, None].numpy(), self.actions.numpy(),
                               self.observations.numpy()], axis=1)


def concatenate_histories(batches: list[HistoryBatch]) -> HistoryBatch:
    """One batch holding the rows of `batches` (one model, one padded width) in order."""
    fields = ("agents", "actions", "observations", "lengths", "features")
    return HistoryBatch(*(torch.cat([getattr(b, name) for b in batches]) for name in fields), batches[0].encoding)


def history_batch(model: DecPOMDP, agents: np.ndarray, actions: np.ndarray, observations: np.ndarray,
                  lengths: np.ndarray | None = None, horizon: int | None = None) -> HistoryBatch:
    """Build a batch from padded index arrays (all histories full length if `lengths` is None)."""
    agents = np.asarray(agents, dtype=np.int64)
    actions = np.asarray(actions, dtype=np.int64).reshape(agents.shape[0], -1)
    observations = np.asarray(observations, dtype=np.int64).reshape(agents.shape[0], -1)
    if lengths is None:
        lengths = np.full(agents.shape[0], observations.shape[1], dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if np.any((agents < 0) | (agents >= model.n_agents)):
        raise InputError(f"agent ids must lie in 0..{model.n_agents - 1}", field="agents")
    first = 1 if model.has_initial_observation else 0
    if np.any(lengths < first) or np.any(lengths > observations.shape[1]):
        raise InputError("history lengths do not match the observation arrays", field="lengths")
    horizon = int(lengths.max()) if horizon is None else horizon
    encoding = HistoryEncoding.for_model(model, horizon)
    features = encoding.encode(agents, actions, observations, lengths, model.has_initial_observation)
    return HistoryBatch(torch.from_numpy(agents), torch.from_numpy(actions), torch.from_numpy(observations),
                        torch.from_numpy(lengths), torch.from_numpy(features), encoding)


def agent_histories(model: DecPOMDP, trajectories: Trajectories, agents: np.ndarray | None = None,
                    horizon: int | None = None) -> HistoryBatch:
    """The histories of `agents` (all agents by default) in every trajectory, agent-major."""
    agents = np.arange(model.n_agents) if agents is None else np.asarray(agents, dtype=np.int64)
    batch = trajectories.states.shape[0]
    ids = np.repeat(agents, batch)
    actions = trajectories.actions[:, :, agents].transpose(2, 0, 1).reshape(agents.size * batch, -1)
    observations = trajectories.observations[:, :, agents].transpose(2, 0, 1).reshape(agents.size * batch, -1)
    return history_batch(model, ids, actions, observations, horizon=horizon)
