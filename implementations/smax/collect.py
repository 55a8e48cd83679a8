"""Data of the SMACv2-like experiments: behaviour policies, rollouts, and (local history, state) pairs.

* `trained_policy`: MAPPO (`decdiff.implementations.smax.mappo`) trained on one environment variant,
  cached (parameters and training record).
* `rollout`: ``n_envs`` environments run for ``steps`` steps under a policy (sampled
  actions; the trained MAPPO policy, or uniformly random over available actions), in one
  ``jax.lax.scan`` over steps of ``jax.vmap``-ed environments. Recorded per step: every
  agent's observation o_t and action a_t, the normalised state s_t, whether o_t opens an
  episode, and the team reward, end and win of the step. Cached per `RolloutSpec`.
* `history_pairs`: for history length H, every (environment, step) row gives one joint
  sample: the normalised state s_t and each agent's local history tau_i, encoded like the
  tabular histories (`decdiff.implementations.histories`):

      tau_i = [ one-hot(i) | slot_1 | ... | slot_H ],  slot = [ o (127) | one-hot(action that led to o) (10) ],

  the last observation o_t in the last slot, slots before the episode's start zero (so
  is the action slot of an episode's first observation). Rows are environment-major.

The pairs are not cached themselves: they follow from the cached rollout and H
deterministically, so one rollout serves every history length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.smax.cache import load_cached, save_cached
from decdiff.implementations.smax.env import SmaxEnv, smax_env
from decdiff.implementations.smax.mappo import Params, act, init_params, train_mappo
from decdiff.implementations.smax.settings import STATE_LAYOUT, EnvSettings, MappoConfig

Progress = Callable[[str], None]


def _versions() -> dict[str, str]:
    """Package versions that change the simulated data (part of every cache key)."""
    return {name: metadata.version(name) for name in ("jaxmarl", "jax")}


# ----- behaviour policy ----------------------------------------------------------------------------
def _policy_settings(env: EnvSettings, mappo: MappoConfig) -> dict[str, Any]:
    return {"env": env.to_json(), "mappo": mappo.to_json(), "versions": _versions()}


def trained_policy(env: SmaxEnv, mappo: MappoConfig, cache_dir, *,
                   progress: Progress = lambda _: None) -> tuple[Params, dict[str, Any]]:
    """MAPPO's parameters for `env` and its training record (JSON), trained now or read from the cache."""
    settings = _policy_settings(env.settings, mappo)
    template = jax.eval_shape(lambda: init_params(env, mappo, jax.random.PRNGKey(0)))
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    names = [jax.tree_util.keystr(p) for p, _ in paths]
    cached = load_cached(cache_dir, "policies", settings)
    if cached is not None:
        arrays, info = cached
        return jax.tree.unflatten(treedef, [arrays[name] for name in names]), info
    params, record = train_mappo(env, mappo, progress=progress)
    info = record.to_json()
    save_cached(cache_dir, "policies", settings, dict(zip(names, jax.tree.leaves(params))), info)
    return params, info


