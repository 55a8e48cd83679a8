"""The SMACv2-like environment: JaxMARL SMAX ``smacv2_5_units`` against the heuristic enemy.

Five allied units (the agents) fight five enemy units driven by SMAX's heuristic policy
(`HeuristicEnemySMAX`). Each step an agent sees its local observation o_i (127 numbers:
9 other units x 13 features within its sight range, relative positions divided by the
sight range, and 10 own features) and picks one of 10 actions (4 moves, stop, attack one
of 5 enemies) under an availability mask. The global state is SMAX's world state (120
numbers).

**Variants** (`EnvSettings`):

* ``race``: SMAX has two unit types per race, drawn uniformly per ally and mirrored on the
  enemy team (SMAX's own rule): terran-like = marine, marauder; protoss-like = stalker,
  zealot; zerg-like = zergling, hydralisk; ``all`` = SMAX's default draw over all six. The
  unit-type generator is replaced before the first reset (``reset`` is compiled once per
  environment object and would keep the old generator).
* ``sight_range``: every unit type gets this sight range (SMACv2's default is 9 for all
  units; the paper's reduced setting is 5). Attack ranges are unchanged.
* ``max_steps``: the episode cap (SMAX's default 100).

**Normalised state** (`normalise_state`, 100 numbers = 10 units x 10): per unit
[health / max health, x / map width, y / map height, weapon cooldown / the type's
cooldown, one-hot unit type (6)], every entry in [0, 1] (positions and cooldowns are
clipped: a unit pushed past a wall before it is removed, and the random cooldown
overshoot of up to 2 steps, fall just outside). Why: the raw state mixes map coordinates
(0..32), cooldowns in seconds (0..2), fractions and type ids (0..5), and the denoiser adds
one isotropic noise level sigma to every dimension (Eq. 1), so the scales must be
commensurate; PSNR then has the data range MAX = 1. The team ids (the same in every
state) and the raw type ids (duplicated by the one-hot bits of living units) are dropped.
Dead units are all zeros, as in SMAX.

Everything is batched over environments with ``jax.vmap``; `SmaxEnv.step` resets finished
environments itself so that the terminal state is seen (to tell wins from losses).
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp

from decdiff.errors import InputError
from decdiff.implementations.smax import require_smax
from decdiff.implementations.smax.settings import (
    RACES,
    SCENARIO,
    UNIT_FEATURES,
    EnvSettings,
)

require_smax()

from jaxmarl.environments.smax import HeuristicEnemySMAX, map_name_to_scenario  # noqa: E402
from jaxmarl.environments.smax.distributions import Distribution  # noqa: E402


class RaceUnitTypes(Distribution):
    """Unit types drawn uniformly from one race's types for each ally; enemies mirror the allies (as in SMAX)."""

    def __init__(self, n_allies: int, n_enemies: int, map_width: int, map_height: int,
                 types: tuple[int, ...]) -> None:
        super().__init__(n_allies, n_enemies, map_width, map_height)
        if n_enemies != n_allies:
            raise InputError("mirrored unit types need as many enemies as allies", field="n_enemies")
        self.types = jnp.asarray(types, dtype=jnp.uint8)

    def generate(self, key: jax.Array) -> jax.Array:
        allies = jax.random.choice(key, self.types, shape=(self.n_allies,))
        return jnp.concatenate([allies, allies]).astype(jnp.uint8)


