"""Theorem 8 (composite beats individual diffusion), Eq. 18, on the composite runs of `composite_common`.

"When there is only one fixed point for the diffusion model conditioned on tau_i, i in [n],
assume that the final element y^(L) distributes uniformly, composite diffusion provides a
more accurate global state estimation than individual diffusion":
E ||y^(L) - s|| <= (1/|F_s|) sum_{y*_i in F_s} ||y*_i - s||  (Eq. 18, docs/claims.md#composite-diffusion), with F_s the
set of the agents' fixed points near s, here y*_i(s) = phi_inf(tau_i)(s) deduplicated to
COMPOSITE_DISTANCE. The proof (Jensen with E[beta_j] = 1/|F_s|) needs F_s affinely
independent, i.e. conv F_s a simplex (docs/claims.md#theorem-8, the `jensen_simplex` derivation).

* ``theorem8.composite_vs_individual``: the mean error of the Step-2-accepted composite
  sequences that approach s (with a normal CONFIDENCE_LEVEL interval) against the right-hand
  side. Assumptions: one fixed point per agent (each agent's own flow from every Step-1 start
  ends at one point), F_s affinely independent, and y^(L) uniform on conv F_s, tested through
  a necessary condition that the proof uses: the mean barycentric coordinates of y^(L) equal
  1/|F_s| (a z-test against their variance under the uniform law, Bonferroni over the
  coordinates; a deterministic limit cycle fails it). The agents' individual-diffusion error
  from the same starts is reported with it.
* ``theorem8.uniform_hull``: Eq. 18 under the paper's own idealisation, y uniform on
  conv F_s, so that only the simplex assumption is in play. conv F_s is triangulated in its
  affine hull (Delaunay), y sampled by volume and Dirichlet(1, ..., 1) weights; as
  ||y - s|| <= sum_j beta_j ||v_j - s|| inside each simplex, the volume-weighted mean of the
  simplices' vertex distances is an exact upper bound on E||y - s|| (equal to the right-hand
  side when F_s is a simplex: Jensen), which caps the Monte-Carlo interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import Delaunay, QhullError
from scipy.stats import norm

from decdiff.implementations.dynamics.fixed_points import cluster
from decdiff.implementations.dynamics.flows import fixed_sigma_flow
from decdiff.properties.common import describe_joint_history, target_margin
from decdiff.properties.composite_common import (
    CompositeSetup,
    cached,
    composite_runs,
    composite_setups,
    describe_sequence,
)
from decdiff.properties.context import CheckContext
from decdiff.properties.registration import register_check
from decdiff.properties.theorem7 import (
    ALL_AGENTS,
    acceptance,
    accepted_rows,
    composite_subject,
    local_assumptions,
)
from decdiff.results import CheckResult
from decdiff.tolerances import COMPOSITE_DISTANCE, CONFIDENCE_LEVEL, FLOW_STEP

COMPOSITE = "theorem8.composite_vs_individual"
UNIFORM = "theorem8.uniform_hull"
#: Uniform samples of conv F_s per (joint history, state) in ``theorem8.uniform_hull``.
HULL_SAMPLES = 2048
#: A non-simplex F_s of m points with affine rank r is triangulated (Qhull's Delaunay) when
#: binomial(m, r + 1), a bound on the number of simplices of any triangulation, is at most this.
MAX_SIMPLICES = 10**6
#: What the Theorem 8 checks compare with (Eq. 18 is compared without the relative slack of Theorem 7).
TOLERANCES = {"distance": COMPOSITE_DISTANCE, "flow_step": FLOW_STEP, "confidence": CONFIDENCE_LEVEL}


@dataclass(frozen=True)
class NearFixedPoints:
    """F_s for one run and target: distinct points ``[m, d]``, their affine rank, the Eq. 18 right-hand side."""

    points: np.ndarray
    rank: int
    state: np.ndarray
    mean_distance: float

    @property
    def simplex(self) -> bool:
        return self.rank == self.points.shape[0] - 1


def fixed_point_set(run: CompositeSetup, t: int) -> NearFixedPoints:
    """The agents' fixed points near target t, deduplicated, with the numerical affine rank.

    Directions count when the singular value of the centred points exceeds
    COMPOSITE_DISTANCE sqrt(m) (what perturbing each point by COMPOSITE_DISTANCE can produce).
    """
    reps, _ = cluster(run.fixed[:, t], COMPOSITE_DISTANCE)
    points = reps.numpy()
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    rank = int((singular > COMPOSITE_DISTANCE * math.sqrt(points.shape[0])).sum())
    state = run.target_states[t].numpy()
    return NearFixedPoints(points, rank, state, float(np.linalg.norm(points - state, axis=1).mean()))


def fixed_point_sets(runs: list[CompositeSetup]) -> list[tuple[int, int, NearFixedPoints]]:
    return [(k, t, fixed_point_set(run, t)) for k, run in enumerate(runs) for t in range(run.targets.size)]


@dataclass(frozen=True)
class Eq18Case:
    """One (run, target) comparison: left side ``left`` (an estimate of E||y - s||) against F_s's mean
    distance; ``value``, ``low``, ``high`` are left - right and its interval."""

    run: int
    target: int
    fps: NearFixedPoints
    left: float
    value: float
    low: float
    high: float
    row: int = -1


def decide(cases: list[Eq18Case], undecided: int = 0) -> bool | None:
    """False when some interval lies above COMPOSITE_DISTANCE, True when all lie below, else None."""
    if not cases:
        return None
    if any(c.low > COMPOSITE_DISTANCE for c in cases):
        return False
    if undecided == 0 and all(c.high <= COMPOSITE_DISTANCE for c in cases):
        return True
    return None


# ----- theorem8.composite_vs_individual ---------------------------------------------------------------
def individual_ends(ctx: CheckContext) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per run: ``[k, n_random, d]`` ends of each agent's own flow from the Step-1 starts, and convergence."""

    def compute() -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        for run in composite_runs(ctx):
            flows = [fixed_sigma_flow(run.maps[a], run.starts[run.random_rows], ctx.sigma, ctx.budget.iterations,
                                      tol=FLOW_STEP) for a in run.order]
            out.append((torch.stack([f.y for f in flows]), torch.stack([f.converged for f in flows])))
        return out

    return cached(ctx, "individual_ends", compute)


