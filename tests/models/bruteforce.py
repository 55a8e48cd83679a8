"""Independent reference: posteriors by enumerating every trajectory of a small model.

Nothing here calls the filters under test: a trajectory's probability is the product of
the raw table entries, mu(s_0) O0(o_0|s_0) prod_k pi(a_k|...) T(s_{k+1}|s_k,a_k) O(o_{k+1}|a_k,s_{k+1}),
and a posterior is a sum of such products over the trajectories that match a history.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.tables import FactoredObservation
from decdiff.implementations.policies import HistoryPolicy, StationaryPolicy


def _obs_prob(model: DecPOMDP, observation, individual_actions, state: int, jo: tuple[int, ...]) -> float:
    if isinstance(observation, FactoredObservation):
        p = 1.0
        for i, table in enumerate(observation.tables):
            k = individual_actions[i] if observation.own_action else 0
            p *= table[k, state, jo[i]]
        return p
    k = 0 if observation.table.shape[0] == 1 else int(model.action_space.ravel(np.array(individual_actions)))
    return observation.table[k, state, int(model.observation_space.ravel(np.array(jo)))]


def _transition(model: DecPOMDP, individual_actions, s: int, s_next: int) -> float:
    m = model.transition.matrix(int(model.action_space.ravel(np.array(individual_actions))))
    return float(m[s, s_next])


def _action_prob(model: DecPOMDP, policy, agent: int, actions: list, observations: list, a: int) -> float:
    if isinstance(policy, HistoryPolicy):
        return float(policy.fn(agent, np.array(actions, dtype=np.int64), np.array(observations, dtype=np.int64))[a])
    return float(policy.per_agent[agent][a])


def enumerate_posteriors(model: DecPOMDP, n_steps: int, policy) -> tuple[dict, dict]:
    """(joint, individual) maps from histories to unnormalised vectors over the last state.

    joint: key (actions tuple, observations tuple) of joint individual-index tuples.
    individual: key (agent, own actions tuple, own observations tuple).
    """
    n, S = model.n_agents, model.n_states
    joint_obs = list(itertools.product(*[range(k) for k in model.observation_sizes]))
    joint_act = list(itertools.product(*[range(k) for k in model.action_sizes]))
    joint: dict = defaultdict(lambda: np.zeros(S))
    individual: dict = defaultdict(lambda: np.zeros(S))

    def recurse(prob: float, state: int, acts: list, obs: list) -> None:
        if prob == 0.0:
            return
        if len(acts) == n_steps:
            joint[(tuple(acts), tuple(obs))][state] += prob
            for i in range(n):
                key = (i, tuple(a[i] for a in acts), tuple(o[i] for o in obs))
                individual[key][state] += prob
            return
        for ja in joint_act:
            p_a = 1.0
            for i in range(n):
                p_a *= _action_prob(model, policy, i, [a[i] for a in acts], [o[i] for o in obs], ja[i])
            for s_next in range(S):
                p_t = _transition(model, ja, state, s_next)
                for jo in joint_obs:
                    recurse(prob * p_a * p_t * _obs_prob(model, model.observation, ja, s_next, jo),
                            s_next, acts + [ja], obs + [jo])

    for s0 in range(S):
        if model.initial_observation is None:
            recurse(model.initial[s0], s0, [], [])
        else:
            for jo in joint_obs:
                recurse(model.initial[s0] * _obs_prob(model, model.initial_observation, None, s0, jo), s0, [], [jo])
    return dict(joint), dict(individual)


def default_policy(model: DecPOMDP) -> StationaryPolicy:
    return StationaryPolicy.uniform(model)
