"""Write a `DecPOMDP` as a `.dpomdp` file that MADP's grammar accepts (and `dpomdp_parser` reads back).

Counterexamples found by search are written out this way so that ``decdiff verify
FILE.dpomdp`` reproduces them. Probabilities are printed with ``repr`` (17 significant
digits), so reading the file back gives the same float64 tables. The format has no
observation at t = 0; models that have one are refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.tables import FactoredObservation

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_RESERVED = {"agents", "discount", "actions", "observations", "T", "O", "R"}


def _names(names: tuple[str, ...], prefix: str) -> list[str]:
    """The names if all are valid distinct identifiers, else prefix0, prefix1, ..."""
    valid = all(_IDENTIFIER.match(n) and n not in _RESERVED for n in names) and len(set(names)) == len(names)
    return list(names) if valid else [f"{prefix}{k}" for k in range(len(names))]


def joint_observation_table(model: DecPOMDP) -> np.ndarray:
    """O[ja, s', jo] as one dense table (for factored models, the product of the agents' tables)."""
    observation = model.observation
    if not isinstance(observation, FactoredObservation):
        table = observation.table
        return np.broadcast_to(table, (model.n_joint_actions,) + table.shape[1:])
    elements = model.observation_space.all_elements()
    joint_actions = np.arange(model.n_joint_actions)
    return np.stack([observation.likelihood(np.full(len(elements), ja), elements, model.action_space).T
                     for ja in joint_actions])


def _reward_table(model: DecPOMDP) -> np.ndarray:
    if model.reward is None:
        return np.zeros((model.n_states, model.n_joint_actions))
    states = np.repeat(np.arange(model.n_states), model.n_joint_actions)
    actions = np.tile(model.action_space.all_elements(), (model.n_states, 1))
    return np.asarray(model.reward(states, actions), dtype=np.float64).reshape(model.n_states, -1)


def dpomdp_text(model: DecPOMDP, comment: str = "") -> str:
    """The model as `.dpomdp` text (MADP dialect), entries with joint indices, zeros left out."""
    if model.has_initial_observation:
        raise InputError("has an observation at t = 0, which the .dpomdp format cannot express",
                         source=model.name, field="O0")
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [f"agents: {model.n_agents}", f"discount: {model.discount!r}", "values: reward",
              "states: " + " ".join(_names(model.state_names, "s")), "start:",
              " ".join(repr(float(p)) for p in model.initial), "actions:"]
    lines += [" ".join(_names(a, "a")) for a in model.action_names]
    lines.append("observations:")
    lines += [" ".join(_names(o, "o")) for o in model.observation_names]
    for ja in range(model.n_joint_actions):
        matrix = model.transition.matrix(ja)
        dense = matrix.toarray() if hasattr(matrix, "toarray") else matrix
        for s, s_next in zip(*np.nonzero(dense)):
            lines.append(f"T: {ja} : {s} : {s_next} : {float(dense[s, s_next])!r}")
    observation = joint_observation_table(model)
    for ja, s_next, jo in zip(*np.nonzero(observation)):
        lines.append(f"O: {ja} : {s_next} : {jo} : {float(observation[ja, s_next, jo])!r}")
    rewards = _reward_table(model)
    for s, ja in zip(*np.nonzero(rewards)):
        lines.append(f"R: {ja} : {s} : * : * : {float(rewards[s, ja])!r}")
    return "\n".join(lines) + "\n"


def write_dpomdp(model: DecPOMDP, path: str | os.PathLike, comment: str = "") -> Path:
    """Write `dpomdp_text(model)` to `path` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dpomdp_text(model, comment))
    return path
