"""Sensor-network Dec-POMDPs (ARCHITECTURE.md, "Contracts"; the paper's Fig. 1 and Sections 3-5).

Areas hold K indistinguishable targets in distinct areas; a state is the set of occupied
areas, embedded multi-hot in R^{#areas} (one-hot when K = 1). Each agent (sensor)
watches a fixed tuple of areas and observes, at every step including t = 0, one presence
bit per watched area: a bit is 1 with probability 1 - miss[area] when a target is there
and 0 otherwise (no false alarms); bits and sensors are independent given the state, so
the observation model is factored and ignores actions. Actions choose the area to scan
and only affect the reward (a target counts when at least two agents scan its area).

Target motion: each target independently stays with probability 1 - q or moves to one of
its neighbouring areas chosen uniformly (probability q in total); joint moves that would
put two targets in one area are rejected, i.e. the kernel is conditioned on distinct
areas. For sets of targets, P(S' | S) is the permanent of the single-target kernel's
K x K block M[S, S'], renormalised over all S'.

* ``sensor-ring``: four areas on a ring, agent k watches areas (1, 2), (4, 1), (2, 3),
  (3, 4) for k = 1..4 (numbered from 1 in names, from 0 in indices); one target.
  ``sensor-ring-noisy``: the same with targets in areas 1 and 2 missed with
  probability 0.5 (docs/claims.md#experiments).
* ``sensor-grid:RxC``: R x C areas on a torus with one sensor at each area corner, so
  every sensor watches 4 areas and every area is watched by 4 sensors.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.tables import FactoredObservation, Transition


def single_target_kernel(neighbours: Sequence[Sequence[int]], move: float) -> np.ndarray:
    """M[a, a'] = P(one target in area a moves to a'), ignoring the other targets."""
    n_areas = len(neighbours)
    kernel = np.zeros((n_areas, n_areas))
    for area, nbrs in enumerate(neighbours):
        kernel[area, area] = 1.0 - move if nbrs else 1.0
        for nb in nbrs:
            kernel[area, nb] += move / len(nbrs)
    return kernel


def target_set_transition(occupied: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """P(S' | S) for target sets ``occupied [S, K]``: permanent of M[S, S'] renormalised."""
    n_targets = occupied.shape[1]
    weights = np.zeros((occupied.shape[0], occupied.shape[0]))
    for perm in itertools.permutations(range(n_targets)):
        term = np.ones_like(weights)
        for k in range(n_targets):
            term *= kernel[occupied[:, k]][:, occupied[:, perm[k]]]
        weights += term
    return weights / weights.sum(axis=1, keepdims=True)


def presence_observation_table(occupancy: np.ndarray, watched: Sequence[int], miss: np.ndarray) -> np.ndarray:
    """``[1, S, 2^m]`` table of one sensor's presence bits (first watched area = highest bit)."""
    m = len(watched)
    bits = (np.arange(2**m)[:, None] >> np.arange(m - 1, -1, -1)[None, :]) & 1   # [2^m, m]
    p_one = occupancy[:, watched] * (1.0 - miss[list(watched)])[None, :]         # [S, m]
    table = np.ones((occupancy.shape[0], 2**m))
    for j in range(m):
        table *= np.where(bits[None, :, j] == 1, p_one[:, j, None], 1.0 - p_one[:, j, None])
    return table[None]