def single_fixed_point(ends: torch.Tensor, converged: torch.Tensor) -> bool:
    """Every agent's flows converged, all to one point (within COMPOSITE_DISTANCE)."""
    return bool(converged.all()) and all(cluster(e, COMPOSITE_DISTANCE)[0].shape[0] == 1 for e in ends)


def uniform_weights_test(fps: NearFixedPoints, y: np.ndarray) -> tuple[bool, float]:
    """Is the mean barycentric coordinate of the rows of ``y`` 1/m, as under the uniform law on the simplex?

    Under Dirichlet(1, ..., 1) each coordinate has variance (m - 1) / (m^2 (m + 1)); the mean of
    N rows is rejected when it is further than z sqrt(var / N) from 1/m, z the two-sided
    CONFIDENCE_LEVEL quantile with a Bonferroni correction over the m coordinates.
    Returns (accepted, largest |mean - 1/m|).
    """
    m = fps.points.shape[0]
    if m == 1:
        return True, 0.0
    system = np.vstack([fps.points.T, np.ones((1, m))])
    beta = np.linalg.lstsq(system, np.vstack([y.T, np.ones((1, y.shape[0]))]), rcond=None)[0].T
    gap = np.abs(beta.mean(axis=0) - 1.0 / m)
    z = norm.ppf(1 - (1 - CONFIDENCE_LEVEL) / (2 * m))
    return bool((gap <= z * math.sqrt((m - 1) / (m * m * (m + 1) * y.shape[0]))).all()), float(gap.max())


@register_check(COMPOSITE, "Theorem 8", "mean error of accepted composite sequences <= mean distance of the "
                "agents' fixed points to the state (Eq. 18), with the simplex assumption checked")
