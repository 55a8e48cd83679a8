"""The standard history encoding: decoding the features gives back the history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from decdiff import InputError, agent_histories, history_batch, sample_trajectories
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models


def _decode(features: np.ndarray, encoding, initial_observation: bool):
    """Agent id and the (observation, action) pairs of the last H slots, from features alone."""
    agent = int(np.argmax(features[:encoding.n_agents]))
    slots = features[encoding.n_agents:].reshape(encoding.horizon, encoding.slot_width)
    obs, acts = [], []
    for slot in slots:
        o, a = slot[:encoding.max_observations], slot[encoding.max_observations:]
        if o.any():
            obs.append(int(np.argmax(o)))
            if a.any():
                acts.append(int(np.argmax(a)))
        else:
            assert not a.any()
    return agent, acts, obs


@given(model=models(max_agents=3, max_states=3, max_actions=3, max_observations=3),
       history_length=st.integers(1, 4), seed=st.integers(0, 100))
def test_features_round_trip(model, history_length, seed):
    traj = sample_trajectories(model, history_length, 5, seed=seed)
    batch = agent_histories(model, traj)
    assert batch.features.shape == (5 * model.n_agents, batch.encoding.dim)
    assert np.all(batch.features.numpy().sum(axis=1) ==
                  1 + history_length + (history_length - 1 if model.has_initial_observation else history_length))
    for row in range(len(batch)):
        agent, acts, obs = _decode(batch.features[row].numpy(), batch.encoding, model.has_initial_observation)
        assert agent == int(batch.agents[row])
        assert obs == batch.observations[row].tolist() and acts == batch.actions[row].tolist()


def test_short_histories_are_padded_at_the_front():
    ring = sensor_ring()
    batch = history_batch(ring, [0, 1], [[1, -1], [0, 1]], [[3, 2, -1], [1, 2, 3]], lengths=[2, 3], horizon=3)
    slot = batch.encoding.slot_width
    first_slot = batch.features[0, 4:4 + slot]
    assert not first_slot.any()                              # history 0 has 2 observations in 3 slots
    agent, acts, obs = _decode(batch.features[0].numpy(), batch.encoding, True)
    assert (agent, acts, obs) == (0, [1], [3, 2])


def test_bad_agent_ids_and_lengths_are_refused():
    ring = sensor_ring()
    with pytest.raises(InputError, match="agent ids"):
        history_batch(ring, [4], np.zeros((1, 0), int), [[0]])
    with pytest.raises(InputError, match="lengths"):
        history_batch(ring, [0], np.zeros((1, 0), int), [[0]], lengths=[0])