# ----- rollouts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RolloutSpec:
    """A rollout: environment variant, behaviour policy (None: uniformly random), size and seed.

    It runs ``chunks`` times ``n_envs`` environments for ``steps`` steps each (chunk k with the
    key ``fold_in(PRNGKey(seed), k)``): rollouts of any size share one compiled program.
    """

    env: EnvSettings
    policy: MappoConfig | None
    n_envs: int
    steps: int
    chunks: int
    seed: int

    def settings(self) -> dict[str, Any]:
        return {"env": self.env.to_json(), "policy": None if self.policy is None else self.policy.to_json(),
                "n_envs": int(self.n_envs), "steps": int(self.steps), "chunks": int(self.chunks),
                "seed": int(self.seed), "state_layout": STATE_LAYOUT, "versions": _versions()}

    @classmethod
    def for_samples(cls, env: EnvSettings, policy: MappoConfig | None, samples: int, n_envs: int, steps: int,
                    seed: int) -> RolloutSpec:
        """A rollout with at least `samples` rows (environment steps): as many chunks as needed."""
        for name, value in (("samples", samples), ("n_envs", n_envs), ("steps", steps)):
            if int(value) < 1:
                raise InputError(f"must be a positive integer, got {value}", field=name)
        return cls(env, policy, int(n_envs), int(steps), -(-int(samples) // (int(n_envs) * int(steps))), int(seed))


def episode_ids(first: np.ndarray) -> np.ndarray:
    """``[E, T]`` ids, unique across environments, of the episode each step belongs to (``first`` opens one)."""
    return np.cumsum(first, axis=1) + np.arange(first.shape[0])[:, None] * (first.shape[1] + 1)


@dataclass(frozen=True, eq=False)
class Rollout:
    """Recorded steps, environment-major: ``obs [E, T, n, 127]``, ``actions [E, T, n]``, ``states [E, T, d]``,
    ``first [E, T]`` (o_t opens an episode), ``reward``, ``done``, ``won`` ``[E, T]`` (of the step after o_t)."""

    obs: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    first: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    won: np.ndarray

    def episode_returns(self) -> np.ndarray:
        """Returns (team reward summed over the episode) of the episodes that ended, environment by environment."""
        episode = episode_ids(self.first)
        totals = np.bincount(episode.ravel(), weights=self.reward.ravel().astype(np.float64))
        return totals[episode[self.done]]

    def episode_stats(self) -> dict[str, Any]:
        """Episodes that ended in the rollout: count, win rate, mean and standard deviation of the returns."""
        returns = self.episode_returns()
        ended = int(self.done.sum())
        return {"episodes": ended, "win_rate": float(self.won.sum() / ended) if ended else None,
                "mean_return": float(returns.mean()) if returns.size else None,
                "return_sd": float(returns.std(ddof=1)) if returns.size > 1 else None}


def _rollout_scan(env: SmaxEnv, params: Params | None, n_envs: int, steps: int, key: jax.Array):
    key, reset_key = jax.random.split(key)
    env_state, obs, avail, state = env.reset(reset_key, n_envs)

    def body(carry, _):
        env_state, obs, avail, state, first, key = carry
        key, act_key, step_key = jax.random.split(key, 3)
        actions = act(params, act_key, obs, avail)
        env_state, obs2, avail2, state2, reward, done, won = env.step(step_key, env_state, actions)
        out = {"obs": obs, "actions": actions.astype(jnp.int8), "states": state, "first": first,
               "reward": reward, "done": done, "won": won}
        return (env_state, obs2, avail2, state2, done, key), out

    carry = (env_state, obs, avail, state, jnp.ones(n_envs, dtype=jnp.bool_), key)
    return jax.lax.scan(body, carry, None, length=steps)[1]


_ROLLOUT = jax.jit(_rollout_scan, static_argnums=(0, 2, 3))


def rollout(env: SmaxEnv, params: Params | None, spec: RolloutSpec) -> Rollout:
    """Run the policy (module docstring); chunks are stacked along the environment axis (environment-major)."""
    base = jax.random.PRNGKey(spec.seed)
    chunks = [_ROLLOUT(env, params, spec.n_envs, spec.steps, jax.random.fold_in(base, k)) for k in range(spec.chunks)]
    return Rollout(**{name: np.concatenate([np.swapaxes(np.asarray(c[name]), 0, 1) for c in chunks])
                      for name in chunks[0]})


def cached_rollout(spec: RolloutSpec, cache_dir, *,
                   progress: Progress = lambda _: None) -> tuple[Rollout, dict[str, Any]]:
    """The rollout of `spec` (its behaviour policy trained or read from the cache first) and its information:
    episode statistics and, for a trained policy, MAPPO's record."""
    settings = spec.settings()
    cached = load_cached(cache_dir, "rollouts", settings)
    if cached is not None:
        arrays, info = cached
        return Rollout(**arrays), info
    env = smax_env(spec.env)
    params, policy_info = (None, None) if spec.policy is None else \
        trained_policy(env, spec.policy, cache_dir, progress=progress)
    progress(f"rollout {spec.env.label}: {spec.chunks} x {spec.n_envs} environments x {spec.steps} steps, "
             f"seed {spec.seed}")
    data = rollout(env, params, spec)
    info = {"episodes": data.episode_stats(),
            "policy": "uniformly random" if policy_info is None else
            {"mappo": spec.policy.to_json(), "final_win_rate": policy_info["final_win_rate"],
             "env_steps": policy_info["env_steps"]}}
    save_cached(cache_dir, "rollouts", settings, {name: getattr(data, name) for name in
                                                  ("obs", "actions", "states", "first", "reward", "done", "won")},
                info)
    return data, info


# ----- (history, state) pairs -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class JointPairs:
    """Joint samples: ``features [N, n, F]`` (every agent's history), ``states [N, d]``, ``episodes [N]`` ids."""

    features: np.ndarray
    states: np.ndarray
    episodes: np.ndarray

    def __len__(self) -> int:
        return self.states.shape[0]

    def rows(self, index: np.ndarray) -> JointPairs:
        return JointPairs(self.features[index], self.states[index], self.episodes[index])


def history_pairs(data: Rollout, history_length: int, n_actions: int, count: int | None = None) -> JointPairs:
    """The first `count` (default all) environment-major rows as joint samples with histories of length H."""
    if int(history_length) < 1:
        raise InputError(f"must be a positive integer, got {history_length}", field="history_length")
    e, t, n, o = data.obs.shape
    rows = e * t if count is None else int(count)
    if rows > e * t:
        raise InputError(f"the rollout has {e * t} rows, {rows} requested", field="samples")
    keep_envs = -(-rows // t)
    obs, actions, first = data.obs[:keep_envs], data.actions[:keep_envs], data.first[:keep_envs]
    steps = np.arange(t)
    start = np.maximum.accumulate(np.where(first, steps[None, :], 0), axis=1)             # [E, T]
    slot = o + n_actions
    features = np.zeros((keep_envs, t, n, n + history_length * slot), dtype=np.float32)
    features[..., :n] = np.eye(n, dtype=np.float32)
    one_hot = np.eye(n_actions, dtype=np.float32)[actions]                                 # [E, T, n, A]
    for back in range(history_length):                      # slot of o_{t - back}
        base = n + (history_length - 1 - back) * slot
        seen = steps - back
        present = (seen[None, :] >= start)[..., None, None]
        features[..., base:base + o] = np.where(present, obs[:, np.clip(seen, 0, None)], 0.0)
        led = seen - 1                                      # the action a_{t - back - 1} that led to it
        acted = (led[None, :] >= start)[..., None, None]
        features[..., base + o:base + slot] = np.where(acted, one_hot[:, np.clip(led, 0, None)], 0.0)
    episodes = episode_ids(first)
    return JointPairs(features.reshape(-1, n, features.shape[-1])[:rows],
                      data.states[:keep_envs].reshape(-1, data.states.shape[-1])[:rows].astype(np.float32),
                      episodes.reshape(-1)[:rows])


def split_episodes(pairs: JointPairs, validation_fraction: float, seed: int) -> tuple[JointPairs, JointPairs]:
    """(train, validation) by episode, a seeded `validation_fraction` of the episodes held out (at least one)."""
    ids = np.unique(pairs.episodes)
    if ids.size < 2:
        raise InputError("need at least two episodes to hold one out for validation", field="samples")
    n_val = min(ids.size - 1, max(1, int(round(validation_fraction * ids.size))))
    held = np.random.default_rng(seed).permutation(ids)[:n_val]
    val = np.isin(pairs.episodes, held)
    return pairs.rows(np.flatnonzero(~val)), pairs.rows(np.flatnonzero(val))
