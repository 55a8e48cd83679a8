"""The project's own small MAPPO (Yu et al. 2022) on `SmaxEnv`: the behaviour policy of the data.

* **Actor** pi(a | o_i, i): a feed-forward network shared by the agents on the local
  observation o_i and the one-hot agent id, logits of unavailable actions set to -1e9
  (SMAX's availability mask). It conditions on the current observation only (no memory).
* **Critic** V(s): a feed-forward network on the normalised global state (centralised
  training, decentralised execution); the team reward is shared, so there is one value per
  environment.
* **PPO**: each update collects ``rollout`` steps of ``n_envs`` environments (``jax.vmap``
  over environments, ``jax.lax.scan`` over steps), computes GAE(gamma, lambda) advantages of
  the team reward (value 0 after a terminal step), and runs ``epochs`` passes of
  ``minibatches`` shuffled minibatches of the clipped surrogate
      L = -E min(r A, clip(r, 1 - c, 1 + c) A) + v_coef E (V - R)^2 - ent_coef E H(pi),
  r = pi_new / pi_old per agent, A normalised per minibatch, Adam with gradient clipping
  and a learning rate decaying linearly to 0.

Everything is seeded by ``MappoConfig.seed`` (jax.random keys); on one machine the same
configuration gives the same parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from decdiff.implementations.smax.env import SmaxEnv
from decdiff.implementations.smax.settings import MappoConfig

Params = dict[str, Any]

#: Logit given to unavailable actions.
MASKED_LOGIT = -1e9


# ----- networks ---------------------------------------------------------------------------------
def _mlp_init(key: jax.Array, sizes: list[int], last_scale: float) -> list[dict[str, jax.Array]]:
    """Layers with orthogonal weights (gain sqrt 2, the last one `last_scale`) and zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        gain = last_scale if k == len(sizes) - 2 else math.sqrt(2.0)
        weight = jax.nn.initializers.orthogonal(gain)(keys[k], (fan_in, fan_out), jnp.float32)
        layers.append({"w": weight, "b": jnp.zeros((fan_out,), jnp.float32)})
    return layers


def _mlp(layers: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in layers[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]


def init_params(env: SmaxEnv, config: MappoConfig, key: jax.Array) -> Params:
    actor_key, critic_key = jax.random.split(key)
    h = config.hidden
    return {"actor": _mlp_init(actor_key, [env.obs_dim + env.n_agents, h, h, env.n_actions], 0.01),
            "critic": _mlp_init(critic_key, [env.state_dim, h, h, 1], 1.0)}


def policy_logits(params: Params, obs: jax.Array, avail: jax.Array) -> jax.Array:
    """``[..., n, A]`` masked logits of pi(. | o_i, i) for observations ``[..., n, 127]``."""
    n = obs.shape[-2]
    ids = jnp.broadcast_to(jnp.eye(n, dtype=obs.dtype), (*obs.shape[:-1], n))
    logits = _mlp(params["actor"], jnp.concatenate([obs, ids], axis=-1))
    return jnp.where(avail, logits, MASKED_LOGIT)


def value(params: Params, state: jax.Array) -> jax.Array:
    return _mlp(params["critic"], state)[..., 0]


def act(params: Params | None, key: jax.Array, obs: jax.Array, avail: jax.Array) -> jax.Array:
    """Sampled actions ``[E, n]``; ``params`` None is the uniformly random policy over available actions."""
    logits = jnp.where(avail, 0.0, MASKED_LOGIT) if params is None else policy_logits(params, obs, avail)
    return jax.random.categorical(key, logits)


# ----- training -----------------------------------------------------------------------------------
@dataclass
class MappoRecord:
    """Per update: mean return and win rate of the episodes that ended in it (NaN if none did)."""

    returns: list[float]
    win_rate: list[float]
    episodes: list[int]
    env_steps: int

    def final_win_rate(self, fraction: float = 0.1) -> float:
        """Win rate over the episodes of the last `fraction` of updates."""
        k = max(1, int(round(fraction * len(self.episodes))))
        episodes = np.asarray(self.episodes[-k:], dtype=float)
        wins = np.nan_to_num(np.asarray(self.win_rate[-k:], dtype=float)) * episodes
        return float(wins.sum() / episodes.sum()) if episodes.sum() else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "final_win_rate": self.final_win_rate()}


def _losses(params: Params, batch: dict[str, jax.Array], config: MappoConfig) -> jax.Array:
    logits = policy_logits(params, batch["obs"], batch["avail"])                           # [B, n, A]
    logp_all = jax.nn.log_softmax(logits)
    logp = jnp.take_along_axis(logp_all, batch["actions"][..., None], axis=-1)[..., 0]
    probs = jnp.exp(logp_all)
    entropy = -jnp.sum(jnp.where(batch["avail"], probs * logp_all, 0.0), axis=-1)
    adv = batch["advantages"]
    adv = ((adv - adv.mean()) / (adv.std() + 1e-8))[:, None]
    ratio = jnp.exp(logp - batch["logp"])
    surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - config.clip, 1 + config.clip) * adv)
    value_loss = jnp.mean((value(params, batch["state"]) - batch["returns"]) ** 2)
    return -surrogate.mean() + config.value_coef * value_loss - config.entropy_coef * entropy.mean()


