"""Exact posteriors over the current state, batched over histories, in float64.

* Joint posterior (policy-independent Bayes filter over the joint history):

      b_0(s) ∝ mu_0(s) O_0(jo_0 | s)                     (if the model observes at t = 0)
      b_{k+1}(s') ∝ sum_s b_k(s) T(s' | s, ja_k) O(jo_{k+1} | ja_k, s')

* Individual posterior p(s_t | tau_i) for agent i's own history, marginalising the
  other agents' actions and observations under the behaviour policy:

  - stationary policies, by a forward filter on agent i's history alone:

        alpha_{k+1}(s') ∝ sum_{a_-i} pi_-i(a_-i) sum_s alpha_k(s) T(s' | s, (a_i, a_-i))
                           O_i(o_i | (a_i, a_-i), s'),

    with O_i the marginal of the joint observation over the others' observations
    (agent i's own action probability is a constant factor and cancels);
  - history-dependent policies, by exact enumeration of the others' histories (the
    filter runs over pairs (s, tau_-i)), for small horizons.

Each step is normalised, so beliefs never underflow; zeros stay exact zeros. A history
of probability zero under the model is refused with `InputError` naming the row and step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

from decdiff.errors import InputError
from decdiff.implementations.policies import (
    HistoryPolicy,
    Policy,
    StationaryPolicy,
    resolve_policy,
)

if TYPE_CHECKING:
    from decdiff.implementations.models.decpomdp import DecPOMDP
    from decdiff.implementations.models.tables import Matrix, Transition

#: Exact enumeration of the other agents' histories stops beyond this many live branches.
MAX_ENUMERATED_BRANCHES = 200_000


# ----- input handling ------------------------------------------------------------------------
def _as_batch(model: DecPOMDP, actions: np.ndarray, observations: np.ndarray, *,
              joint: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate a (batch of) history/histories; return ``[B, t(, n)]`` arrays and whether it was batched."""
    actions = np.asarray(actions)
    observations = np.asarray(observations)
    single_ndim = 2 if joint else 1
    batched = actions.ndim == single_ndim + 1
    if not batched:
        actions, observations = actions[None], observations[None]
    if actions.ndim != single_ndim + 1 or observations.ndim != single_ndim + 1:
        raise InputError(f"expected arrays of {single_ndim} (or {single_ndim + 1} when batched) dimensions, "
                         f"got actions {actions.shape} and observations {observations.shape}", field="history")
    if actions.size and not np.issubdtype(actions.dtype, np.integer):
        raise InputError(f"actions must be integer indices, got dtype {actions.dtype}", field="actions")
    if observations.size and not np.issubdtype(observations.dtype, np.integer):
        raise InputError(f"observations must be integer indices, got dtype {observations.dtype}", field="observations")
    t = actions.shape[1]
    expected = t + 1 if model.has_initial_observation else t
    if observations.shape[0] != actions.shape[0] or observations.shape[1] != expected:
        raise InputError(f"{t} action steps need {expected} observation steps for {model.name}, got "
                         f"observations of shape {observations.shape[1:]}", field="observations")
    if joint and (actions.shape[2] != model.n_agents or observations.shape[2] != model.n_agents):
        raise InputError(f"joint histories need one column per agent ({model.n_agents})", field="history")
    return actions.astype(np.int64, copy=False), observations.astype(np.int64, copy=False), batched


def _check_range(values: np.ndarray, sizes: tuple[int, ...] | int, what: str) -> None:
    bound = np.asarray(sizes)
    if values.size and (np.any(values < 0) or np.any(values >= bound)):
        raise InputError(f"index out of range (sizes {sizes})", field=what)


