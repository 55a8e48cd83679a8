"""The tabular Dec-POMDP: spaces, transition and observation models, state embedding.

Conventions (ARCHITECTURE.md, "Contracts"):

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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.models.tables import (
    FactoredObservation,
    JointSpace,
    Observation,
    Transition,
    check_distribution_rows,
)

RewardFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def one_hot_embedding(n_states: int) -> np.ndarray:
    """The default state embedding: ``states[s] = e_s`` in R^S."""
    return np.eye(n_states)


@dataclass(frozen=True, eq=False, repr=False)
class DecPOMDP:
    """A finite Dec-POMDP with a state embedding (ARCHITECTURE.md, "Contracts").

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
        check_distribution_rows(self.initial, "start", source)
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
