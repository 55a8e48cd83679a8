"""Sampled trajectories follow the model: empirical frequencies against exact probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from decdiff.implementations.model_facts import reachable_joint_histories
from decdiff.implementations.models.random_models import RandomModelSpec, random_model
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.policies import HistoryPolicy, StationaryPolicy
from decdiff.implementations.sampling import sample_trajectories


def _history_probabilities(model, history_length):
    """Exact probability of every joint history under the uniform policy, by the chain rule."""
    histories = reachable_joint_histories(model, history_length, all_actions=True)
    probs = []
    for acts, obs in zip(histories.actions, histories.observations):
        p, belief = 1.0, model.initial.copy()
        if model.initial_observation is not None:
            lik = model.initial_observation.likelihood(None, obs[:1], model.action_space)[0]
            p *= float(belief @ lik)
            belief = belief * lik / (belief @ lik)
            obs = obs[1:]
        for k in range(len(acts)):
            ja = int(model.action_space.ravel(acts[k]))
            pred = model.transition.propagate(belief[None], ja)[0]
            lik = model.observation.likelihood(np.array([ja]), obs[k:k + 1], model.action_space)[0]
            p *= float(pred @ lik) / model.n_joint_actions
            belief = pred * lik / (pred @ lik)
        probs.append(p)
    return histories, np.array(probs)


@pytest.mark.parametrize("model", [sensor_ring(noisy=True),
                                   random_model(RandomModelSpec(states=3, action_transition=True,
                                                                action_observation=True, factored=False), 4)],
                         ids=["ring-noisy", "random"])
def test_joint_history_frequencies_match_exact_probabilities(model):
    history_length = 2
    histories, probs = _history_probabilities(model, history_length)
    assert abs(probs.sum() - 1.0) < 1e-12
    traj = sample_trajectories(model, history_length, 40_000, seed=1)
    keys = {(a.tobytes(), o.tobytes()): i for i, (a, o) in enumerate(zip(histories.actions, histories.observations))}
    counts = np.zeros(len(keys))
    for a, o in zip(traj.actions, traj.observations):
        counts[keys[(a.tobytes(), o.tobytes())]] += 1       # a KeyError would be an impossible sample
    expected = probs * counts.sum()
    keep = expected >= 5
    chi2 = (((counts - expected) ** 2 / expected)[keep]).sum() + (
        (counts[~keep].sum() - expected[~keep].sum()) ** 2 / max(expected[~keep].sum(), 1e-12))
    assert stats.chi2.sf(chi2, keep.sum()) > 1e-4


def test_states_follow_the_posterior():
    """Given each sampled history, the sampled final state is distributed as the joint posterior."""
    model = sensor_ring(noisy=True)
    traj = sample_trajectories(model, 1, 20_000, seed=3)
    posteriors = model.joint_posterior(traj.actions, traj.observations)
    all_zero = np.all(traj.observations[:, 0] == 0, axis=1)
    freq = np.bincount(traj.states[all_zero, -1], minlength=4) / all_zero.sum()
    np.testing.assert_allclose(posteriors[all_zero][0], [0.5, 0.5, 0, 0])
    assert abs(freq[0] - 0.5) < 4 * np.sqrt(0.25 / all_zero.sum()) and freq[2] == freq[3] == 0


def test_sampling_is_reproducible_and_seed_dependent():
    model = sensor_ring(noisy=True)
    a = sample_trajectories(model, 3, 100, seed=5)
    b = sample_trajectories(model, 3, 100, seed=5)
    c = sample_trajectories(model, 3, 100, seed=6)
    assert np.array_equal(a.states, b.states) and np.array_equal(a.observations, b.observations)
    assert not np.array_equal(a.states, c.states)
    assert a.actions.shape == (100, 2, 4) and a.observations.shape == (100, 3, 4)


def test_policies_shape_the_actions():
    model = sensor_ring()
    always_first = StationaryPolicy(tuple(np.array([1.0, 0.0]) for _ in range(4)))
    assert np.all(sample_trajectories(model, 3, 50, seed=0, policy=always_first).actions == 0)
    copy_bit = HistoryPolicy(lambda i, acts, obs: np.eye(2)[int(obs[-1]) & 1])
    traj = sample_trajectories(model, 3, 50, seed=0, policy=copy_bit)
    assert np.array_equal(traj.actions, traj.observations[:, :-1] & 1)


def test_models_with_more_agents_than_a_joint_index_can_hold_sample_and_filter():
    """8x8 sensors have 4**64 joint actions: sampling and the joint filter must not index them."""
    from decdiff.implementations.models.sensor_networks import sensor_grid

    model = sensor_grid(8, 8, targets=1)
    assert not model.uses_joint_action
    traj = sample_trajectories(model, 3, 4, seed=0)
    posterior = model.joint_posterior(traj.actions, traj.observations)
    # one target, no misses: the joint observation pins the target, so the posterior is a point mass on it
    np.testing.assert_array_equal(posterior.argmax(axis=1), traj.states[:, -1])
    np.testing.assert_allclose(posterior.max(axis=1), 1.0, rtol=0, atol=1e-12)