def _normalise(alpha: np.ndarray, step: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of `alpha` divided by their sums; a zero row is an impossible history (``rows`` maps
    row positions to the caller's history indices when the batch was deduplicated)."""
    total = alpha.sum(axis=1, keepdims=True)
    zero = np.flatnonzero(total[:, 0] <= 0)
    if zero.size:
        history = zero[0] if rows is None else rows[zero[0]]
        raise InputError(f"history {history} has probability zero under the model at step {step}", field="history")
    return alpha / total


def _propagate(matrix: Matrix, alpha: np.ndarray) -> np.ndarray:
    """``alpha @ matrix`` for a dense or sparse matrix."""
    if sp.issparse(matrix):
        return np.asarray((matrix.T @ alpha.T).T)
    return alpha @ matrix


def _propagate_grouped(transition: Transition, alpha: np.ndarray, joint_actions: np.ndarray | None) -> np.ndarray:
    """``alpha[b] @ T[ja_b]`` for every row, one matrix product per distinct joint action."""
    if transition.action_independent:
        return _propagate(transition.matrices[0], alpha)
    out = np.empty_like(alpha)
    for ja in np.unique(joint_actions):
        rows = joint_actions == ja
        out[rows] = _propagate(transition.matrices[int(ja)], alpha[rows])
    return out


# ----- joint posterior -------------------------------------------------------------------------
def joint_posterior(model: DecPOMDP, actions: np.ndarray, observations: np.ndarray) -> np.ndarray:
    """p(s_t | joint history) for ``actions [(B,) t, n]``, ``observations [(B,) t(+1), n]``."""
    actions, observations, batched = _as_batch(model, actions, observations, joint=True)
    _check_range(actions, model.action_sizes, "actions")
    _check_range(observations, model.observation_sizes, "observations")
    batch = actions.shape[0]
    alpha = np.broadcast_to(model.initial, (batch, model.n_states)).copy()
    if model.initial_observation is not None:
        alpha *= model.initial_observation.likelihood(None, observations[:, 0], model.action_space)
        observations = observations[:, 1:]
        alpha = _normalise(alpha, 0)
    for k in range(actions.shape[1]):
        ja = model.action_space.ravel(actions[:, k]) if model.uses_joint_action else None
        alpha = _propagate_grouped(model.transition, alpha, ja)
        alpha *= model.observation.likelihood(ja, observations[:, k], model.action_space)
        alpha = _normalise(alpha, k + 1)
    return alpha if batched else alpha[0]


# ----- individual posterior: forward filter (stationary policies) -------------------------------
class _AgentKernel:
    """Agent i's one-step kernel with the others' actions summed out under a stationary policy.

    When the observation marginal does not depend on the others' actions, or the
    transition ignores actions altogether, the sum separates into an effective
    transition ``Tbar(a_i)`` and an effective likelihood ``Lbar(a_i)``:
    ``alpha' = (alpha @ Tbar(a_i)) * Lbar(a_i)[:, o_i]``. Otherwise every joint action
    is summed explicitly.
    """

    def __init__(self, model: DecPOMDP, agent: int, policy: StationaryPolicy) -> None:
        self.model = model
        self.agent = agent
        self.marginal, self.dependence = model.observation.agent_marginal(agent)
        self.separable = self.dependence != "joint" or model.transition.action_independent
        if self.separable and model.transition.action_independent and self.dependence != "joint":
            # Nothing depends on the others' actions: their joint space (4**24 for 25 sensors) is never built.
            self.t_bar, self.l_bar = [model.transition.matrices[0]], self.marginal
            return
        combos, probs = policy.others_distribution(model, agent)
        keep = probs > 0
        self.others, self.others_prob = combos[keep], probs[keep]
        if self.separable:
            self._build_separable()

    def joint_actions(self, own_action: int) -> np.ndarray:
        combos = self.others.copy()
        combos[:, self.agent] = own_action
        return self.model.action_space.ravel(combos)

    def _build_separable(self) -> None:
        model, a_count = self.model, self.model.action_sizes[self.agent]
        transition = model.transition
        if transition.action_independent:
            self.t_bar: list[Matrix] = [transition.matrices[0]]
        else:
            self.t_bar = [_weighted_sum([transition.matrices[int(ja)] for ja in self.joint_actions(a)],
                                        self.others_prob) for a in range(a_count)]
        if self.dependence == "joint":
            self.l_bar = np.stack([np.tensordot(self.others_prob, self.marginal[self.joint_actions(a)], axes=1)
                                   for a in range(a_count)])
        else:
            self.l_bar = self.marginal

    @property
    def ignores_own_action(self) -> bool:
        """Whether neither the effective transition nor the likelihood depends on agent i's action."""
        return self.separable and len(self.t_bar) == 1 and self.dependence == "none"

    def step(self, alpha: np.ndarray, own_actions: np.ndarray, own_observations: np.ndarray) -> np.ndarray:
        if self.ignores_own_action:
            return self._step_group(alpha, 0, own_observations)
        out = np.empty_like(alpha)
        for a in np.unique(own_actions):
            rows = own_actions == a
            out[rows] = self._step_group(alpha[rows], int(a), own_observations[rows])
        return out

    def _step_group(self, alpha: np.ndarray, a: int, obs: np.ndarray) -> np.ndarray:
        if self.separable:
            t_bar = self.t_bar[0 if len(self.t_bar) == 1 else a]
            k = 0 if self.dependence == "none" else a
            return _propagate(t_bar, alpha) * self.l_bar[k][:, obs].T
        result = np.zeros_like(alpha)
        for ja, w in zip(self.joint_actions(a), self.others_prob):
            result += w * _propagate(self.model.transition.matrices[int(ja)], alpha) * self.marginal[ja][:, obs].T
        return result


def _weighted_sum(matrices: list[Matrix], weights: np.ndarray) -> Matrix:
    total = matrices[0] * weights[0]
    for m, w in zip(matrices[1:], weights[1:]):
        total = total + m * w
    return sp.csr_array(total) if sp.issparse(total) else total


def _initial_alpha(model: DecPOMDP, agent: int, observations: np.ndarray,
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """alpha_0 and the observations still to process."""
    alpha = np.broadcast_to(model.initial, (observations.shape[0], model.n_states)).copy()
    if model.initial_observation is None:
        return alpha, observations
    marginal, _ = model.initial_observation.agent_marginal(agent)
    alpha *= marginal[0][:, observations[:, 0]].T
    return _normalise(alpha, 0, rows), observations[:, 1:]


def _filter_individual(model: DecPOMDP, agent: int, actions: np.ndarray, observations: np.ndarray,
                       policy: StationaryPolicy) -> np.ndarray:
    """The forward filter, run once per distinct history.

    Histories are deduplicated first, on the observations alone when agent i's actions
    change neither the effective transition nor the likelihood (sampled sensor histories
    repeat a lot: 10,000 of length 5 hold a few hundred distinct observation sequences).
    """
    kernel = _AgentKernel(model, agent, policy)
    key = observations if kernel.ignores_own_action else np.concatenate([actions, observations], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    actions, observations = actions[first], observations[first]
    alpha, observations = _initial_alpha(model, agent, observations, first)
    for k in range(actions.shape[1]):
        alpha = _normalise(kernel.step(alpha, actions[:, k], observations[:, k]), k + 1, first)
    return alpha[inverse.reshape(-1)]


# ----- individual posterior: exact enumeration of the others' histories ---------------------------
def _others_action_probs(model: DecPOMDP, policy: Policy, agent: int, key: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Joint distribution of the others' next actions given their histories in `key`."""
    per_agent = []
    for j in range(model.n_agents):
        if j == agent:
            per_agent.append(np.ones(1))
        elif isinstance(policy, HistoryPolicy):
            acts, obs = key[j]
            per_agent.append(policy.probabilities(model, j, np.array(acts, dtype=np.int64), np.array(obs, dtype=np.int64)))
        else:
            per_agent.append(policy.per_agent[j])
    sizes = [p.size for p in per_agent]
    combos = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=-1)
    probs = np.ones(combos.shape[0])
    for j, p in enumerate(per_agent):
        probs *= p[combos[:, j]]
    return combos[probs > 0], probs[probs > 0]


def _others_observations(model: DecPOMDP, agent: int, own_obs: int) -> np.ndarray:
    """Every joint observation whose agent-i entry is `own_obs`: ``[M, n]``."""
    sizes = [1 if j == agent else k for j, k in enumerate(model.observation_sizes)]
    combos = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=-1)
    combos[:, agent] = own_obs
    return combos


def _extend(key: tuple, agent: int, actions: np.ndarray | None, observations: np.ndarray) -> tuple:
    return tuple(
        part if j == agent else (part[0] + (() if actions is None else (int(actions[j]),)),
                                 part[1] + (int(observations[j]),))
        for j, part in enumerate(key))


def _enumerate_individual_one(model: DecPOMDP, agent: int, actions: np.ndarray, observations: np.ndarray,
                              policy: Policy, row: int) -> np.ndarray:
    """p(s_t | tau_i) for one history by a filter over (s, others' histories)."""
    empty = tuple(((), ()) for _ in range(model.n_agents))
    branches: dict[tuple, np.ndarray] = {}
    obs_index = 0
    if model.initial_observation is None:
        branches[empty] = model.initial.copy()
    else:
        joint_obs = _others_observations(model, agent, int(observations[0]))
        likelihood = model.initial_observation.likelihood(None, joint_obs, model.action_space)
        for jo, lik in zip(joint_obs, likelihood):
            alpha = model.initial * lik
            if alpha.sum() > 0:
                key = _extend(empty, agent, None, jo)
                branches[key] = branches.get(key, 0) + alpha
        obs_index = 1
    own_history = ([], [int(o) for o in observations[:obs_index]])
    for k, a in enumerate(actions):
        _check_own_action(model, policy, agent, own_history, int(a), row, k)
        joint_obs = _others_observations(model, agent, int(observations[obs_index + k]))
        new: dict[tuple, np.ndarray] = {}
        for key, alpha in branches.items():
            combos, probs = _others_action_probs(model, policy, agent, key)
            combos[:, agent] = a
            for ja_individual, p in zip(combos, probs):
                ja = int(model.action_space.ravel(ja_individual))
                predicted = p * _propagate(model.transition.matrix(ja), alpha[None])[0]
                likelihood = model.observation.likelihood(np.full(len(joint_obs), ja), joint_obs, model.action_space)
                for jo, lik in zip(joint_obs, likelihood):
                    nxt = predicted * lik
                    if nxt.sum() > 0:
                        new_key = _extend(key, agent, ja_individual, jo)
                        new[new_key] = new.get(new_key, 0) + nxt
        if len(new) > MAX_ENUMERATED_BRANCHES:
            raise InputError(f"exact enumeration needs more than {MAX_ENUMERATED_BRANCHES} branches "
                             f"at step {k + 1}; use a shorter history or a stationary policy", field="history")
        branches = new
        own_history[0].append(int(a))
        own_history[1].append(int(observations[obs_index + k]))
    if not branches:
        raise InputError(f"history {row} has probability zero under the model", field="history")
    total = sum(branches.values())
    return total / total.sum()


def _check_own_action(model: DecPOMDP, policy: Policy, agent: int, own_history: tuple[list, list], action: int,
                      row: int, step: int) -> None:
    """A history whose own action has probability zero under the policy is impossible."""
    if isinstance(policy, HistoryPolicy):
        probs = policy.probabilities(model, agent, np.array(own_history[0], dtype=np.int64),
                                     np.array(own_history[1], dtype=np.int64))
    else:
        probs = policy.per_agent[agent]
    if probs[action] <= 0:
        raise InputError(f"history {row} takes action {action} at step {step}, which the policy never takes",
                         field="history")


# ----- public entry point --------------------------------------------------------------------------
def individual_posterior(model: DecPOMDP, agent: int, actions: np.ndarray, observations: np.ndarray,
                         policy: Policy | None = None,
                         method: Literal["auto", "filter", "enumerate"] = "auto") -> np.ndarray:
    """p(s_t | tau_i) for agent i's own ``actions [(B,) t]`` and ``observations [(B,) t(+1)]``.

    ``method="filter"`` needs a stationary policy; ``"enumerate"`` works for any policy
    but grows exponentially with the horizon; ``"auto"`` picks the filter when it applies.
    """
    if not 0 <= agent < model.n_agents:
        raise InputError(f"agent {agent} does not exist ({model.n_agents} agents)", field="agent")
    policy = resolve_policy(model, policy)
    actions, observations, batched = _as_batch(model, actions, observations, joint=False)
    _check_range(actions, model.action_sizes[agent], "actions")
    _check_range(observations, model.observation_sizes[agent], "observations")
    use_filter = method == "filter" or (method == "auto" and isinstance(policy, StationaryPolicy))
    if use_filter:
        if not isinstance(policy, StationaryPolicy):
            raise InputError("the forward filter needs a stationary policy; use method='enumerate'", field="policy")
        if np.any(policy.per_agent[agent][actions] <= 0):
            raise InputError("a history takes an action that the policy never takes", field="history")
        result = _filter_individual(model, agent, actions, observations, policy)
    else:
        result = np.stack([_enumerate_individual_one(model, agent, actions[b], observations[b], policy, b)
                           for b in range(actions.shape[0])])
    return result if batched else result[0]