def composite_vs_individual(ctx: CheckContext) -> list[CheckResult]:
    runs = composite_runs(ctx)
    ends = individual_ends(ctx)
    z = norm.ppf(0.5 + CONFIDENCE_LEVEL / 2)
    sets = fixed_point_sets(runs)
    cases, uniform, gaps, individual = [], [], [], []
    for k, t, fps in sets:
        run = runs[k]
        rows = accepted_rows(run)
        rows = rows[run.assigned[rows] == t]
        if rows.numel() == 0:
            continue
        errors = run.errors[rows, t].numpy()
        half = z * errors.std(ddof=1) / math.sqrt(errors.size) if errors.size > 1 else 0.0
        value = float(errors.mean()) - fps.mean_distance
        cases.append(Eq18Case(k, t, fps, float(errors.mean()), value, float(value - half), float(value + half),
                              int(rows[0])))
        ok, gap = uniform_weights_test(fps, run.flow.y[rows].numpy()) if fps.simplex else (False, math.nan)
        uniform.append(ok)
        gaps.append(gap)
        individual.append(float((ends[k][0] - run.target_states[t]).norm(dim=2).mean()))
    worst = max(cases, key=lambda c: c.value) if cases else None
    conclusion = decide(cases)
    counterexample = None
    if conclusion is False:
        case = max(cases, key=lambda c: c.low)
        counterexample = {**describe_sequence(ctx, runs[case.run], case.row), "composite_mean_error": case.left,
                          "mean_fixed_point_distance": case.fps.mean_distance,
                          "fixed_points": case.fps.points.tolist(), "affinely_independent": case.fps.simplex}
    assumptions = {
        "one_fixed_point_per_agent": all(single_fixed_point(e, c) for e, c in ends),
        "fixed_points_affinely_independent": all(fps.simplex for _, _, fps in sets),
        "final_iterate_uniform": bool(uniform) and all(uniform),
    }
    result = CheckResult.make(
        id=COMPOSITE, claim="Theorem 8", subject=composite_subject(ctx, ALL_AGENTS),
        assumptions=assumptions, conclusion_holds=conclusion, observed=worst.value if worst else None,
        bound=COMPOSITE_DISTANCE, ci=(worst.low, worst.high) if worst else None, n_cases=len(cases), seed=ctx.seed,
        tolerance=TOLERANCES, counterexample=counterexample,
        reproduce=ctx.reproduce(COMPOSITE),
        details={"observed_is": "max over (joint history, state s) of mean ||y^(L) - s|| over accepted sequences "
                                "- mean_{y* in F_s} ||y* - s||",
                 "ci_is": "normal interval of observed for the worst (joint history, state)",
                 "step2": acceptance(runs),
                 "mean_composite_error": float(np.mean([c.left for c in cases])) if cases else None,
                 "mean_fixed_point_distance": float(np.mean([c.fps.mean_distance for c in cases])) if cases else None,
                 "mean_individual_diffusion_error": float(np.mean(individual)) if individual else None,
                 "largest_barycentric_gap": max((g for g in gaps if not math.isnan(g)), default=None),
                 "fixed_point_sets": len(sets), "simplex_sets": sum(fps.simplex for _, _, fps in sets)},
    )
    target_margin(result.margin, COMPOSITE)
    return [result]


