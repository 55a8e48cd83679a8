"""Helpers shared by the checks: hypothesis targeting and readable history descriptions."""

from __future__ import annotations

import numpy as np
from hypothesis import target
from hypothesis.control import currently_in_test_context

from decdiff.implementations.models.decpomdp import DecPOMDP


def target_margin(margin: float | None, label: str) -> None:
    """Drive a running hypothesis search towards the worst (smallest) margin; no-op outside tests."""
    if margin is not None and np.isfinite(margin) and currently_in_test_context():
        target(-float(margin), label=label)


def describe_joint_history(model: DecPOMDP, actions: np.ndarray, observations: np.ndarray) -> dict[str, list]:
    """A joint history with action and observation names, per agent."""
    return {
        "actions": [[model.action_names[i][a] for i, a in enumerate(step)] for step in actions.tolist()],
        "observations": [[model.observation_names[i][o] for i, o in enumerate(step)] for step in observations.tolist()],
        "action_indices": actions.tolist(),
        "observation_indices": observations.tolist(),
    }


def state_set(model: DecPOMDP, mask: np.ndarray) -> list[str]:
    """Names of the states where `mask` is true."""
    return [model.state_names[s] for s in np.flatnonzero(mask)]
