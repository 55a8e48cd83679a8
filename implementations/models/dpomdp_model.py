"""`.dpomdp` files as `DecPOMDP` models (the parser is in `dpomdp_parser`).

A `.dpomdp` model has no observation at t = 0, a joint observation table O[ja, s', jo]
(kept joint: whether it factors is a fact to compute, not an assumption), the
transition stored per joint action (sparse for large files), MADP's reward R(s, ja),
and the one-hot state embedding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.dpomdp_parser import (
    DpomdpData,
    bundled_dpomdp_names,
    bundled_dpomdp_path,
    load_dpomdp,
)
from decdiff.implementations.models.tables import (
    JointObservation,
    JointSpace,
    Transition,
)


def model_from_dpomdp(data: DpomdpData, name: str) -> DecPOMDP:
    """Wrap parsed file contents as a model named `name`."""
    action_space = JointSpace(tuple(len(a) for a in data.action_names))
    reward_table = data.reward

    def reward(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return reward_table[states, action_space.ravel(actions)]

    return DecPOMDP(
        name=name,
        agent_names=data.agent_names,
        state_names=data.state_names,
        action_names=data.action_names,
        observation_names=data.observation_names,
        initial=data.start,
        transition=Transition(tuple(data.transition)),
        observation=JointObservation(data.observation, JointSpace(tuple(len(o) for o in data.observation_names))),
        discount=data.discount,
        reward=reward,
        parameters={"file": data.source, "dialect": data.dialect},
    )


def load_dpomdp_model(path: str | os.PathLike) -> DecPOMDP:
    """Parse a `.dpomdp` file into a model named by its path."""
    return model_from_dpomdp(load_dpomdp(path), os.fspath(path))


def bundled_model_names() -> tuple[str, ...]:
    """Names of the benchmark files shipped with decdiff (without the extension)."""
    return tuple(Path(n).stem for n in bundled_dpomdp_names())


def load_bundled(name: str) -> DecPOMDP:
    """A shipped benchmark, named by its file name with or without `.dpomdp`."""
    stem = name.removesuffix(".dpomdp")
    return model_from_dpomdp(load_dpomdp(bundled_dpomdp_path(stem)), stem)