# ----- theorem8.uniform_hull ------------------------------------------------------------------------------
def hull_simplices(fps: NearFixedPoints) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Simplices (vertex arrays) triangulating conv F_s and their volume fractions; None when there
    could be more than MAX_SIMPLICES or Qhull fails. A simplex F_s is its own triangulation;
    (numerically) collinear points, affine rank 0 or 1, span the segment between the extreme two
    along their principal direction."""
    points, r = fps.points, fps.rank
    if fps.simplex:
        return [points], np.ones(1)
    if math.comb(points.shape[0], r + 1) > MAX_SIMPLICES:
        return None
    centred = points - points.mean(axis=0)
    coords = centred @ np.linalg.svd(centred, full_matrices=False)[2][:max(r, 1)].T       # [m, max(r, 1)]
    if r <= 1:
        ends = [int(np.argmin(coords[:, 0])), int(np.argmax(coords[:, 0]))]
        return [points[ends]], np.ones(1)
    try:
        simplices = Delaunay(coords).simplices
    except QhullError:
        return None
    edges = coords[simplices[:, 1:]] - coords[simplices[:, :1]]
    volumes = np.abs(np.linalg.det(edges))
    return [points[s] for s in simplices], volumes / volumes.sum()


def uniform_hull_mean(fps: NearFixedPoints, generator: np.random.Generator) -> tuple[float, float, float] | None:
    """(estimate, lower, upper) of E ||y - s|| for y uniform on conv F_s (None when not triangulated).

    With y = sum_j beta_j v_j in the picked simplex, g = ||y - s|| - sum_j beta_j ||v_j - s|| <= 0
    (triangle inequality) and E[sum_j beta_j ||v_j - s||] = cap = sum_t w_t mean_{v in t} ||v - s||
    exactly (E beta_j = 1 / (r + 1)), so E ||y - s|| = cap + E g is estimated through the control
    variate g (zero when the v_j - s are aligned) and its interval is capped at cap.
    """
    pieces = hull_simplices(fps)
    if pieces is None:
        return None
    simplices, fractions = pieces
    cap = float(sum(w * np.linalg.norm(v - fps.state, axis=1).mean() for v, w in zip(simplices, fractions)))
    picks = generator.choice(len(simplices), size=HULL_SAMPLES, p=fractions)
    gaps = np.empty(HULL_SAMPLES)
    for j, vertices in enumerate(simplices):
        rows = np.flatnonzero(picks == j)
        if rows.size:
            weights = generator.dirichlet(np.ones(vertices.shape[0]), size=rows.size)
            gaps[rows] = (np.linalg.norm(weights @ vertices - fps.state, axis=1)
                          - weights @ np.linalg.norm(vertices - fps.state, axis=1))
    mean = cap + float(gaps.mean())
    half = norm.ppf(0.5 + CONFIDENCE_LEVEL / 2) * float(gaps.std(ddof=1)) / math.sqrt(HULL_SAMPLES)
    return mean, float(mean - half), float(min(mean + half, cap))


@register_check(UNIFORM, "Theorem 8", "for y uniform on the hull of the agents' fixed points near s, "
                "E||y - s|| <= their mean distance to s (Eq. 18; needs a simplex hull)")
def uniform_hull(ctx: CheckContext) -> list[CheckResult]:
    runs = composite_setups(ctx)
    sets = fixed_point_sets(runs)
    generator = np.random.default_rng(ctx.seed)
    cases, undecided = [], 0
    for k, t, fps in sets:
        estimate = uniform_hull_mean(fps, generator)
        if estimate is None:
            undecided += 1
            continue
        shift = fps.mean_distance
        cases.append(Eq18Case(k, t, fps, estimate[0], estimate[0] - shift, estimate[1] - shift, estimate[2] - shift))
    conclusion = decide(cases, undecided)
    worst = max(cases, key=lambda c: c.value) if cases else None
    counterexample = None
    if conclusion is False:
        case = max(cases, key=lambda c: c.low)
        run, histories = runs[case.run], ctx.joint_histories
        counterexample = {**describe_joint_history(ctx.model, histories.actions[run.row],
                                                   histories.observations[run.row]),
                          "state": ctx.model.state_names[int(run.targets[case.target])],
                          "fixed_points": case.fps.points.tolist(), "affine_rank": case.fps.rank,
                          "uniform_hull_mean_distance": case.left,
                          "mean_fixed_point_distance": case.fps.mean_distance}
    result = CheckResult.make(
        id=UNIFORM, claim="Theorem 8", subject=ctx.subject(),
        assumptions={"fixed_points_affinely_independent": all(fps.simplex for _, _, fps in sets),
                     "fixed_points_near_states": local_assumptions(ctx, runs)["fixed_points_near_states"]},
        conclusion_holds=conclusion, observed=worst.value if worst else None, bound=COMPOSITE_DISTANCE,
        ci=(worst.low, worst.high) if worst else None, n_cases=len(cases), seed=ctx.seed,
        tolerance=TOLERANCES, counterexample=counterexample,
        reproduce=ctx.reproduce(UNIFORM),
        details={"observed_is": "max over (joint history, state s) of E_{y ~ U(conv F_s)} ||y - s|| "
                                "- mean_{y* in F_s} ||y* - s||",
                 "ci_is": "Monte-Carlo interval of observed for the worst (joint history, state), capped by the "
                          "exact triangulation bound",
                 "samples_per_set": HULL_SAMPLES, "fixed_point_sets": len(sets),
                 "simplex_sets": sum(fps.simplex for _, _, fps in sets),
                 "not_triangulated": undecided, "max_simplices": MAX_SIMPLICES},
    )
    target_margin(result.margin, UNIFORM)
    return [result]
