"""Fig. 2 and Fig. 3 analogues: where trained fixed points sit, and what their deviation depends on.

* **Fig. 2 (d)** (docs/claims.md#experiments): for one agent of a test joint history (the agent whose
  history has the number of consistent states closest to FIG2_CONSISTENT, the paper's
  "four fixed points"), the trained denoiser's fixed points (Eq. 11) against the consistent
  states S_G(tau_i), with the exact denoiser's for reference, projected on the two principal
  axes of the consistent states (full-dimensional distances are reported too).
* **Fig. 2 (f)**: for every agent of that joint history, the distance from the true state to
  the agent's nearest stable fixed point, trained and exact: the fixed-point sets meet at the
  true state only up to these distances (docs/claims.md#experiments, "the intersection would be empty").
* **Fig. 2 (g)** (§5.2): ||D_phi|| (Eq. 12) against rank(J_+) (Eq. 14) for the fixed points of
  sampled (history, state) pairs, with the surrogate residual R_hat (Eq. 17) of two epsilons.
  The numbers are those of the registered checks ``finding3.rank_deviation`` and
  ``theorem6.surrogate_bound`` run on the trained denoiser (their results are included).
* **Fig. 3** (§5.3): the same deviations against width, number of states and training
  trajectories, one trained denoiser per setting (the base configuration otherwise), from
  ``finding3.rank_deviation``'s fixed points (its results are included).

The checks a figure runs are listed under its ``checks`` and count towards the report's
verdicts like those of its verification runs (`decdiff.report.build.executed_checks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import float64_copy
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import fixed_points
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.training import sample_pairs
from decdiff.properties.context import Budget, CheckContext
from decdiff.properties.registration import run_checks
from decdiff.properties.trained_reference import HELD_OUT_OFFSET
from decdiff.report.data import rounded
from decdiff.report.suites import GridExperiments
from decdiff.report.training import TrainSpec, summary
from decdiff.tolerances import PRINCIPAL_AXES_TIE

#: Fig. 2 (d) shows the agent whose number of consistent states is closest to this.
FIG2_CONSISTENT = 4
#: The registered checks whose fixed points and residuals the figures plot.
RANK_CHECK, BOUND_CHECK = "finding3.rank_deviation", "theorem6.surrogate_bound"
#: Fig. 2 (g) draws R_hat for these epsilon quantiles (of the pairwise Jacobian distances).
FIG2_EPSILON_QUANTILES = (0.25, 1.0)


def deviation_checks(model: DecPOMDP, denoiser, spec: TrainSpec, trajectories: int, seed: int,
                     ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The registered checks `ids` on a trained denoiser, as JSON."""
    ctx = CheckContext(model=model, denoiser=denoiser, denoiser_label=f"checkpoints/{spec.key}.pt",
                       sigma=spec.config.sigma, history_length=spec.config.history_length, seed=seed,
                       budget=Budget(histories=trajectories))
    return [r.to_json() for r in run_checks(ctx, list(ids))]