def _tracking_reward(watched: np.ndarray, occupancy: np.ndarray):
    """R(s, a): the number of targets whose area is scanned by at least two agents."""

    def reward(states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        scanned = watched[np.arange(watched.shape[0])[None, :], actions]              # [B, n] area indices
        counts = np.zeros((actions.shape[0], occupancy.shape[1]))
        np.add.at(counts, (np.arange(actions.shape[0])[:, None], scanned), 1.0)
        return ((counts >= 2) * occupancy[states]).sum(axis=1)

    return reward


def build_sensor_network(*, name: str, area_names: Sequence[str], neighbours: Sequence[Sequence[int]],
                         watched: Sequence[Sequence[int]], targets: int, miss: np.ndarray, move: float,
                         parameters: dict[str, object]) -> DecPOMDP:
    """Assemble a sensor network from its geometry (see the module docstring)."""
    n_areas = len(area_names)
    if not 1 <= targets <= n_areas:
        raise InputError(f"{targets} targets do not fit in {n_areas} areas", source=name, field="targets")
    if not 0.0 <= move <= 1.0:
        raise InputError(f"move probability {move} is not in [0, 1]", source=name, field="move")
    if np.any((miss < 0) | (miss > 1)):
        raise InputError("miss probabilities must lie in [0, 1]", source=name, field="miss")
    occupied = np.array(list(itertools.combinations(range(n_areas), targets)), dtype=np.int64)
    occupancy = np.zeros((occupied.shape[0], n_areas))
    np.put_along_axis(occupancy, occupied, 1.0, axis=1)
    transition = target_set_transition(occupied, single_target_kernel(neighbours, move))
    tables = tuple(presence_observation_table(occupancy, w, miss) for w in watched)
    observation = FactoredObservation(tables=tables, own_action=False)
    m_bits = [len(w) for w in watched]
    return DecPOMDP(
        name=name,
        agent_names=tuple(f"sensor{i}" for i in range(len(watched))),
        state_names=tuple("+".join(area_names[a] for a in row) for row in occupied),
        action_names=tuple(tuple(f"scan-{area_names[a]}" for a in w) for w in watched),
        observation_names=tuple(tuple(format(o, f"0{m}b") for o in range(2**m)) for m in m_bits),
        initial=np.full(occupied.shape[0], 1.0 / occupied.shape[0]),
        transition=Transition((transition,)),
        observation=observation,
        initial_observation=observation,
        states=occupancy,
        discount=1.0,
        reward=_tracking_reward(np.array(watched, dtype=np.int64), occupancy),
        parameters=parameters,
    )


RING_WATCHED = ((0, 1), (3, 0), (1, 2), (2, 3))


def sensor_ring(*, noisy: bool = False, move: float = 0.2, miss: float | None = None) -> DecPOMDP:
    """The 2x2 example of the paper's Fig. 1 on a ring of four areas, one target.

    ``noisy`` misses targets in areas 1 and 2 with probability 0.5 (or ``miss``).
    """
    miss_value = (0.5 if miss is None else miss) if noisy else (0.0 if miss is None else miss)
    miss_per_area = np.array([miss_value, miss_value, 0.0, 0.0]) if noisy else np.full(4, miss_value)
    base = "sensor-ring-noisy" if noisy else "sensor-ring"
    name = base if (move == 0.2 and miss is None) else f"{base}:move={move:g}" + (
        "" if miss is None else f":miss={miss:g}")
    return build_sensor_network(
        name=name,
        area_names=[f"area{k}" for k in range(1, 5)],
        neighbours=[[(a - 1) % 4, (a + 1) % 4] for a in range(4)],
        watched=RING_WATCHED,
        targets=1,
        miss=miss_per_area,
        move=move,
        parameters={"areas": 4, "targets": 1, "move": move, "miss": miss_per_area.tolist()},
    )


def torus_neighbours(rows: int, cols: int) -> list[list[int]]:
    """Distinct 4-neighbours of every cell of an R x C torus (cell index r * C + c)."""
    out = []
    for r in range(rows):
        for c in range(cols):
            cells = {((r + dr) % rows) * cols + (c + dc) % cols for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))}
            cells.discard(r * cols + c)
            out.append(sorted(cells))
    return out


def corner_sensors(rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """The four cells around each corner (r, c) of an R x C torus: (r-1, c-1), (r-1, c), (r, c-1), (r, c)."""
    def cell(r: int, c: int) -> int:
        return (r % rows) * cols + c % cols

    return [(cell(r - 1, c - 1), cell(r - 1, c), cell(r, c - 1), cell(r, c)) for r in range(rows) for c in range(cols)]


def sensor_grid(rows: int = 5, cols: int = 5, *, targets: int = 2, miss: float = 0.0, move: float = 0.2) -> DecPOMDP:
    """R x C areas on a torus, a sensor at each area corner watching its 4 areas, K targets."""
    name = f"sensor-grid:{rows}x{cols}:targets={targets}:miss={miss:g}:move={move:g}"
    if rows < 2 or cols < 2:
        raise InputError(f"the torus needs at least 2 rows and 2 columns, got {rows}x{cols}", source=name,
                         field="size")
    return build_sensor_network(
        name=name,
        area_names=[f"r{r}c{c}" for r in range(rows) for c in range(cols)],
        neighbours=torus_neighbours(rows, cols),
        watched=corner_sensors(rows, cols),
        targets=targets,
        miss=np.full(rows * cols, miss),
        move=move,
        parameters={"rows": rows, "cols": cols, "targets": targets, "miss": miss, "move": move},
    )
