"""Exact facts about a model that the theorems' assumptions are made of.

All reachability is with respect to a behaviour policy that gives every action positive
probability (the uniform default), so the facts are properties of the model alone.

* **Factored observations** (docs/claims.md#support-conditions): O(jo | ja, s') = prod_i O_i(o_i | ja, s') for
  every (ja, s'), checked against the product of the marginals within
  `decdiff.tolerances.PROBABILITY_EQUAL`; also for the t = 0 observation.
* **Per-step collective observability** (C2, Pynadath & Tambe): for every joint action ja
  and every pair of distinct states s1, s2 that can both be reached by a step under ja
  (or both lie in the initial support, for the t = 0 observation), no joint observation
  has positive probability under both.
* **Joint-history CO at length H** (the weaker reading): every joint history of length H
  with positive probability has a one-state joint posterior.

Both CO facts are decided on pairs of states. Two distinct states s1, s2 are
*confusable* after a history when some joint history gives both positive posterior mass;
the set P_t of confusable pairs obeys

    P_{t+1} = OR_ja [ (T_ja^T P_t T_ja > 0)  AND  C_ja ],     C_ja(s1, s2) = [exists jo: O(jo|ja,s1) O(jo|ja,s2) > 0],

(boolean matrices), because observations at different steps are drawn independently
given the states. This costs O(H * S^3) instead of enumerating joint observations, which
is impossible for 25 sensors (16**25 joint observations). For factored observations
C_ja is the AND over agents of the per-agent overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.tables import (
    FactoredObservation,
    JointObservation,
    Observation,
)
from decdiff.tolerances import PROBABILITY_EQUAL

#: Joint spaces larger than this are not enumerated.
MAX_ENUMERATED_JOINT = 1_000_000


# ----- factored observations -------------------------------------------------------------------
def observation_is_factored(observation: Observation, tolerance: float = PROBABILITY_EQUAL) -> bool:
    """Whether every slice O[k, s'] equals the outer product of its per-agent marginals."""
    if isinstance(observation, FactoredObservation):
        return True
    view = observation.table.reshape(observation.table.shape[:2] + observation.sizes)
    n = len(observation.sizes)
    product = np.ones_like(view)
    for i in range(n):
        others = tuple(2 + j for j in range(n) if j != i)
        marginal = view.sum(axis=others, keepdims=True)
        product = product * marginal
    return bool(np.max(np.abs(product - view)) <= tolerance)


def observations_factored(model: DecPOMDP) -> bool:
    """(C1) without the own-action part: observations independent across agents given (ja, s')."""
    models = [model.observation] + ([model.initial_observation] if model.initial_observation is not None else [])
    return all(observation_is_factored(o) for o in models)


def observations_own_action(model: DecPOMDP) -> bool:
    """Each agent's observation marginal depends on its own action at most (the rest of (C1))."""
    obs = model.observation
    if isinstance(obs, FactoredObservation):
        return True
    if obs.table.shape[0] == 1:
        return True
    elements = model.action_space.all_elements()
    for i in range(model.n_agents):
        marginal, _ = obs.agent_marginal(i)
        for a in range(model.action_sizes[i]):
            block = marginal[elements[:, i] == a]
            if np.max(np.abs(block - block[0])) > PROBABILITY_EQUAL:
                return False
    return True


# ----- overlap of observation supports ------------------------------------------------------------
def _support_overlap(positive: np.ndarray) -> np.ndarray:
    """C[s1, s2] = the rows s1 and s2 of a boolean table share a column."""
    p = positive.astype(np.float64)
    return (p @ p.T) > 0


def _overlaps(observation: Observation, model: DecPOMDP) -> list[np.ndarray]:
    """One boolean [S, S] overlap per joint action (a single one when observations ignore actions)."""
    if isinstance(observation, JointObservation):
        return [_support_overlap(observation.table[k] > 0) for k in range(observation.table.shape[0])]
    per_agent = [[_support_overlap(t[k] > 0) for k in range(t.shape[0])] for t in observation.tables]
    if not observation.own_action:
        return [np.logical_and.reduce([p[0] for p in per_agent])]
    if model.n_joint_actions > MAX_ENUMERATED_JOINT:
        raise InputError("too many joint actions to enumerate own-action observation overlaps", source=model.name)
    elements = model.action_space.all_elements()
    return [np.logical_and.reduce([per_agent[i][row[i]] for i in range(model.n_agents)]) for row in elements]


@dataclass(frozen=True)
class _StepRelation:
    """One joint action's (or all joint actions') transition pattern and observation overlap."""

    transition: sp.csr_array   # 0/1 pattern of T_ja
    overlap: np.ndarray        # C_ja


def _step_relations(model: DecPOMDP) -> list[_StepRelation]:
    overlaps = _overlaps(model.observation, model)
    if model.transition.action_independent:
        return [_StepRelation(model.transition.support(0), np.logical_or.reduce(overlaps))]
    if model.n_joint_actions > MAX_ENUMERATED_JOINT:
        raise InputError("too many joint actions to enumerate", source=model.name)
    return [_StepRelation(model.transition.support(ja), overlaps[0 if len(overlaps) == 1 else ja])
            for ja in range(model.n_joint_actions)]


# ----- reachability -------------------------------------------------------------------------------
def reachable_states(model: DecPOMDP) -> np.ndarray:
    """Boolean ``[S]``: states with positive probability at some time t >= 0."""
    patterns = [model.transition.support(k) for k in range(len(model.transition.matrices))]
    reached = model.initial > 0
    frontier = reached.copy()
    while frontier.any():
        step = np.zeros_like(reached)
        for pattern in patterns:
            step |= (pattern.T @ frontier.astype(np.float64)) > 0
        frontier = step & ~reached
        reached |= step
    return reached


@dataclass(frozen=True)
class ConfusablePair:
    """Two distinct states that some history (or one observation) cannot tell apart."""

    state_a: int
    state_b: int
    step: int                       # the step at which they are confused (0 = initial observation)
    joint_action: int | None = None  # for per-step CO: the joint action of that step


def _first_offdiagonal(matrix: np.ndarray) -> tuple[int, int] | None:
    masked = matrix.copy()
    np.fill_diagonal(masked, False)
    hits = np.argwhere(masked)
    return (int(hits[0, 0]), int(hits[0, 1])) if hits.size else None


def per_step_co_witness(model: DecPOMDP) -> ConfusablePair | None:
    """A violation of per-step collective observability, or None when it holds."""
    reached = reachable_states(model).astype(np.float64)
    if model.initial_observation is not None:
        start = model.initial > 0
        overlap0 = np.logical_or.reduce(_overlaps(model.initial_observation, model))
        pair = _first_offdiagonal(overlap0 & np.outer(start, start))
        if pair is not None:
            return ConfusablePair(*pair, step=0)
    relations = _step_relations(model)
    for ja, relation in enumerate(relations):
        successors = (relation.transition.T @ reached) > 0
        pair = _first_offdiagonal(relation.overlap & np.outer(successors, successors))
        if pair is not None:
            return ConfusablePair(*pair, step=1, joint_action=None if len(relations) == 1 else ja)
    return None


def per_step_co(model: DecPOMDP) -> bool:
    """(C2): at every step the joint observation determines the state."""
    return per_step_co_witness(model) is None


def confusable_pairs(model: DecPOMDP, history_length: int) -> np.ndarray:
    """Boolean ``[S, S]``: pairs of states that share a joint history of length H."""
    n_steps, _ = model.history_shape(history_length)
    start = (model.initial > 0).astype(np.float64)
    pairs = np.outer(start, start) > 0
    if model.initial_observation is not None:
        pairs &= np.logical_or.reduce(_overlaps(model.initial_observation, model))
    relations = _step_relations(model)
    for _ in range(n_steps):
        current = pairs.astype(np.float64)
        nxt = np.zeros_like(pairs)
        for relation in relations:
            t = relation.transition
            nxt |= (np.asarray(t.T @ np.asarray(t.T @ current).T).T > 0) & relation.overlap
        pairs = nxt
    return pairs


def joint_history_co_witness(model: DecPOMDP, history_length: int) -> ConfusablePair | None:
    """Two states some joint history of length H cannot separate, or None if none exist."""
    pair = _first_offdiagonal(confusable_pairs(model, history_length))
    return None if pair is None else ConfusablePair(*pair, step=history_length)


def joint_history_co(model: DecPOMDP, history_length: int) -> bool:
    """Every positive-probability joint history of length H determines the state."""
    return joint_history_co_witness(model, history_length) is None


# ----- enumeration for small models -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class JointHistories:
    """All joint histories of length H with positive probability (under a full-support policy).

    ``actions [N, t, n]``, ``observations [N, t(+1), n]`` and the joint posterior
    ``posteriors [N, S]`` of each.
    """

    actions: np.ndarray
    observations: np.ndarray
    posteriors: np.ndarray


def _joint_observation_likelihoods(model: DecPOMDP, observation: Observation,
                                   joint_action: int | None) -> np.ndarray:
    """``[JO, S]``: P(jo | ja, s') for every joint observation."""
    elements = model.observation_space.all_elements()
    ja = None if joint_action is None else np.full(len(elements), joint_action)
    return observation.likelihood(ja, elements, model.action_space)


def actions_matter(model: DecPOMDP) -> bool:
    """Whether T or O depends on the joint action (otherwise actions only affect the reward)."""
    observation = model.observation
    obs_depends = (observation.own_action if isinstance(observation, FactoredObservation)
                   else observation.table.shape[0] != 1)
    return obs_depends or not model.transition.action_independent


def reachable_joint_histories(model: DecPOMDP, history_length: int, limit: int = 100_000,
                              all_actions: bool | None = None) -> JointHistories:
    """Enumerate every joint history of length H with positive probability, breadth first.

    When actions affect neither T nor O (sensor networks), every joint action sequence
    gives the same observation process and posteriors; then by default (``all_actions``
    None) only the all-zeros action sequence is enumerated. ``all_actions=True`` forces
    the full enumeration.
    """
    n_steps, _ = model.history_shape(history_length)
    if all_actions is None:
        all_actions = actions_matter(model)
    if model.observation_space.size > MAX_ENUMERATED_JOINT or model.n_joint_actions > MAX_ENUMERATED_JOINT:
        raise InputError("the joint spaces are too large to enumerate histories", source=model.name)
    elements = model.observation_space.all_elements()
    n = model.n_agents
    beliefs = model.initial[None, :]
    actions = np.zeros((1, 0, n), dtype=np.int64)
    observations = np.zeros((1, 0, n), dtype=np.int64)
    if model.initial_observation is not None:
        beliefs, keep = _branch(beliefs, _joint_observation_likelihoods(model, model.initial_observation, None))
        actions = actions[keep[0]]
        observations = elements[keep[1]][:, None, :]
    for _ in range(n_steps):
        new_b, new_a, new_o = [], [], []
        joint_actions = model.action_space.all_elements() if all_actions else np.zeros((1, n), dtype=np.int64)
        for individual in joint_actions:
            ja = int(model.action_space.ravel(individual))
            predicted = np.asarray(model.transition.propagate(beliefs, ja))
            branched, (parent, jo) = _branch(predicted, _joint_observation_likelihoods(model, model.observation, ja))
            new_b.append(branched)
            new_a.append(np.concatenate([actions[parent], np.broadcast_to(individual, (parent.size, 1, n))], axis=1))
            new_o.append(np.concatenate([observations[parent], elements[jo][:, None, :]], axis=1))
        beliefs, actions, observations = np.concatenate(new_b), np.concatenate(new_a), np.concatenate(new_o)
        if beliefs.shape[0] > limit:
            raise InputError(f"more than {limit} joint histories of length {history_length}", source=model.name)
    return JointHistories(actions=actions, observations=observations,
                          posteriors=beliefs / beliefs.sum(axis=1, keepdims=True))


def _branch(beliefs: np.ndarray, likelihoods: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Every (belief, joint observation) with positive probability: new beliefs and their indices."""
    joint = beliefs[:, None, :] * likelihoods[None, :, :]          # [N, JO, S]
    parent, jo = np.nonzero(joint.sum(axis=2) > 0)
    new = joint[parent, jo]
    return new / new.sum(axis=1, keepdims=True), (parent, jo)


# ----- summary --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelFacts:
    """The facts `decdiff inspect` prints (and the theorem checks evaluate)."""

    agents: int
    states: int
    state_dim: int
    action_sizes: tuple[int, ...]
    observation_sizes: tuple[int, ...]
    history_length: int
    factored_observations: bool
    own_action_observations: bool
    per_step_co: bool
    joint_history_co: bool
    reachable_states: int


def model_facts(model: DecPOMDP, history_length: int) -> ModelFacts:
    return ModelFacts(
        agents=model.n_agents,
        states=model.n_states,
        state_dim=model.state_dim,
        action_sizes=model.action_sizes,
        observation_sizes=model.observation_sizes,
        history_length=history_length,
        factored_observations=observations_factored(model),
        own_action_observations=observations_own_action(model),
        per_step_co=per_step_co(model),
        joint_history_co=joint_history_co(model, history_length),
        reachable_states=int(reachable_states(model).sum()),
    )