def _gae(rewards: jax.Array, values: jax.Array, dones: jax.Array, last_value: jax.Array,
         config: MappoConfig) -> tuple[jax.Array, jax.Array]:
    """GAE over ``[T, E]`` arrays; returns (advantages, value targets)."""
    def back(carry, step):
        gae, next_value = carry
        reward, v, done = step
        delta = reward + config.gamma * next_value * (1 - done) - v
        gae = delta + config.gamma * config.gae_lambda * (1 - done) * gae
        return (gae, v), gae

    _, adv = jax.lax.scan(back, (jnp.zeros_like(last_value), last_value), (rewards, values, dones), reverse=True)
    return adv, adv + values


def _optimizer(config: MappoConfig) -> optax.GradientTransformation:
    """Adam after global-norm gradient clipping, the learning rate decaying linearly to 0 over all minibatches."""
    schedule = optax.linear_schedule(config.learning_rate, 0.0, config.updates * config.epochs * config.minibatches)
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(schedule, eps=1e-5))


@partial(jax.jit, static_argnums=(0, 1))
def _update(env: SmaxEnv, config: MappoConfig, carry: tuple) -> tuple[tuple, tuple]:
    """One PPO update (module docstring); compiled once per (environment, configuration) in a process."""
    optimizer = _optimizer(config)
    grad = jax.grad(_losses)
    params, opt_state, env_state, obs, avail, state, ep_return, key = carry

    def step(c, _):
        env_state, obs, avail, state, ep_return, key = c
        key, act_key, step_key = jax.random.split(key, 3)
        logits = policy_logits(params, obs, avail)
        actions = jax.random.categorical(act_key, logits)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), actions[..., None], axis=-1)[..., 0]
        env_state, obs2, avail2, state2, reward, done, won = env.step(step_key, env_state, actions)
        ep_return = ep_return + reward
        out = {"obs": obs, "avail": avail, "state": state, "actions": actions, "logp": logp,
               "value": value(params, state), "reward": reward, "done": done.astype(jnp.float32),
               "won": won, "ep_return": ep_return}
        return (env_state, obs2, avail2, state2, jnp.where(done, 0.0, ep_return), key), out

    (env_state, obs, avail, state, ep_return, key), traj = jax.lax.scan(
        step, (env_state, obs, avail, state, ep_return, key), None, length=config.rollout)
    adv, targets = _gae(traj["reward"], traj["value"], traj["done"], value(params, state), config)
    flat = {name: traj[name].reshape(-1, *traj[name].shape[2:])
            for name in ("obs", "avail", "state", "actions", "logp")}
    flat["advantages"], flat["returns"] = adv.reshape(-1), targets.reshape(-1)
    size = flat["returns"].shape[0] // config.minibatches

    def epoch(c, _):
        params, opt_state, key = c
        key, perm_key = jax.random.split(key)
        order = jax.random.permutation(perm_key, flat["returns"].shape[0])
        batches = jax.tree.map(lambda x: x[order].reshape(config.minibatches, size, *x.shape[1:]), flat)

        def minibatch(c2, batch):
            params, opt_state = c2
            updates, opt_state = optimizer.update(grad(params, batch, config), opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, opt_state), _ = jax.lax.scan(minibatch, (params, opt_state), batches)
        return (params, opt_state, key), None

    (params, opt_state, key), _ = jax.lax.scan(epoch, (params, opt_state, key), None, length=config.epochs)
    done = traj["done"] > 0
    stats = (jnp.sum(jnp.where(done, traj["ep_return"], 0.0)), jnp.sum(traj["won"]), jnp.sum(done))
    return (params, opt_state, env_state, obs, avail, state, ep_return, key), stats


def train_mappo(env: SmaxEnv, config: MappoConfig, *,
                progress: Callable[[str], None] = lambda _: None) -> tuple[Params, MappoRecord]:
    """Train MAPPO on `env` (module docstring); returns the parameters (numpy leaves) and the record."""
    config.validate()
    key = jax.random.PRNGKey(config.seed)
    key, init_key, reset_key = jax.random.split(key, 3)
    params = init_params(env, config, init_key)
    env_state, obs, avail, state = env.reset(reset_key, config.n_envs)
    carry = (params, _optimizer(config).init(params), env_state, obs, avail, state, jnp.zeros(config.n_envs), key)
    stats = []
    every = max(1, config.updates // 10)
    compiled = replace(config, seed=0)                   # the seed only enters through the key in `carry`
    for k in range(config.updates):                       # sequential: each update needs the previous one
        carry, out = _update(env, compiled, carry)
        stats.append(out)
        if (k + 1) % every == 0 or k + 1 == config.updates:
            ret, won, count = (np.asarray(v, dtype=float) for v in zip(*stats[-every:]))
            progress(f"MAPPO {env.settings.label}: update {k + 1}/{config.updates}, "
                     f"win rate {won.sum() / max(count.sum(), 1):.2f}")
    ret, won, count = (np.asarray(v, dtype=float) for v in zip(*stats))
    safe = np.maximum(count, 1)
    record = MappoRecord(np.where(count > 0, ret / safe, np.nan).tolist(),
                         np.where(count > 0, won / safe, np.nan).tolist(), count.astype(int).tolist(),
                         config.updates * config.n_envs * config.rollout)
    return jax.tree.map(np.asarray, carry[0]), record