class SmaxEnv:
    """`HeuristicEnemySMAX` for one `EnvSettings`, batched over environments (pure, jit-able methods).

    Attributes:
        n_agents: allied units (5); ``obs_dim``: 127; ``n_actions``: 10; ``state_dim``: 100 (normalised).
    """

    def __init__(self, settings: EnvSettings) -> None:
        settings.validate()
        self.settings = settings
        self.env = HeuristicEnemySMAX(scenario=map_name_to_scenario(SCENARIO),
                                      unit_type_sight_ranges=jnp.full((6,), float(settings.sight_range)),
                                      max_steps=int(settings.max_steps))
        inner = self.env._env
        if RACES[settings.race] != RACES["all"]:
            inner.unit_type_generator = RaceUnitTypes(inner.num_allies, inner.num_enemies, inner.map_width,
                                                      inner.map_height, RACES[settings.race])
        self.n_agents = self.env.num_allies
        self.obs_dim = int(inner.obs_size)
        self.n_actions = int(inner.num_ally_actions)
        self.n_units = int(inner.num_agents)
        self.state_dim = self.n_units * UNIT_FEATURES
        self.map_size = jnp.asarray([inner.map_width, inner.map_height], dtype=jnp.float32)
        self.cooldowns = jnp.asarray(inner.unit_type_weapon_cooldowns, dtype=jnp.float32)

    # ----- one environment -------------------------------------------------------------------
    def _arrays(self, obs: dict, state) -> tuple[jax.Array, jax.Array, jax.Array]:
        observations = jnp.stack([obs[a] for a in self.env.agents])                       # [n, 127]
        avail = self.env.get_avail_actions(state)
        avail = jnp.stack([avail[a] for a in self.env.agents]).astype(jnp.bool_)           # [n, A]
        return observations, avail, self.normalise_state(obs["world_state"])

    def _reset_one(self, key: jax.Array):
        obs, state = self.env.reset(key)
        # the heuristic enemy's initial state holds a weakly typed integer; a step returns a strong one,
        # and the changed type would make jax compile a scanned update twice
        state = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), state)
        return (state, *self._arrays(obs, state))

    def _step_one(self, key: jax.Array, state, actions: jax.Array):
        step_key, reset_key = jax.random.split(key)
        obs, after, rewards, dones, _ = self.env.step_env(step_key, state,
                                                          {a: actions[i] for i, a in enumerate(self.env.agents)})
        done = dones["__all__"]
        won = done & ~jnp.any(after.state.unit_alive[self.n_agents:])
        obs_new, fresh = self.env.reset(reset_key)
        state = jax.tree.map(lambda new, old: jax.lax.select(done, new, old), fresh, after)
        obs = jax.tree.map(lambda new, old: jax.lax.select(done, new, old), obs_new, obs)
        return (state, *self._arrays(obs, state), rewards[self.env.agents[0]], done, won)

    # ----- batched ------------------------------------------------------------------------------
    @partial(jax.jit, static_argnums=(0, 2))
    def reset(self, key: jax.Array, n_envs: int):
        """(state, obs ``[E, n, 127]``, avail ``[E, n, A]`` bool, normalised state ``[E, 100]``)."""
        return jax.vmap(self._reset_one)(jax.random.split(key, n_envs))

    def step(self, key: jax.Array, state, actions: jax.Array):
        """One step of every environment (finished ones reset): the `reset` tuple plus team reward ``[E]``,
        done ``[E]`` and won ``[E]`` (done with every enemy dead)."""
        return jax.vmap(self._step_one)(jax.random.split(key, actions.shape[0]), state, actions)

    def normalise_state(self, world: jax.Array) -> jax.Array:
        """SMAX's world state ``[..., 120]`` -> the normalised state ``[..., 100]`` (module docstring)."""
        own = len(self.env._env.own_features)
        units = world[..., :self.n_units * own].reshape(*world.shape[:-1], self.n_units, own)
        types = world[..., -self.n_units:].astype(jnp.int32)
        position = jnp.clip(units[..., 1:3] / self.map_size, 0.0, 1.0)
        cooldown = jnp.clip(units[..., 3:4] / self.cooldowns[types][..., None], 0.0, 1.0)
        parts = [jnp.clip(units[..., 0:1], 0.0, 1.0), position, cooldown, units[..., 4:own]]
        return jnp.concatenate(parts, axis=-1).reshape(*world.shape[:-1], self.state_dim)


@lru_cache(maxsize=None)
def smax_env(settings: EnvSettings) -> SmaxEnv:
    """One `SmaxEnv` per settings in a process (jax compiles per environment object, so reusing it saves compiling)."""
    return SmaxEnv(settings)
