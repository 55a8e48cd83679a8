"""Model names: built-in families with parameters, bundled `.dpomdp` benchmarks, and files.

A model spec is ``family[:positional][:key=value]...``, for example ``sensor-ring``,
``sensor-grid:5x5:targets=2:miss=0.1``, ``random:agents=2:states=3:seed=7``, the name of
a bundled benchmark (``dectiger``), or a path to a ``.dpomdp`` file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.random_models import parse_random_spec, random_model
from decdiff.implementations.models.sensor_networks import sensor_grid, sensor_ring


@dataclass(frozen=True)
class Family:
    """A built-in model family: how to build it and what its parameters are."""

    name: str
    summary: str
    parameters: dict[str, str]
    build: Callable[[list[str], dict[str, str], str], DecPOMDP]


def _number(raw: str, spec: str, key: str, kind: type = float):
    try:
        return kind(raw)
    except ValueError:
        raise InputError(f"cannot read {raw!r} as a {kind.__name__}", source=spec, field=key) from None


def _only(params: dict[str, str], allowed: set[str], spec: str) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InputError(f"unknown parameter (known: {', '.join(sorted(allowed)) or 'none'})", source=spec,
                         field=unknown[0])


def _no_positional(positional: list[str], spec: str) -> None:
    if positional:
        raise InputError("takes only key=value parameters", source=spec, field=positional[0])


def _build_ring(noisy: bool) -> Callable[[list[str], dict[str, str], str], DecPOMDP]:
    def build(positional: list[str], params: dict[str, str], spec: str) -> DecPOMDP:
        _no_positional(positional, spec)
        _only(params, {"move", "miss"}, spec)
        move = _number(params.get("move", "0.2"), spec, "move")
        miss = _number(params["miss"], spec, "miss") if "miss" in params else None
        return sensor_ring(noisy=noisy, move=move, miss=miss)

    return build


def _build_grid(positional: list[str], params: dict[str, str], spec: str) -> DecPOMDP:
    rows, cols = 5, 5
    if len(positional) > 1:
        raise InputError("expected one size RxC", source=spec, field=positional[1])
    if positional:
        parts = positional[0].lower().split("x")
        if len(parts) != 2:
            raise InputError(f"size {positional[0]!r} is not of the form RxC", source=spec, field="size")
        rows, cols = (_number(p, spec, "size", int) for p in parts)
    _only(params, {"targets", "miss", "move"}, spec)
    return sensor_grid(rows, cols,
                       targets=_number(params.get("targets", "2"), spec, "targets", int),
                       miss=_number(params.get("miss", "0"), spec, "miss"),
                       move=_number(params.get("move", "0.2"), spec, "move"))


def _build_random(positional: list[str], params: dict[str, str], spec: str) -> DecPOMDP:
    _no_positional(positional, spec)
    model_spec, seed = parse_random_spec(params, spec)
    return random_model(model_spec, seed)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("sensor-ring", "the paper's Fig. 1 example: 4 sensors on a ring of 4 areas, 1 target (CO)",
               {"move": "target move probability (0.2)", "miss": "miss probability in every area (0)"},
               _build_ring(noisy=False)),
        Family("sensor-ring-noisy", "sensor-ring with targets in areas 1 and 2 missed w.p. 0.5 (non-CO)",
               {"move": "target move probability (0.2)", "miss": "miss probability in areas 1, 2 (0.5)"},
               _build_ring(noisy=True)),
        Family("sensor-grid", "RxC areas on a torus, a sensor at each area corner watching 4 areas, K targets",
               {"RxC": "areas (5x5: 25 agents)", "targets": "number of targets K (2)",
                "miss": "miss probability p (0)", "move": "target move probability q (0.2)"},
               _build_grid),
        Family("random", "random tabular model (for property tests and counterexamples)",
               {"agents": "2", "states": "3", "actions": "2", "observations": "2", "factored": "1",
                "static": "0", "deterministic": "0", "action_transition": "0", "action_observation": "0", "initial_observation": "0",
                "sparsity": "0.5", "seed": "0"},
               _build_random),
    )
}


def split_spec(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """``family[:positional][:key=value]`` into its parts."""
    family, *rest = spec.split(":")
    positional: list[str] = []
    params: dict[str, str] = {}
    for part in rest:
        if "=" in part:
            key, value = part.split("=", 1)
            if key in params:
                raise InputError("given twice", source=spec, field=key)
            params[key] = value
        elif part:
            positional.append(part)
    return family, positional, params


def load_model(name_or_path: str | os.PathLike) -> DecPOMDP:
    """A model from a built-in spec, a bundled benchmark name, or a `.dpomdp` path."""
    from decdiff.implementations.models.dpomdp_model import (
        bundled_model_names,
        load_bundled,
        load_dpomdp_model,
    )

    text = os.fspath(name_or_path)
    family, positional, params = split_spec(text)
    if family in FAMILIES:
        return FAMILIES[family].build(positional, params, text)
    if Path(text).suffix == ".dpomdp" or os.sep in text:
        return load_dpomdp_model(text)
    if text.removesuffix(".dpomdp") in bundled_model_names():
        return load_bundled(text)
    known = ", ".join([*FAMILIES, *bundled_model_names()])
    raise InputError(f"unknown model (built-in: {known}; or a path to a .dpomdp file)", field=text)
