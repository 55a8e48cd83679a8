"""Fig. 1 analogue: the vector fields y -> f(tau_i, y) of every agent, with fixed points and consistent states.

docs/claims.md#experiments: the 2x2 ring with one target, histories of length 1, the first two state
dimensions, arrows from y to y' = f(tau_i, y) (Eq. 7). For each model one joint history
with the target in area 1 is taken from seeded samples: the one whose joint posterior has
the largest support (the paper's non-CO case, all sensors observing (0,0), has support
{area 1, area 2}). For every agent the field is evaluated on a grid of y = (a, b, 0, ..., 0)
for the exact denoiser f* (Eq. 2) and for the trained one, and each denoiser's fixed points
(Eq. 11, found by `fixed_points` from starts drawn from p_sigma(y | tau_i)) are projected
on the same two dimensions, with the consistent states S_G(tau_i) (Definition 1) and their
posterior probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import float64_copy
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import fixed_points
from decdiff.implementations.dynamics.flows import ConditionedDenoiser
from decdiff.implementations.histories import HistoryBatch, agent_histories
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.sampling import Trajectories, sample_trajectories
from decdiff.report.data import rounded
from decdiff.report.suites import FieldFigure

#: Trajectories sampled to pick the figure's joint history.
CANDIDATES = 256
#: The true state of the figure (the paper's "target in Area 1").
TRUE_STATE = 0


def fig1_history(model: DecPOMDP, history_length: int, seed: int) -> Trajectories:
    """One sampled joint history with true state TRUE_STATE and the largest joint-posterior support."""
    traj = sample_trajectories(model, history_length, CANDIDATES, seed=seed)
    rows = np.flatnonzero(traj.states[:, -1] == TRUE_STATE)
    support = (model.joint_posterior(traj.actions[rows], traj.observations[rows]) > 0).sum(axis=1)
    b = int(rows[np.argmax(support)])
    return Trajectories(traj.states[b:b + 1], traj.actions[b:b + 1], traj.observations[b:b + 1])


def field_grid(spec: FieldFigure, state_dim: int) -> torch.Tensor:
    """``[A*A, d]`` points y = (a, b, 0, ..., 0), a and b on `spec.arrows` values over `spec.extent` (b fastest)."""
    axis = torch.linspace(spec.extent[0], spec.extent[1], spec.arrows, dtype=torch.float64)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.zeros(spec.arrows ** 2, state_dim, dtype=torch.float64)
    grid[:, 0], grid[:, 1] = a.reshape(-1), b.reshape(-1)
    return grid


def _denoiser_panel(denoiser, model: DecPOMDP, history: HistoryBatch, grid: torch.Tensor, spec: FieldFigure,
                    sigma: float, seed: int) -> dict[str, Any]:
    with torch.no_grad():
        image = ConditionedDenoiser(denoiser, history)(grid, sigma)
    found = fixed_points(denoiser, model, history, sigma, n_starts=spec.starts, seed=seed)
    return {"image": rounded(image[:, :2]),
            "fixed_points": [{"point": rounded(p.point[:2]), "stable": p.stable, "basin_mass": rounded(p.basin_mass),
                              "nearest_state": model.state_names[p.nearest_state],
                              "distance": rounded(p.distance)} for p in found.points]}


def model_panels(model: DecPOMDP, trained, spec: FieldFigure, seed: int) -> dict[str, Any]:
    """Fig. 1 data of one model: its joint history and, per agent, the exact and trained fields."""
    sigma, history_length = spec.training.sigma, spec.training.history_length
    traj = fig1_history(model, history_length, seed)
    histories = agent_histories(model, traj)
    exact = ExactDenoiser(model)
    posteriors = exact.posteriors(histories).numpy()
    grid = field_grid(spec, model.state_dim)
    denoisers = {"exact": exact, "trained": float64_copy(trained)}
    agents = []
    for i in range(model.n_agents):
        history = histories[i]
        consistent = np.flatnonzero(posteriors[i] > 0)
        agents.append({
            "agent": i,
            "observations": [model.observation_names[i][o] for o in traj.observations[0, :, i].tolist()],
            "consistent_states": [model.state_names[s] for s in consistent],
            "consistent_points": rounded(model.states[consistent][:, :2]),
            "posterior": rounded(posteriors[i][consistent]),
            **{name: _denoiser_panel(d, model, history, grid, spec, sigma, seed) for name, d in denoisers.items()},
        })
    joint = model.joint_posterior(traj.actions, traj.observations)[0]
    return {"model": model.name, "true_state": model.state_names[int(traj.states[0, -1])],
            "joint_support": [model.state_names[s] for s in np.flatnonzero(joint > 0)],
            "dimensions": list(model.state_names[:2]) if model.n_states == model.state_dim else ["y1", "y2"],
            "agents": agents}


def fig1_data(spec: FieldFigure, trained: dict[str, tuple], seed: int) -> dict[str, Any]:
    """The figure's JSON: grid, sigma and one entry per model (``trained``: model spec -> (model, denoiser))."""
    grid = field_grid(spec, 2)
    return {"sigma": spec.training.sigma, "history_length": spec.training.history_length, "width": spec.training.width,
            "grid": rounded(grid), "seed": seed,
            "models": [model_panels(*trained[m], spec, seed) for m in spec.models]}