def principal_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [d], axes [d, 2]): the top two principal directions of `points` (sign: largest entry positive).

    Directions whose singular values tie (within PRINCIPAL_AXES_TIE) span a subspace without a preferred
    basis; its basis is then the coordinate axes e_1, e_2, ... projected on it and orthonormalised in turn,
    so that every machine draws the same projection.
    """
    mean = points.mean(axis=0)
    _, singular, vt = np.linalg.svd(points - mean, full_matrices=True)
    singular = np.concatenate([singular, np.zeros(len(vt) - len(singular))])
    rows: list[np.ndarray] = []
    while len(rows) < 2:
        tied = np.abs(singular - singular[len(rows)]) <= PRINCIPAL_AXES_TIE * max(singular[0], 1e-300)
        block = vt[np.flatnonzero(tied)]
        projected = block.T @ block                                     # the projector on the tied subspace
        for column in projected.T:
            v = column - sum((r @ column) * r for r in rows)
            if np.linalg.norm(v) > np.sqrt(PRINCIPAL_AXES_TIE):
                rows.append(v / np.linalg.norm(v))
            if len(rows) == 2 or len(rows) == np.flatnonzero(tied).max() + 1:
                break
    axes = np.stack(rows[:2], axis=1)
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    return mean, axes * np.where(signs == 0, 1.0, signs)


def _points(found, model: DecPOMDP, mean: np.ndarray, axes: np.ndarray) -> list[dict[str, Any]]:
    return [{"point": rounded((p.point - mean) @ axes), "stable": p.stable,
             "nearest_state": model.state_names[p.nearest_state], "distance": rounded(p.distance),
             "basin_mass": rounded(p.basin_mass)} for p in found.points]


def fig2_data(grid: GridExperiments, model: DecPOMDP, denoiser, spec: TrainSpec, seed: int) -> dict[str, Any]:
    """Fig. 2 (d), (f) and (g) for the base trained denoiser."""
    sigma = spec.config.sigma
    pairs = sample_pairs(model, spec.config.history_length, 1, seed=seed + HELD_OUT_OFFSET)
    exact = ExactDenoiser(model)
    posteriors = exact.posteriors(pairs.histories).numpy()
    sizes = (posteriors > 0).sum(axis=1)
    agent = int(np.argmin(np.abs(sizes - FIG2_CONSISTENT)))
    true = int(torch.cdist(pairs.states[:1], torch.from_numpy(model.states.astype(np.float64))).argmin())
    trained64 = float64_copy(denoiser)
    found = {name: [fixed_points(d, model, pairs.histories[i], sigma, n_starts=grid.fixed_point_starts, seed=seed)
                    for i in range(model.n_agents)]
             for name, d in (("trained", trained64), ("exact", exact))}
    consistent = np.flatnonzero(posteriors[agent] > 0)
    mean, axes = principal_axes(model.states[consistent]) if consistent.size > 1 else \
        (model.states[consistent[0]], np.eye(model.state_dim)[:, :2])
    nearest_true = {name: [min((float(np.linalg.norm(p.point - model.states[true])) for p in fps.stable()),
                               default=None) for fps in sets] for name, sets in found.items()}
    checks = deviation_checks(model, denoiser, spec, grid.analysis_trajectories, seed, (RANK_CHECK, BOUND_CHECK))
    rank, bound = checks
    per_eps = [e for e in bound["details"]["per_epsilon"] if e["quantile"] in FIG2_EPSILON_QUANTILES]
    return {
        "model": model.name, "sigma": sigma, "training": spec.to_json()["config"],
        "agent_panel": {"agent": agent, "true_state": model.state_names[true],
                        "consistent_states": [model.state_names[s] for s in consistent],
                        "posterior": rounded(posteriors[agent][consistent]),
                        "consistent_points": rounded((model.states[consistent] - mean) @ axes),
                        "projection": "principal axes of the consistent states",
                        **{name: _points(sets[agent], model, mean, axes) for name, sets in found.items()}},
        "agents_panel": {"true_state": model.state_names[true], "consistent_counts": sizes.tolist(),
                         "nearest_stable_distance": rounded_or_none(nearest_true)},
        "rank_panel": {"ranks": rank["details"]["ranks"],
                       "deviation_norms": rounded(rank["details"]["deviation_norms"]),
                       "max_possible_rank": rank["details"]["max_possible_rank"],
                       "r_hat": [{"quantile": e["quantile"], "epsilon": rounded(e["epsilon"]),
                                  "mean_R_hat": None if e["mean_R_hat"] is None else rounded(e["mean_R_hat"]),
                                  "fraction_bounded_norm": e["fraction_bounded_norm"]} for e in per_eps]},
        "checks": checks,
    }


def rounded_or_none(values: dict[str, list[float | None]]) -> dict[str, list[float | None]]:
    return {k: [None if v is None else rounded(v) for v in vs] for k, vs in values.items()}


def fig3_data(grid: GridExperiments, load, records: dict[str, dict], seed: int) -> dict[str, Any]:
    """Fig. 3: deviations and ranks per width, number of states and training trajectories."""
    sweeps = {"width": [(w, grid.spec(width=w)) for w in grid.widths],
              "states": [(s, grid.spec(size=s)) for s in grid.sizes],
              "samples": [(n, grid.spec(samples=n)) for n in grid.samples]}
    panels, checks = {}, []
    for name, settings in sweeps.items():
        entries = []
        for value, spec in settings:
            model, denoiser = load(spec)
            (check,) = deviation_checks(model, denoiser, spec, grid.analysis_trajectories, seed, (RANK_CHECK,))
            checks.append(check)
            record = summary(records[spec.key])
            entries.append({"value": value, "states": model.n_states, "train_pairs": record["train_pairs"],
                            "training": record, "deviation_norms": rounded(check["details"]["deviation_norms"]),
                            "ranks": check["details"]["ranks"],
                            "max_possible_rank": check["details"]["max_possible_rank"],
                            "spearman": check["observed"], "verdict": check["verdict"]})
        panels[name] = entries
    return {"sigma": grid.base.sigma, "base": grid.spec().to_json(), "panels": panels, "checks": checks}
