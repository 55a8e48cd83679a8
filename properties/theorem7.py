"""Theorem 7 (composite diffusion approaches the true state), on the composite runs of `composite_common`.

"In collectively observable Dec-POMDPs, for a sequence k satisfying the conditions in
Step 2, the composite diffusion algorithm approaches the true state s with an error bound
max_i D_phi(tau_i, s). Specifically, it converges to the convex hull of the agents' fixed
points near s" (docs/claims.md#composite-diffusion). Two checks on the sequences started from N(0, sigma^2 I)
(Step 1) that pass both Step-2 checks:

* ``theorem7.composite_convergence``: ||y^{(L)} - s|| <= max_i ||D_phi(tau_i, s)|| (+ slack);
  the Step-2 acceptance rate is reported with its Wilson interval (``ci``), and the error
  against 3 D_bar, which is all the Step-2 checks guarantee (triangle inequality, §4 [R]);
* ``theorem7.convex_hull``: the distance of the limit orbit (the last k iterates) to
  conv{y*_i(s)} is <= slack, computed with cvxpy (Clarabel).

Assumptions: collective observability in the form under which the agents' common
consistent state is the true one (Theorem 3's (C1) and (C2), docs/claims.md#support-conditions); the agents'
fixed points near s exist (their flows from s converge within the fixed-point checks'
matching tolerance of s: sigma below each state's critical level); and isotropic local maps (the
condition under which the hull is invariant; with anisotropic Jacobians both conclusions
fail even when the checks pass, docs/claims.md#theorem-7), read to first order: the anisotropy can move
the orbit off the hull by at most the comparisons' slack, COMPOSITE_DISTANCE + COMPOSITE_RELATIVE
D_bar (`CompositeSetup.isotropy`).
The true state s is the joint-history support's state (the nearest one relative to its
bound when the joint history does not determine it). No accepted sequence: inconclusive.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.dynamics.flows import proportion_interval
from decdiff.properties.common import target_margin
from decdiff.properties.composite_common import (
    TOLERANCES,
    CompositeRun,
    CompositeSetup,
    composite_runs,
    describe_sequence,
    distinct_orbits,
    hull_distances,
)
from decdiff.properties.context import CO_CONDITIONS, CheckContext
from decdiff.properties.fixed_point_sets import deviation_tolerance
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult
from decdiff.tolerances import COMPOSITE_DISTANCE

CONVERGENCE = "theorem7.composite_convergence"
HULL = "theorem7.convex_hull"
ALL_AGENTS = "seeded random permutation per joint history"


def local_assumptions(ctx: CheckContext, runs: list[CompositeSetup]) -> dict[str, bool]:
    """The participants' fixed points near every target exist, and the local maps are isotropic there.

    "Near": the flow from s converged within FIXED_POINT_DEVIATION_FRACTION x (the smallest
    distance between two states) of s, the tolerance the fixed-point checks match states with;
    above the critical sigma of a state its fixed point is gone and the flow from s leaves.
    """
    near = deviation_tolerance(ctx)
    return {"fixed_points_near_states": all(bool(r.fixed_converged.all()) and bool((r.deviation <= near).all())
                                            for r in runs),
            "isotropic_local_maps": all(bool((r.isotropy <= COMPOSITE_DISTANCE + r.slack).all()) for r in runs)}


def composite_subject(ctx: CheckContext, agents: str) -> dict[str, object]:
    return ctx.subject(agent_order=agents, starts="N(0, sigma^2 I) (Step 1)")


def acceptance(runs: list[CompositeRun]) -> dict[str, object]:
    """Step-2 acceptance of the Step-1 sequences: counts, rate, Wilson interval, why sequences fail."""
    accepted = sum(int(r.step1_accepted.sum()) for r in runs)
    trials = sum(r.n_random for r in runs)
    return {"accepted": accepted, "sequences": trials, "rate": accepted / trials if trials else None,
            "ci": proportion_interval(accepted, trials),
            "failed_check1": sum(int((~r.step2.jacobian_ok[r.random_rows]).sum()) for r in runs),
            "failed_check2": sum(int((~r.step2.flow_ok[r.random_rows]).sum()) for r in runs),
            "unconverged_orbits": sum(int((~r.orbit_converged[r.random_rows]).sum()) for r in runs),
            "max_composite_steps": max((r.steps for r in runs), default=0)}


def accepted_rows(run: CompositeRun) -> torch.Tensor:
    return torch.nonzero(run.step1_accepted).flatten()


def worst_accepted_excess(runs: list[CompositeRun]) -> tuple[float | None, int, int]:
    """max over accepted Step-1 sequences of min_s (error - max_i D) - COMPOSITE_RELATIVE D_bar; and where."""
    best, where = None, (-1, -1)
    for k, run in enumerate(runs):
        rows = accepted_rows(run)
        if rows.numel() == 0 or run.targets.size == 0:
            continue
        values = run.excess[rows] - run.slack
        j = int(values.argmax())
        if best is None or float(values[j]) > best:
            best, where = float(values[j]), (k, int(rows[j]))
    return best, *where


@register_check(CONVERGENCE, "Theorem 7", "sequences passing Step 2 end within max_i D_phi(tau_i, s) of the true "
                "state (acceptance rate with a Wilson interval)")
def composite_convergence(ctx: CheckContext) -> list[CheckResult]:
    runs = composite_runs(ctx)
    rate = acceptance(runs)
    observed, k, row = worst_accepted_excess(runs)
    conclusion = None if observed is None else observed <= COMPOSITE_DISTANCE
    result = CheckResult.make(
        id=CONVERGENCE, claim="Theorem 7", subject=composite_subject(ctx, ALL_AGENTS),
        assumptions={**ctx.facts_of(*CO_CONDITIONS), **local_assumptions(ctx, runs)}, conclusion_holds=conclusion,
        observed=observed, bound=COMPOSITE_DISTANCE, ci=rate["ci"], n_cases=rate["sequences"], seed=ctx.seed,
        tolerance=TOLERANCES,
        counterexample=describe_sequence(ctx, runs[k], row) if conclusion is False else None,
        reproduce=ctx.reproduce(CONVERGENCE),
        details={"observed_is": "max over accepted sequences of ||y^(L) - s|| - max_i ||D_phi(tau_i, s)|| "
                                "- COMPOSITE_RELATIVE D_bar",
                 "ci_is": "Wilson interval of the Step-2 acceptance rate",
                 "step2": rate, "joint_histories": len(runs),
                 "dbar_is": "max_i ||D_phi(tau_i, s)|| over agents and candidate states; check (2) bound 2 D_bar",
                 **accepted_error_stats(runs),
                 "max_dbar": max((r.dbar for r in runs), default=None),
                 "max_isotropy_offset": max((float(r.isotropy.max()) for r in runs if r.targets.size), default=None),
                 "joint_history_co": ctx.facts["joint_history_co"]},
    )
    target_margin(result.margin, CONVERGENCE)
    return [result]


def accepted_error_stats(runs: list[CompositeRun]) -> dict[str, float | None]:
    """Over accepted sequences: the largest ||y^(L) - s|| / max_i D and ||y^(L) - s|| - 3 D_bar."""
    ratios, three_dbar = [], []
    for run in runs:
        rows = accepted_rows(run)
        if rows.numel() == 0 or run.targets.size == 0:
            continue
        error, bound = run.assigned_error[rows], run.assigned_bound[rows]
        three_dbar.append(float(error.max()) - 3.0 * run.dbar)
        if bool((bound > 0).any()):
            ratios.append(float((error[bound > 0] / bound[bound > 0]).max()))
    return {"max_error_over_max_deviation": max(ratios, default=None),
            "max_error_minus_3_dbar": max(three_dbar, default=None)}


def orbit_hull_distances(runs: list[CompositeRun]) -> tuple[list[tuple[int, int, float]], str]:
    """(run, row, distance of the row's limit orbit to conv{y*_i(s)} - COMPOSITE_RELATIVE D_bar) for the distinct
    accepted orbits, and the solver's status."""
    cases, points, vertices = [], [], []
    for k, run in enumerate(runs):
        if run.targets.size == 0:
            continue
        for row in distinct_orbits(run, accepted_rows(run)).tolist():
            cases.append((k, row))
            points.append(run.flow.path[1:, row].numpy())
            vertices.append(run.fixed[:, int(run.assigned[row])].numpy())
    distances, status = hull_distances(points, vertices)
    per_point = np.split(distances, np.cumsum([p.shape[0] for p in points])[:-1]) if points else []
    return [(k, row, float(np.max(d)) - runs[k].slack) for (k, row), d in zip(cases, per_point)], status


@register_check(HULL, "Theorem 7", "the limit orbits of sequences passing Step 2 lie in the convex hull of the "
                "agents' fixed points near the true state (cvxpy)")
def convex_hull(ctx: CheckContext) -> list[CheckResult]:
    runs = composite_runs(ctx)
    rate = acceptance(runs)
    cases, status = orbit_hull_distances(runs)
    distances = np.array([d for _, _, d in cases])
    decided = bool(cases) and not bool(np.isnan(distances).any())
    worst = int(np.argmax(distances)) if decided else -1
    observed = float(distances[worst]) if decided else None
    conclusion = None if observed is None else observed <= COMPOSITE_DISTANCE
    counterexample = None
    if conclusion is False:
        k, row, dist = cases[worst]
        run = runs[k]
        counterexample = {**describe_sequence(ctx, run, row), "hull_distance": dist + run.slack,
                          "hull_vertices": run.fixed[:, int(run.assigned[row])].tolist(),
                          "isotropy_offset": float(run.isotropy[int(run.assigned[row])])}
    result = CheckResult.make(
        id=HULL, claim="Theorem 7", subject=composite_subject(ctx, ALL_AGENTS),
        assumptions={**ctx.facts_of(*CO_CONDITIONS), **local_assumptions(ctx, runs)}, conclusion_holds=conclusion,
        observed=observed, bound=COMPOSITE_DISTANCE, ci=rate["ci"], n_cases=len(cases), seed=ctx.seed,
        tolerance=TOLERANCES, counterexample=counterexample, reproduce=ctx.reproduce(HULL),
        details={"observed_is": "max over distinct accepted limit orbits of the distance of an orbit point to "
                                "conv{y*_i(s)} (Clarabel; an upper bound) - COMPOSITE_RELATIVE D_bar",
                 "ci_is": "Wilson interval of the Step-2 acceptance rate", "step2": rate,
                 "distinct_orbits": len(cases), "solver": "CLARABEL", "solver_status": status,
                 "max_isotropy_offset": max((float(r.isotropy.max()) for r in runs if r.targets.size), default=None)},
    )
    target_margin(result.margin, HULL)
    return [result]
