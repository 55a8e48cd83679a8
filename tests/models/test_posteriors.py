"""Exact posteriors against brute-force enumeration of all trajectories (random small models)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from bruteforce import enumerate_posteriors
from hypothesis import given, settings
from hypothesis import strategies as st

from decdiff import InputError
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models
from decdiff.implementations.policies import HistoryPolicy, StationaryPolicy
from decdiff.tolerances import posterior_agreement


def _random_stationary(model, seed: int) -> StationaryPolicy:
    rng = np.random.default_rng(seed)
    probs = []
    for k in model.action_sizes:
        w = rng.random(k) + 0.05
        probs.append(w / w.sum())
    return StationaryPolicy(tuple(probs))


def _last_observation_policy(model) -> HistoryPolicy:
    """Agent i favours action (last own observation) mod |A_i|: a history-dependent policy."""

    def fn(agent, actions, observations):
        k = model.action_sizes[agent]
        probs = np.full(k, 0.3 / k)
        favourite = int(observations[-1]) % k if len(observations) else 0
        probs[favourite] += 0.7
        return probs

    return HistoryPolicy(fn)


def _normalised(v: np.ndarray) -> np.ndarray:
    return v / v.sum()


def _check_against_bruteforce(model, n_steps: int, policy) -> None:
    joint, individual = enumerate_posteriors(model, n_steps, policy)
    tol = posterior_agreement(n_steps + 1, model.n_states)
    for (acts, obs), unnormalised in joint.items():
        if unnormalised.sum() <= 0:
            continue
        got = model.joint_posterior(np.array(acts, dtype=np.int64).reshape(n_steps, model.n_agents),
                                    np.array(obs, dtype=np.int64).reshape(-1, model.n_agents))
        np.testing.assert_allclose(got, _normalised(unnormalised), atol=tol, rtol=0)
    by_agent: dict[int, list] = {}
    for (agent, acts, obs), unnormalised in individual.items():
        if unnormalised.sum() > 0:
            by_agent.setdefault(agent, []).append((acts, obs, _normalised(unnormalised)))
    for agent, rows in by_agent.items():
        acts = np.array([r[0] for r in rows], dtype=np.int64).reshape(len(rows), n_steps)
        obs = np.array([r[1] for r in rows], dtype=np.int64).reshape(len(rows), -1)
        expected = np.stack([r[2] for r in rows])
        got = model.individual_posterior(agent, acts, obs, policy=policy)
        np.testing.assert_allclose(got, expected, atol=tol, rtol=0)
        if isinstance(policy, StationaryPolicy):
            from decdiff.implementations.posteriors import individual_posterior

            enumerated = individual_posterior(model, agent, acts, obs, policy=policy, method="enumerate")
            np.testing.assert_allclose(enumerated, expected, atol=tol, rtol=0)


#: Every combination of the structural switches, so that each code path of the filters
#: (separable or not, factored or joint, with or without a t = 0 observation) is exercised.
STRUCTURES = [dict(zip(("factored", "static", "action_transition", "action_observation", "initial_observation"), c))
              for c in itertools.product([False, True], repeat=5)]


@pytest.mark.parametrize("structure", STRUCTURES, ids=lambda s: "-".join(k for k, v in s.items() if v) or "plain")
@settings(max_examples=6)
@given(data=st.data(), n_steps=st.integers(0, 2), policy_seed=st.integers(0, 100))
def test_stationary_policy_posteriors_match_bruteforce(structure, data, n_steps, policy_seed):
    model = data.draw(models(max_agents=2, max_states=3, max_actions=2, max_observations=2, **structure))
    if model.has_initial_observation and n_steps == 0:
        n_steps = 1
    _check_against_bruteforce(model, n_steps, _random_stationary(model, policy_seed))


@given(model=models(max_agents=2, max_states=3, max_actions=2, max_observations=2), n_steps=st.integers(1, 2))
def test_history_policy_posteriors_match_bruteforce(model, n_steps):
    _check_against_bruteforce(model, n_steps, _last_observation_policy(model))


@given(model=models(max_agents=3, max_states=2, max_actions=2, max_observations=2, agents=3),
       n_steps=st.integers(1, 2))
def test_three_agent_posteriors_match_bruteforce(model, n_steps):
    _check_against_bruteforce(model, n_steps, StationaryPolicy.uniform(model))


def test_sensor_ring_matches_paper_table():
    """docs/claims.md#experiments: posteriors of the 2x2 example, target in area 1, length-1 histories."""
    ring, noisy = sensor_ring(), sensor_ring(noisy=True)
    none = np.zeros(0, dtype=np.int64)
    co_obs = [0b10, 0b01, 0b00, 0b00]
    expected_co = [[1, 0, 0, 0], [1, 0, 0, 0], [0.5, 0, 0, 0.5], [0.5, 0.5, 0, 0]]
    for i in range(4):
        np.testing.assert_allclose(ring.individual_posterior(i, none, np.array([co_obs[i]])), expected_co[i],
                                   atol=1e-15)
    np.testing.assert_allclose(ring.joint_posterior(np.zeros((0, 4), int), np.array([co_obs])), [1, 0, 0, 0])
    expected_noisy = [[1 / 6, 1 / 6, 1 / 3, 1 / 3], [0.2, 0.4, 0.4, 0], [0.4, 0.2, 0, 0.4], [0.5, 0.5, 0, 0]]
    for i in range(4):
        np.testing.assert_allclose(noisy.individual_posterior(i, none, np.array([0])), expected_noisy[i],
                                   atol=1e-15)
    np.testing.assert_allclose(noisy.joint_posterior(np.zeros((0, 4), int), np.zeros((1, 4), int)),
                               [0.5, 0.5, 0, 0], atol=1e-15)


def test_impossible_history_is_refused():
    ring = sensor_ring()
    # agents 1 and 2 both see a target, in areas that only one target cannot occupy at once
    with pytest.raises(InputError, match="probability zero"):
        ring.joint_posterior(np.zeros((0, 4), int), np.array([[0b01, 0b01, 0b00, 0b00]]))


@pytest.mark.parametrize("actions, observations, match", [
    (np.zeros((1, 4), int), np.zeros((1, 4), int), "observation steps"),
    (np.zeros((0, 4), int), np.full((1, 4), 7), "out of range"),
    (np.zeros((0, 3), int), np.zeros((1, 3), int), "one column per agent"),
    (np.zeros((0, 4)), np.zeros((1, 4)), "integer"),
])
def test_malformed_joint_histories_are_refused(actions, observations, match):
    with pytest.raises(InputError, match=match):
        sensor_ring().joint_posterior(actions, observations)


def test_history_policy_needs_enumeration_for_the_filter():
    ring = sensor_ring()
    with pytest.raises(InputError, match="stationary"):
        from decdiff.implementations.posteriors import individual_posterior

        individual_posterior(ring, 0, np.zeros(0, int), np.array([0]), policy=_last_observation_policy(ring),
                             method="filter")
