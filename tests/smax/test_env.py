"""The SMACv2-like environment: shapes, the normalised state, races and sight ranges."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jaxmarl")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from decdiff.errors import InputError  # noqa: E402
from decdiff.implementations.smax.collect import RolloutSpec, rollout  # noqa: E402
from decdiff.implementations.smax.env import RaceUnitTypes, smax_env  # noqa: E402
from decdiff.implementations.smax.settings import RACES, UNIT_FEATURES, EnvSettings  # noqa: E402

BASE = EnvSettings(race="zerg", sight_range=9.0)


@pytest.fixture(scope="module")
def reset8():
    """(state, obs, avail, normalised state) of 8 environments of the base variant."""
    return smax_env(BASE).reset(jax.random.PRNGKey(11), 8)


@pytest.fixture(scope="module")
def random_rollout():
    """A uniformly random policy on the base variant: 8 chunks of 8 environments x 100 steps."""
    return rollout(smax_env(BASE), None, RolloutSpec(BASE, None, n_envs=8, steps=100, chunks=8, seed=3))


def test_shapes_of_reset_and_rollout(reset8, random_rollout):
    state, obs, avail, s = reset8
    assert obs.shape == (8, 5, 127) and avail.shape == (8, 5, 10) and avail.dtype == jnp.bool_
    assert s.shape == (8, smax_env(BASE).state_dim) and smax_env(BASE).state_dim == 10 * UNIT_FEATURES == 100
    data = random_rollout
    assert data.obs.shape == (64, 100, 5, 127) and data.actions.shape == (64, 100, 5)
    assert data.states.shape == (64, 100, 100) and data.first.shape == data.done.shape == (64, 100)
    assert data.first[:, 0].all()
    np.testing.assert_array_equal(data.first[:, 1:], data.done[:, :-1])      # a finished episode restarts
    assert (data.won <= data.done).all() and data.done.any()


def test_normalised_state_layout(random_rollout):
    units = random_rollout.states.reshape(-1, 10, UNIT_FEATURES)
    assert units.min() >= 0.0 and units.max() <= 1.0
    alive = units[..., 0] > 0
    types = units[..., 4:]
    np.testing.assert_array_equal(types[alive].sum(axis=1), 1.0)             # one unit type per living unit
    assert (units[~alive] == 0).all()                                        # dead units are all zeros
    assert set(np.flatnonzero(types[alive].sum(axis=0))) <= set(RACES["zerg"])
    assert units[alive][:, 1:3].max() > 0.5 and units[alive][:, 1:3].min() < 0.5   # positions span the map
    assert units[..., 3].max() > 0                                           # cooldowns after attacks


def test_normalise_state_against_raw_world_state(reset8):
    env = smax_env(BASE)
    state, _, _, normalised = reset8
    world = np.asarray(jax.vmap(env.env.get_world_state)(state))                  # SMAX's raw [8, 120]
    ours = np.asarray(normalised).reshape(8, 10, UNIT_FEATURES)
    raw = world[:, :100].reshape(8, 10, 10)
    np.testing.assert_allclose(ours[..., 0], raw[..., 0])
    np.testing.assert_allclose(ours[..., 1:3], raw[..., 1:3] / 32.0, rtol=1e-6)
    np.testing.assert_array_equal(ours[..., 4:], raw[..., 4:])
    np.testing.assert_array_equal(np.argmax(ours[..., 4:], axis=2), world[:, 110:120])


@pytest.mark.parametrize("race", sorted(RACES))
def test_race_unit_types(race):
    generator = RaceUnitTypes(5, 5, 32, 32, RACES[race])
    types = np.asarray(jax.vmap(generator.generate)(jax.random.split(jax.random.PRNGKey(0), 200)))
    assert set(np.unique(types)) == set(RACES[race])                          # every type of the race, no other
    np.testing.assert_array_equal(types[:, :5], types[:, 5:])                 # enemies mirror the allies


def test_sight_range_limits_what_agents_see(reset8):
    near = smax_env(EnvSettings(race="zerg", sight_range=5.0))
    assert np.all(np.asarray(near.env._env.unit_type_sight_ranges) == 5.0)
    (_, obs5, _, s5), (_, obs9, _, s9) = near.reset(jax.random.PRNGKey(11), 8), reset8
    np.testing.assert_array_equal(np.asarray(s5), np.asarray(s9))            # same units, same places
    seen5 = np.asarray(obs5)[..., :117].reshape(8, 5, 9, 13)[..., 0] > 0      # health of the units in view
    seen9 = np.asarray(obs9)[..., :117].reshape(8, 5, 9, 13)[..., 0] > 0
    assert (seen5 <= seen9).all() and seen5.sum() < seen9.sum()


def test_bad_settings_are_input_errors():
    with pytest.raises(InputError, match="race"):
        EnvSettings(race="martian").validate()
    with pytest.raises(InputError, match="sight_range"):
        EnvSettings(sight_range=0.0).validate()
