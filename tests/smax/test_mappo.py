"""The project's MAPPO: it beats the random policy on a tiny budget, and a seed fixes its parameters."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("jaxmarl")

import jax  # noqa: E402

from decdiff.implementations.smax.collect import RolloutSpec, rollout, trained_policy  # noqa: E402
from decdiff.implementations.smax.env import smax_env  # noqa: E402
from decdiff.implementations.smax.mappo import train_mappo  # noqa: E402
from decdiff.tolerances import TEST_INTERVAL_CONFIDENCE  # noqa: E402


def test_mappo_beats_the_random_policy(tiny_section, tiny_config, smax_cache):
    """Episode returns (team reward: damage dealt plus the win bonus) of the QUICK MAPPO (65K steps) against
    uniformly random actions on the same seeds: the Welch interval of the difference lies above 0."""
    env = smax_env(tiny_config.base_env)
    params, record = trained_policy(env, replace(tiny_config.mappo, seed=0), smax_cache)
    spec = RolloutSpec(tiny_config.base_env, None, n_envs=8, steps=100, chunks=8, seed=21)
    trained, random = rollout(env, params, spec).episode_returns(), rollout(env, None, spec).episode_returns()
    assert trained.size > 50 and random.size > 50
    diff = trained.mean() - random.mean()
    se = math.sqrt(trained.var(ddof=1) / trained.size + random.var(ddof=1) / random.size)
    z = stats.norm.ppf(0.5 + TEST_INTERVAL_CONFIDENCE / 2)
    print(f"\nmean episode return: MAPPO {trained.mean():.3f} ({trained.size} episodes), random "
          f"{random.mean():.3f} ({random.size}); final training win rate {record['final_win_rate']:.3f}")
    assert diff - z * se > 0


def test_mappo_is_reproducible(tiny_section, tiny_config, smax_cache):
    """Training again with the same seed gives the cached parameters exactly (and the same record)."""
    env = smax_env(tiny_config.base_env)
    config = replace(tiny_config.mappo, seed=0)
    cached, record = trained_policy(env, config, smax_cache)
    again, record_again = train_mappo(env, config)
    for a, b in zip(jax.tree.leaves(cached), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)
    assert record_again.returns == pytest.approx(record["returns"], nan_ok=True, rel=0, abs=0)
