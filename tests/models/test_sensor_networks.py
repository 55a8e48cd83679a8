"""Sensor networks as ARCHITECTURE.md ("Contracts") defines them."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from decdiff import InputError
from decdiff.implementations.models.sensor_networks import sensor_grid, sensor_ring


@pytest.mark.parametrize("rows, cols, states", [(3, 3, 36), (4, 4, 120), (5, 5, 300)])
def test_grid_sizes(rows, cols, states):
    grid = sensor_grid(rows, cols, targets=2)
    assert grid.n_states == states == comb(rows * cols, 2)
    assert grid.n_agents == rows * cols
    assert grid.state_dim == rows * cols
    assert np.all(grid.states.sum(axis=1) == 2)                       # multi-hot, two targets
    assert grid.observation_sizes == (16,) * grid.n_agents


def test_grid_8x8_has_2016_states():
    assert sensor_grid(8, 8).n_states == 2016


def test_every_area_is_watched_by_four_sensors():
    grid = sensor_grid(5, 5, targets=1)
    watched = np.zeros(25, dtype=int)
    for names in grid.action_names:
        assert len(set(names)) == 4
        for name in names:
            watched[grid.state_names.index(name.removeprefix("scan-"))] += 1
    assert np.all(watched == 4)


def test_single_target_motion_rule():
    q = 0.3
    grid = sensor_grid(4, 4, targets=1, move=q)
    t = grid.transition.matrices[0]
    np.testing.assert_allclose(np.diag(t), 1 - q)
    assert np.all(np.count_nonzero(t, axis=1) == 5)                  # stay or one of 4 neighbours
    np.testing.assert_allclose(t[t > 0][t[t > 0] < 1 - q], q / 4)


def test_two_targets_never_share_an_area_and_rows_are_distributions():
    grid = sensor_grid(3, 3, targets=2, move=0.5)
    t = grid.transition.matrices[0]
    np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-15)
    # moves are independent given no collision: compare one entry with the product rule
    names = grid.state_names
    a, b = names.index("r0c0+r1c1"), names.index("r0c1+r1c0")
    stay_probs = {}
    single = sensor_grid(3, 3, targets=1, move=0.5).transition.matrices[0]
    idx = {n: i for i, n in enumerate(sensor_grid(3, 3, targets=1).state_names)}
    m = lambda x, y: single[idx[x], idx[y]]  # noqa: E731
    raw = m("r0c0", "r0c1") * m("r1c1", "r1c0") + m("r0c0", "r1c0") * m("r1c1", "r0c1")
    total = sum(m("r0c0", x) * m("r1c1", y) for x, y in itertools.product(idx, idx) if x != y)
    stay_probs["expected"] = raw / total
    np.testing.assert_allclose(t[a, b], stay_probs["expected"], rtol=1e-13)


def test_presence_bits_and_misses():
    ring = sensor_ring(noisy=True)
    table = ring.observation.tables[0][0]          # agent 1 watches areas 1 and 2
    np.testing.assert_allclose(table[0], [0.5, 0, 0.5, 0])     # target in area 1: "00" or "10"
    np.testing.assert_allclose(table[2], [1, 0, 0, 0])         # target in area 3: unseen
    clean = sensor_ring().observation.tables[1][0]  # agent 2 watches areas 4 and 1
    np.testing.assert_allclose(clean[0], [0, 1, 0, 0])         # target in area 1: bits "01"
    np.testing.assert_allclose(clean[3], [0, 0, 1, 0])         # target in area 4: bits "10"


def test_tracking_reward_needs_two_scanners():
    ring = sensor_ring()
    # agents 1 and 2 both scan area 1 (agent 1's action 0 = area1, agent 2's action 1 = area1)
    assert ring.reward(np.array([0]), np.array([[0, 1, 0, 0]]))[0] == 1
    assert ring.reward(np.array([0]), np.array([[0, 0, 0, 0]]))[0] == 0


@pytest.mark.parametrize("kwargs, field", [({"targets": 10, "rows": 3, "cols": 3}, "targets"),
                                           ({"move": 1.5}, "move"), ({"miss": -0.1}, "miss"),
                                           ({"rows": 1}, "size")])
def test_bad_parameters_are_refused(kwargs, field):
    with pytest.raises(InputError) as info:
        sensor_grid(**kwargs)
    assert info.value.field == field
