"""The parts a tabular Dec-POMDP is made of: joint index spaces, transition tables and observation models.

Joint indices put the last agent fastest (C order, as in `.dpomdp` files). A `Transition` holds
T[ja][s, s'] (one dense or sparse matrix per joint action, or one shared by all); an observation
model is either `FactoredObservation` (independent per-agent tables) or `JointObservation`
(a table over joint observations). Every row must be a probability distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from decdiff.errors import InputError
from decdiff.implementations.categorical import sample_rows
from decdiff.tolerances import PROBABILITY_SUM

Matrix = np.ndarray | sp.csr_array
ActionDependence = Literal["none", "own", "joint"]


def check_distribution_rows(table: np.ndarray, name: str, source: str | None) -> None:
    """Raise `InputError` unless every row along the last axis is a distribution."""
    if not np.all(np.isfinite(table)):
        index = np.argwhere(~np.isfinite(table))[0]
        raise InputError(f"non-finite entry at {tuple(int(i) for i in index)}", source=source, field=name)
    if np.any(table < 0):
        index = np.argwhere(table < 0)[0]
        raise InputError(f"negative probability at {tuple(int(i) for i in index)}", source=source, field=name)
    sums = table.sum(axis=-1)
    bad = np.abs(sums - 1.0) > PROBABILITY_SUM
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"row {index} sums to {sums[index]:.12g}, not 1 (tolerance {PROBABILITY_SUM:g})",
            source=source,
            field=name,
        )


@dataclass(frozen=True, eq=False)
class JointSpace:
    """A product of per-agent finite sets, indexed with the last agent fastest."""

    sizes: tuple[int, ...]

    @property
    def size(self) -> int:
        """Number of joint elements, exact (np.prod in int64 wraps: 16^25 sensor observations give 0)."""
        return math.prod(self.sizes)

    def ravel(self, individual: np.ndarray) -> np.ndarray:
        """Joint index of individual indices ``[..., n]``."""
        individual = np.asarray(individual, dtype=np.int64)
        return np.ravel_multi_index(tuple(np.moveaxis(individual, -1, 0)), self.sizes)

    def unravel(self, joint: np.ndarray | int) -> np.ndarray:
        """Individual indices ``[..., n]`` of joint indices."""
        return np.stack(np.unravel_index(np.asarray(joint, dtype=np.int64), self.sizes), axis=-1)

    def all_elements(self) -> np.ndarray:
        """Every element as individual indices, in joint-index order: ``[size, n]``."""
        return self.unravel(np.arange(self.size))


@dataclass(frozen=True, eq=False)
class Transition:
    """P(s' | s, ja): one [S, S] matrix, or one per joint action.

    Matrices are dense float64 arrays or CSR arrays (for large sparse models such as
    fireFighting_2_4_3). ``matrices`` has length 1 when the transition ignores actions.
    """

    matrices: tuple[Matrix, ...]

    @property
    def action_independent(self) -> bool:
        return len(self.matrices) == 1

    @property
    def n_states(self) -> int:
        return int(self.matrices[0].shape[0])

    def matrix(self, joint_action: int) -> Matrix:
        """T[ja] (the one matrix when actions do not matter)."""
        return self.matrices[0 if self.action_independent else joint_action]

    def validate(self, n_joint_actions: int, source: str | None) -> None:
        if not self.action_independent and len(self.matrices) != n_joint_actions:
            raise InputError(
                f"{len(self.matrices)} matrices for {n_joint_actions} joint actions", source=source, field="T"
            )
        for k, m in enumerate(self.matrices):
            if m.shape != (self.n_states, self.n_states):
                raise InputError(f"matrix {k} has shape {m.shape}", source=source, field="T")
            dense_values = m.data if sp.issparse(m) else m
            if not np.all(np.isfinite(dense_values)) or np.any(dense_values < 0):
                raise InputError(f"matrix {k} has a negative or non-finite entry", source=source, field="T")
            sums = np.asarray(m.sum(axis=1)).ravel()
            bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_SUM)
            if bad.size:
                raise InputError(
                    f"row (ja={k}, s={bad[0]}) sums to {sums[bad[0]]:.12g}, not 1 (tolerance {PROBABILITY_SUM:g})",
                    source=source,
                    field="T",
                )

    def propagate(self, beliefs: np.ndarray, joint_action: int) -> np.ndarray:
        """``beliefs @ T[ja]`` for beliefs ``[B, S]`` (unnormalised predictive)."""
        m = self.matrix(joint_action)
        if sp.issparse(m):
            return np.asarray((m.T @ beliefs.T).T)
        return beliefs @ m

    def support(self, joint_action: int) -> sp.csr_array:
        """Boolean pattern of T[ja] as a sparse 0/1 float matrix."""
        m = sp.csr_array(self.matrix(joint_action))
        m.eliminate_zeros()
        return sp.csr_array((np.ones_like(m.data), m.indices, m.indptr), shape=m.shape)


@dataclass(frozen=True, eq=False)
class FactoredObservation:
    """O(jo | ja, s') = prod_i O_i(o_i | a_i, s'), agents' observations independent given the state.

    ``tables[i]`` has shape ``[K_i, S, |Omega_i|]`` with ``K_i = |A_i|`` when the agent's
    observation depends on its own action (``own_action=True``) and ``K_i = 1`` otherwise.
    """

    tables: tuple[np.ndarray, ...]
    own_action: bool = False

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(t.shape[-1]) for t in self.tables)

    @property
    def n_states(self) -> int:
        return int(self.tables[0].shape[1])

    def validate(self, action_sizes: tuple[int, ...], source: str | None, name: str) -> None:
        for i, table in enumerate(self.tables):
            expected = action_sizes[i] if self.own_action else 1
            if table.ndim != 3 or table.shape[0] != expected or table.shape[1] != self.n_states:
                raise InputError(f"agent {i}'s table has shape {table.shape}", source=source, field=name)
            check_distribution_rows(table, f"{name}[agent {i}]", source)

    def agent_marginal(self, agent: int) -> tuple[np.ndarray, ActionDependence]:
        """Agent i's table ``[K, S, |Omega_i|]`` and what its first axis is indexed by."""
        return self.tables[agent], ("own" if self.own_action else "none")

    def likelihood(self, joint_actions: np.ndarray | None, observations: np.ndarray,
                   action_space: JointSpace) -> np.ndarray:
        """P(jo_b | ja_b, s') for every row b and state s': ``[B, S]``.

        ``joint_actions`` is ``[B]`` (ignored by action-independent tables; None at t = 0),
        ``observations`` is ``[B, n]`` individual observation indices.
        """
        own = None
        if self.own_action:
            if joint_actions is None:
                raise ValueError("an own-action observation model needs the joint action")
            own = action_space.unravel(joint_actions)
        result = np.ones((observations.shape[0], self.n_states))
        for i, table in enumerate(self.tables):
            k = own[:, i] if own is not None else np.zeros(observations.shape[0], dtype=np.int64)
            result *= table[k, :, observations[:, i]]
        return result

    def sample(self, rng: np.random.Generator, joint_actions: np.ndarray | None, states: np.ndarray,
               action_space: JointSpace) -> np.ndarray:
        """Draw individual observations ``[B, n]`` given next states ``[B]``."""
        own = action_space.unravel(joint_actions) if self.own_action else None
        columns = []
        for i, table in enumerate(self.tables):
            k = own[:, i] if own is not None else np.zeros(states.shape[0], dtype=np.int64)
            columns.append(sample_rows(rng, table[k, states]))
        return np.stack(columns, axis=-1)


@dataclass(frozen=True, eq=False)
class JointObservation:
    """O[k, s', jo]: a full joint observation table, ``k`` the joint action (or one slice).

    ``table`` has shape ``[K, S, JO]`` with ``K = JA`` or ``K = 1`` (action-independent).
    Joint observations are indexed with the last agent fastest.
    """

    table: np.ndarray
    space: JointSpace

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.space.sizes

    @property
    def n_states(self) -> int:
        return int(self.table.shape[1])

    def validate(self, action_sizes: tuple[int, ...], source: str | None, name: str) -> None:
        n_joint = int(np.prod(action_sizes, dtype=np.int64))
        if self.table.ndim != 3 or self.table.shape[0] not in (1, n_joint) or self.table.shape[2] != self.space.size:
            raise InputError(f"table has shape {self.table.shape}", source=source, field=name)
        check_distribution_rows(self.table, name, source)

    def _slice(self, joint_actions: np.ndarray | None, rows: int) -> np.ndarray:
        if self.table.shape[0] == 1 or joint_actions is None:
            if self.table.shape[0] != 1:
                raise ValueError("an action-dependent observation model needs the joint action")
            return np.zeros(rows, dtype=np.int64)
        return np.asarray(joint_actions, dtype=np.int64)

    @cached_property
    def _per_agent_view(self) -> np.ndarray:
        """The table reshaped to ``[K, S, |Omega_1|, ..., |Omega_n|]``."""
        return self.table.reshape(self.table.shape[:2] + self.space.sizes)

    def agent_marginal(self, agent: int) -> tuple[np.ndarray, ActionDependence]:
        """sum over the others' observations: ``[K, S, |Omega_i|]``, K indexed by the joint action."""
        view = self._per_agent_view
        others = tuple(2 + j for j in range(len(self.sizes)) if j != agent)
        marginal = view.sum(axis=others)
        return marginal, ("none" if self.table.shape[0] == 1 else "joint")

    def likelihood(self, joint_actions: np.ndarray | None, observations: np.ndarray,
                   action_space: JointSpace) -> np.ndarray:
        k = self._slice(joint_actions, observations.shape[0])
        jo = self.space.ravel(observations)
        return self.table[k, :, jo]

    def sample(self, rng: np.random.Generator, joint_actions: np.ndarray | None, states: np.ndarray,
               action_space: JointSpace) -> np.ndarray:
        k = self._slice(joint_actions, states.shape[0])
        return self.space.unravel(sample_rows(rng, self.table[k, states]))


Observation = FactoredObservation | JointObservation
