"""Random tabular Dec-POMDPs for property-based tests and counterexample search.

A `RandomModelSpec` fixes the structure (sizes; factored or correlated observations;
static or moving state; deterministic or noisy observations; whether T depends on the
joint action; whether O depends on actions, the agent's own for factored observations
and the joint one otherwise; whether there is an observation at t = 0); `random_model(spec, seed)` draws the
numbers. Rows are sparse on purpose: with every probability positive every state would
be consistent with every history and the paper's support statements would be vacuous.
Every spec has a model name, ``random:agents=2:states=3:...:seed=7``, that `load_model`
turns back into the same model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.tables import (
    FactoredObservation,
    JointObservation,
    JointSpace,
    Transition,
)


@dataclass(frozen=True)
class RandomModelSpec:
    """The structure of a random model (the numbers come from the seed)."""

    agents: int = 2
    states: int = 3
    actions: int = 2
    observations: int = 2
    factored: bool = True
    static: bool = False
    deterministic: bool = False
    action_transition: bool = False
    action_observation: bool = False
    initial_observation: bool = False
    sparsity: float = 0.5

    def __post_init__(self) -> None:
        for name in ("agents", "states", "actions", "observations"):
            if getattr(self, name) < 1:
                raise InputError(f"must be at least 1, got {getattr(self, name)}", source="random", field=name)
        if not 0.0 <= self.sparsity < 1.0:
            raise InputError(f"must lie in [0, 1), got {self.sparsity}", source="random", field="sparsity")

    def model_name(self, seed: int) -> str:
        parts = [f"{k}={_format(v)}" for k, v in asdict(self).items()]
        return "random:" + ":".join(parts) + f":seed={seed}"


def _format(value: object) -> str:
    return str(int(value)) if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


def parse_random_spec(parameters: dict[str, str], source: str) -> tuple[RandomModelSpec, int]:
    """`RandomModelSpec` and seed from ``key=value`` parameters (as in a model name)."""
    types = {f.name: f.type for f in fields(RandomModelSpec)}
    values: dict[str, object] = {}
    seed = 0
    for key, raw in parameters.items():
        try:
            if key == "seed":
                seed = int(raw)
            elif key not in types:
                raise InputError(f"unknown parameter (known: {', '.join([*types, 'seed'])})", source=source, field=key)
            elif types[key] in ("bool", bool):
                if raw not in ("0", "1", "true", "false"):
                    raise ValueError(raw)
                values[key] = raw in ("1", "true")
            elif types[key] in ("float", float):
                values[key] = float(raw)
            else:
                values[key] = int(raw)
        except ValueError:
            raise InputError(f"cannot read value {raw!r}", source=source, field=key) from None
    return RandomModelSpec(**values), seed


def _sparse_rows(rng: np.random.Generator, shape: tuple[int, ...], sparsity: float, deterministic: bool) -> np.ndarray:
    """Random distributions along the last axis, with about `sparsity` of the entries zero."""
    if deterministic:
        table = np.zeros(shape)
        np.put_along_axis(table, rng.integers(shape[-1], size=shape[:-1] + (1,)), 1.0, axis=-1)
        return table
    weights = rng.gamma(1.0, size=shape)
    keep = rng.random(shape) >= sparsity
    forced = rng.integers(shape[-1], size=shape[:-1] + (1,))
    np.put_along_axis(keep, forced, True, axis=-1)
    weights = np.where(keep, weights + 1e-3, 0.0)
    return weights / weights.sum(axis=-1, keepdims=True)


def random_model(spec: RandomModelSpec, seed: int) -> DecPOMDP:
    """Draw a Dec-POMDP with the structure of `spec` from `seed`."""
    rng = np.random.default_rng(seed)
    n, S = spec.agents, spec.states
    action_sizes = (spec.actions,) * n
    obs_sizes = (spec.observations,) * n
    n_joint = int(np.prod(action_sizes))
    if spec.static:
        transition = Transition((np.eye(S),))
    else:
        k = n_joint if spec.action_transition else 1
        transition = Transition(tuple(_sparse_rows(rng, (k, S, S), spec.sparsity, False)))
    if spec.factored:
        k = spec.actions if spec.action_observation else 1
        observation = FactoredObservation(
            tables=tuple(_sparse_rows(rng, (k, S, spec.observations), spec.sparsity, spec.deterministic)
                         for _ in range(n)),
            own_action=spec.action_observation)
        initial_obs = FactoredObservation(
            tables=tuple(_sparse_rows(rng, (1, S, spec.observations), spec.sparsity, spec.deterministic)
                         for _ in range(n))) if spec.initial_observation else None
    else:
        space = JointSpace(obs_sizes)
        k = n_joint if spec.action_observation else 1
        observation = JointObservation(_sparse_rows(rng, (k, S, space.size), spec.sparsity, spec.deterministic), space)
        initial_obs = JointObservation(_sparse_rows(rng, (1, S, space.size), spec.sparsity, spec.deterministic),
                                       space) if spec.initial_observation else None
    return DecPOMDP(
        name=spec.model_name(seed),
        agent_names=tuple(str(i) for i in range(n)),
        state_names=tuple(f"s{s}" for s in range(S)),
        action_names=tuple(tuple(f"a{a}" for a in range(spec.actions)) for _ in range(n)),
        observation_names=tuple(tuple(f"o{o}" for o in range(spec.observations)) for _ in range(n)),
        initial=_sparse_rows(rng, (S,), spec.sparsity, False),
        transition=transition,
        observation=observation,
        initial_observation=initial_obs,
        parameters={**asdict(spec), "seed": seed},
    )
