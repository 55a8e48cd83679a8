"""Model facts: the pair-propagation algorithms against direct enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from decdiff.implementations.model_facts import (
    confusable_pairs,
    joint_history_co,
    observation_is_factored,
    observations_factored,
    per_step_co,
    per_step_co_witness,
    reachable_joint_histories,
    reachable_states,
)
from decdiff.implementations.models.random_models import RandomModelSpec, random_model
from decdiff.implementations.models.sensor_networks import sensor_grid, sensor_ring
from decdiff.implementations.models.strategies import models
from decdiff.implementations.models.tables import JointObservation

SMALL = dict(max_agents=2, max_states=4, max_actions=2, max_observations=2)


@given(model=models(**SMALL), history_length=st.integers(1, 3))
def test_confusable_pairs_agree_with_enumerating_histories(model, history_length):
    """(s1, s2) is confusable iff some joint history gives both positive posterior mass."""
    histories = reachable_joint_histories(model, history_length)
    support = (histories.posteriors > 0).astype(float)
    expected = (support.T @ support) > 0
    assert np.array_equal(confusable_pairs(model, history_length), expected)
    largest_support = int(support.sum(axis=1).max())
    assert joint_history_co(model, history_length) == (largest_support == 1)


def _per_step_co_by_enumeration(model) -> bool:
    """Direct definition: no joint observation is possible for two distinct reachable states."""
    elements = model.observation_space.all_elements()
    reached = reachable_states(model)
    if model.initial_observation is not None:
        lik = model.initial_observation.likelihood(None, elements, model.action_space)   # [JO, S]
        support = (lik > 0) & (model.initial > 0)[None, :]
        if np.any(support.sum(axis=1) > 1):
            return False
    for ja in range(model.n_joint_actions):
        successors = (np.asarray(model.transition.support(ja).T @ reached.astype(float)) > 0)
        lik = model.observation.likelihood(np.full(len(elements), ja), elements, model.action_space)
        if np.any(((lik > 0) & successors[None, :]).sum(axis=1) > 1):
            return False
    return True


@given(model=models(**SMALL))
def test_per_step_co_agrees_with_its_definition(model):
    assert per_step_co(model) == _per_step_co_by_enumeration(model)


@given(model=models(**SMALL, static=True, sparsity=0.6))
def test_per_step_co_ignores_unreachable_states(model):
    """Static models with a sparse start have unreachable states, whose observations must not count."""
    assert per_step_co(model) == _per_step_co_by_enumeration(model)


@given(model=models(**SMALL))
def test_reachable_states_agree_with_long_histories(model):
    """A state is reachable iff some history of length S + 1 (or shorter) gives it mass."""
    seen = np.zeros(model.n_states, dtype=bool)
    first = 1 if model.has_initial_observation else 0
    for h in range(first, model.n_states + 2):
        seen |= (reachable_joint_histories(model, h).posteriors > 0).any(axis=0)
    assert np.array_equal(seen, reachable_states(model))


@given(spec_seed=st.integers(0, 1000))
def test_factored_check_detects_correlated_tables(spec_seed):
    factored = random_model(RandomModelSpec(agents=2, states=3, observations=2, factored=True), spec_seed)
    assert observations_factored(factored)
    joint = random_model(RandomModelSpec(agents=2, states=3, observations=2, factored=False, sparsity=0.0),
                         spec_seed)
    table = joint.observation.table
    view = table.reshape(table.shape[:2] + (2, 2))
    product = view.sum(axis=3, keepdims=True) * view.sum(axis=2, keepdims=True)
    assert observations_factored(joint) == bool(np.abs(product - view).max() <= 1e-12)


def test_product_table_written_jointly_is_factored():
    """A joint table that happens to be a product is recognised as factored."""
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(3), size=4), rng.dirichlet(np.ones(2), size=4)
    table = (a[:, :, None] * b[:, None, :]).reshape(1, 4, 6)
    from decdiff.implementations.models.tables import JointSpace

    assert observation_is_factored(JointObservation(table, JointSpace((3, 2))))
    table[0, 0, :2] += [1e-6, -1e-6]
    assert not observation_is_factored(JointObservation(table, JointSpace((3, 2))))


def test_sensor_networks_collective_observability():
    assert per_step_co(sensor_ring()) and joint_history_co(sensor_ring(), 3)
    noisy = sensor_ring(noisy=True)
    witness = per_step_co_witness(noisy)
    assert not per_step_co(noisy)
    assert {witness.state_a, witness.state_b} <= {0, 1}   # only areas 1 and 2 are missed
    assert per_step_co(sensor_grid(3, 3)) and not per_step_co(sensor_grid(3, 3, miss=0.1))


def test_action_free_models_enumerate_one_action_sequence():
    """Sensor networks ignore actions in T and O: all action sequences give the same posteriors."""
    ring = sensor_ring(noisy=True)
    every = reachable_joint_histories(ring, 2, all_actions=True)
    one = reachable_joint_histories(ring, 2)
    assert len(every.posteriors) == 16 * len(one.posteriors)
    assert {p.tobytes() for p in np.round(every.posteriors, 12)} == {p.tobytes() for p in np.round(one.posteriors, 12)}


@pytest.mark.parametrize("history_length", [1, 2])
def test_noisy_ring_joint_histories_enumerated(history_length):
    """sensor-ring-noisy: 9 joint observations at t = 0 have positive probability (docs/claims.md#experiments)."""
    histories = reachable_joint_histories(sensor_ring(noisy=True), history_length)
    if history_length == 1:
        assert len(histories.posteriors) == 9
        all_zero = np.all(histories.observations[:, 0] == 0, axis=1)
        np.testing.assert_allclose(histories.posteriors[all_zero][0], [0.5, 0.5, 0, 0])
    assert np.allclose(histories.posteriors.sum(axis=1), 1.0)
    for combo in itertools.islice(zip(histories.actions, histories.observations, histories.posteriors), 50):
        np.testing.assert_allclose(sensor_ring(noisy=True).joint_posterior(combo[0], combo[1]), combo[2], atol=1e-14)
