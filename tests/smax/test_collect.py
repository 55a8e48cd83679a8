"""Rollouts, (history, state) pairs, their cache, and seeded reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jaxmarl")

from decdiff.errors import InputError  # noqa: E402
from decdiff.implementations.smax import collect  # noqa: E402
from decdiff.implementations.smax.cache import (  # noqa: E402
    entry_paths,
    load_cached,
    save_cached,
    settings_key,
)
from decdiff.implementations.smax.collect import (  # noqa: E402
    JointPairs,
    Rollout,
    RolloutSpec,
    history_pairs,
    split_episodes,
)
from decdiff.implementations.smax.env import smax_env  # noqa: E402
from decdiff.implementations.smax.settings import EnvSettings  # noqa: E402

BASE = EnvSettings()


def _synthetic(first: list[bool]) -> Rollout:
    """One environment, 2 agents, 3 observation numbers, 4 actions; observation value = 10 t + agent + 1."""
    t = len(first)
    steps = np.arange(t)[None, :, None, None]
    obs = (10 * steps + np.arange(2)[None, None, :, None] + 1 + np.zeros((1, t, 2, 3))).astype(np.float32)
    actions = ((steps[..., 0] + np.arange(2)[None, None, :]) % 4).astype(np.int8)
    flags = np.asarray([first])
    zeros = np.zeros((1, t), dtype=np.float32)
    return Rollout(obs=obs, actions=actions, states=np.tile(np.arange(t, dtype=np.float32)[None, :, None], (1, 1, 2)),
                   first=flags, reward=zeros, done=np.roll(flags, -1, axis=1), won=np.zeros((1, t), dtype=bool))


def test_history_features_follow_the_tabular_layout():
    data = _synthetic([True, False, False, True, False, False])
    pairs = history_pairs(data, history_length=2, n_actions=4)
    assert pairs.features.shape == (6, 2, 2 + 2 * (3 + 4))
    f = pairs.features
    np.testing.assert_array_equal(f[:, 1, :2], np.tile([0.0, 1.0], (6, 1)))          # one-hot agent id
    slot = lambda row, agent, k: f[row, agent, 2 + 7 * k:2 + 7 * (k + 1)]             # noqa: E731
    # t = 3 opens an episode: its last slot holds o_3 and no action, the slot before is empty
    np.testing.assert_array_equal(slot(3, 0, 1), [31, 31, 31, 0, 0, 0, 0])
    np.testing.assert_array_equal(slot(3, 0, 0), np.zeros(7))
    # t = 4: o_4 with the action a_3 = 3 that led to it; before it o_3 with no action
    np.testing.assert_array_equal(slot(4, 1, 1), [42, 42, 42, 1, 0, 0, 0])             # agent 1: a_3 = (3 + 1) % 4
    np.testing.assert_array_equal(slot(4, 0, 1), [41, 41, 41, 0, 0, 0, 1])
    np.testing.assert_array_equal(slot(4, 0, 0), [31, 31, 31, 0, 0, 0, 0])
    # t = 2: o_2 with a_1, o_1 with a_0 (same episode)
    np.testing.assert_array_equal(slot(2, 0, 0), [11, 11, 11, 1, 0, 0, 0])
    np.testing.assert_array_equal(pairs.states[:, 0], np.arange(6))
    assert len(set(pairs.episodes[:3])) == 1 and pairs.episodes[3] != pairs.episodes[2]
    with pytest.raises(InputError):
        history_pairs(data, 2, 4, count=7)


def test_split_by_episode_keeps_episodes_whole():
    pairs = JointPairs(np.zeros((12, 2, 3), np.float32), np.zeros((12, 4), np.float32), np.repeat(np.arange(6), 2))
    train, val = split_episodes(pairs, 0.3, seed=1)
    assert len(train) + len(val) == 12 and len(val) == 4
    assert not set(train.episodes) & set(val.episodes)


def test_cache_round_trip_and_key_sensitivity(tmp_path):
    settings = {"env": BASE.to_json(), "seed": 1, "sizes": (2, 3)}
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False])}
    assert load_cached(tmp_path, "kind", settings) is None
    save_cached(tmp_path, "kind", settings, arrays, {"note": 1})
    loaded, info = load_cached(tmp_path, "kind", settings)
    assert info == {"note": 1} and set(loaded) == {"a", "b"}
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype
    changed = {**settings, "seed": 2}
    assert settings_key(changed) != settings_key(settings) and load_cached(tmp_path, "kind", changed) is None
    # a JSON whose stored settings differ (a collision or a foreign file) is not used
    _, info_path = entry_paths(tmp_path, "kind", settings)
    info_path.write_text(json.dumps({"settings": changed, "info": {}}))
    assert load_cached(tmp_path, "kind", settings) is None


def test_rollouts_are_seeded_and_cached(tmp_path, monkeypatch):
    env = smax_env(BASE)
    spec = RolloutSpec(BASE, None, n_envs=8, steps=100, chunks=1, seed=4)
    a, b = collect.rollout(env, None, spec), collect.rollout(env, None, spec)
    other = collect.rollout(env, None, RolloutSpec(BASE, None, 8, 100, 1, seed=5))
    for name in ("obs", "actions", "states", "first", "reward", "done", "won"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.states, other.states)
    first, info = collect.cached_rollout(spec, tmp_path)
    assert info["policy"] == "uniformly random" and info["episodes"]["episodes"] == int(a.done.sum())
    monkeypatch.setattr(collect, "rollout", lambda *args: pytest.fail("the cached rollout was simulated again"))
    again, info_again = collect.cached_rollout(spec, tmp_path)
    np.testing.assert_array_equal(again.obs, a.obs)
    assert info_again == info
    assert RolloutSpec.for_samples(BASE, None, 801, 8, 100, 0).chunks == 2
