"""The tabular Dec-POMDP: spaces, transition and observation models, state embedding.

Conventions:

* Joint indices put the **last agent fastest** (C order, as in `.dpomdp` files):
  ``ja = ravel_multi_index((a_1, ..., a_n), (|A_1|, ..., |A_n|))``.
* ``T[ja][s, s'] = P(s' | s, ja)``; a transition that ignores the action is stored once.
* Observations are either *joint*, ``O[ja, s', jo] = P(jo | ja, s')``, or *factored*,
  ``O(jo | ja, s') = prod_i O_i(o_i | a_i, s')`` with each agent's table depending on its
  own action or on none (this is what lets sensor networks with 25 agents exist at all:
  their joint observation space has 16**25 elements).
* A model may have an observation at t = 0, drawn from ``initial_observation`` given the
  initial state; then a history of length H holds H observations and H - 1 actions.
  Without it (`.dpomdp` files) a history of length H holds H actions and H observations.
* ``states[s]`` is the vector in R^d that diffusion runs on (one-hot by default).

Every table is validated on construction: a row that is not a probability distribution
(non-negative, summing to 1 within `decdiff.tolerances.PROBABILITY_SUM`) raises
`decdiff.InputError` naming the table and the row. Nothing is renormalised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from decdiff.errors import InputError
from decdiff.implementations.categorical import sample_rows
from decdiff.tolerances import PROBABILITY_SUM

Matrix = np.ndarray | sp.csr_array
ActionDependence = Literal["none", "own", "joint"]


def _check_distribution_rows(table: np.ndarray, name: str, source: str | None) -> None:
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
            _check_distribution_rows(table, f"{name}[agent {i}]", source)

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
        _check_distribution_rows(self.table, name, source)

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


RewardFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def one_hot_embedding(n_states: int) -> np.ndarray:
    """The default state embedding: ``states[s] = e_s`` in R^S."""
    return np.eye(n_states)


@dataclass(frozen=True, eq=False, repr=False)
class DecPOMDP:
    """A finite Dec-POMDP with a state embedding.

    Attributes:
        name: the model's spec (a built-in name with parameters, or a file path).
        agent_names, state_names: labels.
        action_names, observation_names: per agent.
        initial: the initial state distribution ``[S]``.
        transition: P(s' | s, ja).
        observation: P(jo | ja, s') for observations after each step.
        initial_observation: P(jo | s_0) at t = 0, or None when there is none.
        states: the embedding ``[S, d]`` that diffusion runs on.
        discount: the discount factor (unused by inference; kept for completeness).
        reward: R(s, joint individual actions) for ``[B]`` states and ``[B, n]`` actions.
        parameters: the model family's parameters, for listings and reports.
    """

    name: str
    agent_names: tuple[str, ...]
    state_names: tuple[str, ...]
    action_names: tuple[tuple[str, ...], ...]
    observation_names: tuple[tuple[str, ...], ...]
    initial: np.ndarray
    transition: Transition
    observation: Observation
    initial_observation: Observation | None = None
    states: np.ndarray | None = None
    discount: float = 1.0
    reward: RewardFunction | None = None
    parameters: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.states is None:
            object.__setattr__(self, "states", one_hot_embedding(len(self.state_names)))
        self._validate()

    def _validate(self) -> None:
        source = self.name
        n, S = len(self.agent_names), len(self.state_names)
        if n < 1:
            raise InputError("a Dec-POMDP needs at least one agent", source=source, field="agents")
        if len(self.action_names) != n or len(self.observation_names) != n:
            raise InputError(
                f"{len(self.action_names)} action and {len(self.observation_names)} observation sets for {n} agents",
                source=source,
                field="agents",
            )
        if self.initial.shape != (S,):
            raise InputError(f"shape {self.initial.shape}, expected ({S},)", source=source, field="start")
        _check_distribution_rows(self.initial, "start", source)
        if self.transition.n_states != S:
            raise InputError(f"{self.transition.n_states} states, expected {S}", source=source, field="T")
        self.transition.validate(self.n_joint_actions, source)
        for obs, label in ((self.observation, "O"), (self.initial_observation, "O0")):
            if obs is None:
                continue
            if obs.n_states != S or obs.sizes != self.observation_sizes:
                raise InputError(f"sizes {obs.sizes} over {obs.n_states} states", source=source, field=label)
            obs.validate(self.action_sizes, source, label)
        if self.initial_observation is not None and _depends_on_action(self.initial_observation):
            raise InputError("the t = 0 observation cannot depend on an action", source=source, field="O0")
        if self.states.ndim != 2 or self.states.shape[0] != S or not np.all(np.isfinite(self.states)):
            raise InputError(f"embedding of shape {self.states.shape} for {S} states", source=source, field="states")

    # ----- sizes -------------------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        return len(self.agent_names)

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    @property
    def state_dim(self) -> int:
        return int(self.states.shape[1])

    @property
    def action_sizes(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.action_names)

    @property
    def observation_sizes(self) -> tuple[int, ...]:
        return tuple(len(o) for o in self.observation_names)

    @cached_property
    def action_space(self) -> JointSpace:
        return JointSpace(self.action_sizes)

    @cached_property
    def observation_space(self) -> JointSpace:
        return JointSpace(self.observation_sizes)

    @property
    def n_joint_actions(self) -> int:
        return self.action_space.size

    @property
    def uses_joint_action(self) -> bool:
        """Whether transitions or observations depend on the actions (else no joint action index is needed,
        which keeps models with many agents, e.g. 4**64 joint actions, usable)."""
        return not self.transition.action_independent or _depends_on_action(self.observation)

    @property
    def has_initial_observation(self) -> bool:
        return self.initial_observation is not None

    def history_shape(self, history_length: int) -> tuple[int, int]:
        """(number of actions, number of observations) in a history of length H.

        The length of a history is its number of observations (the paper's "length 1"
        history of Fig. 1 is a single observation).
        """
        if history_length < (1 if self.has_initial_observation else 0):
            raise InputError(f"history length {history_length} is too short for this model",
                             source=self.name, field="history_length")
        if self.has_initial_observation:
            return history_length - 1, history_length
        return history_length, history_length

    # ----- posteriors (implemented in decdiff.implementations.posteriors, which imports this module only
    # for type checking, so that these two imports close no cycle) ---------------------------------------
    def joint_posterior(self, actions: np.ndarray, observations: np.ndarray) -> np.ndarray:
        """p(s_t | joint history): ``[S]`` for one history, ``[B, S]`` for a batch."""
        from decdiff.implementations.posteriors import joint_posterior

        return joint_posterior(self, actions, observations)

    def individual_posterior(self, agent: int, actions: np.ndarray, observations: np.ndarray,
                             policy=None) -> np.ndarray:
        """p(s_t | agent's own history) under the behaviour policy (uniform by default)."""
        from decdiff.implementations.posteriors import individual_posterior

        return individual_posterior(self, agent, actions, observations, policy)

    def __repr__(self) -> str:
        return f"DecPOMDP({self.describe()})"

    def describe(self) -> str:
        """A one-line summary of the model's sizes."""
        return (f"{self.name}: {self.n_agents} agents, {self.n_states} states (d = {self.state_dim}), "
                f"actions {self.action_sizes}, observations {self.observation_sizes}")


def _depends_on_action(obs: Observation) -> bool:
    if isinstance(obs, FactoredObservation):
        return obs.own_action
    return obs.table.shape[0] != 1
