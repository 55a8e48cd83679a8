"""Writing models as .dpomdp text and reading them back gives the same model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from decdiff import InputError
from decdiff.implementations.models.dpomdp_model import load_bundled, model_from_dpomdp
from decdiff.implementations.models.dpomdp_parser import parse_dpomdp
from decdiff.implementations.models.dpomdp_writer import (
    dpomdp_text,
    joint_observation_table,
)
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models


def _dense(matrix):
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def _assert_same(a, b):
    assert a.n_agents == b.n_agents and a.action_sizes == b.action_sizes
    assert a.observation_sizes == b.observation_sizes
    np.testing.assert_array_equal(a.initial, b.initial)
    for ja in range(a.n_joint_actions):
        np.testing.assert_array_equal(_dense(a.transition.matrix(ja)), _dense(b.transition.matrix(ja)))
    np.testing.assert_array_equal(joint_observation_table(a), joint_observation_table(b))


@given(model=models(max_agents=3, max_states=4, max_actions=2, max_observations=3, initial_observation=False))
def test_random_models_round_trip_exactly(model):
    _assert_same(model, model_from_dpomdp(parse_dpomdp(dpomdp_text(model)), "copy"))


@pytest.mark.parametrize("name", ["dectiger", "broadcastChannel", "recycling"])
def test_benchmarks_round_trip_with_rewards(name):
    original = load_bundled(name)
    copy = model_from_dpomdp(parse_dpomdp(dpomdp_text(original)), "copy")
    _assert_same(original, copy)
    states = np.repeat(np.arange(original.n_states), original.n_joint_actions)
    actions = np.tile(original.action_space.all_elements(), (original.n_states, 1))
    np.testing.assert_array_equal(original.reward(states, actions), copy.reward(states, actions))


def test_models_with_an_initial_observation_are_refused():
    with pytest.raises(InputError, match="t = 0"):
        dpomdp_text(sensor_ring())
