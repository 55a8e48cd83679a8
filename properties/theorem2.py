"""Theorem 2 (state representation): the stable fixed points of f(tau, .) are the consistent states.

For each examined agent history tau (fixed_point_sets), the fixed points of the denoiser
under test are searched (fixed_points.py: starts from p_sigma(y | tau), and fewer from N(0, I)
that reach attractors where p_sigma has no mass; Newton refinement, stability by spectral
radius, Eq. 11) and matched to the consistent states S_G(tau)
(Definition 1) with the tolerance tol(tau, s) of fixed_point_sets: the certified radius for
f*, plus the deviation tolerance for any other denoiser. The conclusion F_phi(tau) = S_G(tau)
(docs/claims.md#support-conditions) holds when every consistent state has exactly one stable fixed point within
its tolerance and no other stable fixed point exists. The margin is continuous:

    observed = max over histories of max( max_s min_{y*} ||y* - s|| / tol(s),      (every state represented)
                                          max_{y*} min_s ||y* - s|| / tol(s) ),    (nothing else stable)

bound 1; two stable points within one state's tolerance add 2 - (second distance / tol).

Assumption evaluated: sigma below sigma_c (the certificate holds at sigma for every
consistent state examined); above it states merge or vanish (docs/claims.md#critical-sigma) and the
conclusion is still evaluated (outside-assumptions). Saddles are reported with their basin
mass (they should attract nothing, docs/claims.md#basin-masses), not judged.
"""

from __future__ import annotations

import numpy as np

from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    EXPLORATION_DIVISOR,
    ExaminedHistory,
    examined_histories,
    explored_fixed_points,
    found_fixed_points,
    history_description,
    search_completeness,
    sigma_below_sigma_c,
    stable_points,
    tolerance_record,
)
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult

ID = "theorem2.attractors_are_states"


def _ratios(states: np.ndarray, examined: ExaminedHistory, points: np.ndarray) -> np.ndarray:
    """``[P, K]`` distance of each stable point to each consistent state, in units of the state's tolerance."""
    consistent = states[examined.consistent]
    return np.linalg.norm(points[:, None, :] - consistent[None, :, :], axis=-1) / examined.tolerance[None, :]


def failure_note(states: np.ndarray, examined: list[ExaminedHistory], stable: list[np.ndarray],
                 errors: np.ndarray) -> str:
    """The one line of why: stable points far from every consistent state, states with no stable point near."""
    ratios = [_ratios(states, e, p) for e, p in zip(examined, stable)]
    far = sum(int((r.min(axis=1) > 1.0).sum()) for r in ratios if r.size)
    missing = sum(int((r.min(axis=0) > 1.0).sum()) if r.size else len(e.consistent) for e, r in zip(examined, ratios))
    where = f"in {int((errors > 1.0).sum())} of {len(examined)} histories"
    if far == missing == 0:
        return f"two stable points at one consistent state {where}"
    return (f"{far} stable points far from every consistent state and {missing} consistent states with no stable "
            f"point near, {where}")


def representation_error(states: np.ndarray, examined: ExaminedHistory, points: np.ndarray) -> float:
    """The observed value of the module docstring for one history (inf when no stable point exists)."""
    if points.shape[0] == 0:
        return np.inf
    ratio = _ratios(states, examined, points)
    covered = ratio.min(axis=0).max()
    nothing_else = ratio.min(axis=1).max()
    worst = max(covered, nothing_else)
    if points.shape[0] > 1:
        second = np.sort(ratio, axis=0)[1]
        duplicates = second[second < 1.0]
        if duplicates.size:
            worst = max(worst, 2.0 - float(duplicates.min()))
    return float(worst)


def describe_points(ctx: CheckContext, examined: ExaminedHistory, found) -> list[dict]:
    """Each fixed point found: where, nearest consistent state, distance, tolerance, stability, basin mass
    (under the search's start distribution, named in ``starts``)."""
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    points = np.array([p.point for p in found.points]).reshape(len(found.points), -1)
    nearest, distance, ratio = examined.match(states, points)
    return [{"point": p.point.tolist(), "stable": p.stable, "spectral_radius": p.spectral_radius,
             "nearest_state": ctx.model.state_names[examined.consistent[k]], "distance": float(d),
             "within_tolerance": bool(r <= 1.0), "starts": found.start, "basin_mass": p.basin_mass,
             "basin_ci": list(p.basin_ci)}
            for p, k, d, r in zip(found.points, nearest, distance, ratio)]


def searched_note(completeness: dict) -> str:
    """'No other attractor' is a proof only below sigma_iso (exact denoiser); elsewhere the note says what was not seen."""
    if completeness["proved_complete"] == completeness["histories"]:
        return ""
    mass = completeness["missable_basin_mass"]["p_sigma"]
    return f"no other attractor found, not proved: basins below {mass:.2g} (p_sigma starts) may be missed"


@register_check(ID, "Theorem 2", "the stable fixed points of each agent's denoiser are one per consistent state "
                "(within the certified radius or deviation tolerance) and nothing else is stable")
def attractors_are_states(ctx: CheckContext) -> list[CheckResult]:
    examined = examined_histories(ctx)
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    found = [found_fixed_points(ctx, e) for e in examined]
    stable = [stable_points(ctx, e) for e in examined]
    errors = np.array([representation_error(states, e, pts) for e, pts in zip(examined, stable)])
    worst = int(np.argmax(errors))
    observed = float(errors[worst])
    counterexample = None
    if observed > 1.0:
        counterexample = {**history_description(ctx, examined[worst]), "representation_error": observed,
                          "fixed_points": describe_points(ctx, examined[worst], found[worst])
                          + describe_points(ctx, examined[worst], explored_fixed_points(ctx, examined[worst]))}
    unstable_mass = sum(p.basin_mass for f in found for p in f.unstable())
    completeness = search_completeness(ctx, examined)
    result = CheckResult.make(
        id=ID, claim="Theorem 2", subject=ctx.subject(),
        assumptions={"sigma_below_sigma_c": sigma_below_sigma_c(ctx)},
        conclusion_holds=observed <= 1.0, observed=observed, bound=1.0,
        n_cases=len(examined), seed=ctx.seed, tolerance=tolerance_record(ctx),
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        note=failure_note(states, examined, stable, errors) if observed > 1.0 else searched_note(completeness),
        details={"observed_is": "max over histories of the worst distance between stable fixed points and "
                                "consistent states, in units of each state's tolerance (> 1: a state missing, "
                                "an extra stable point, or two points at one state)",
                 "histories": len(examined), "starts_per_history": ctx.budget.starts,
                 "exploration_starts_per_history": max(1, ctx.budget.starts // EXPLORATION_DIVISOR),
                 "stable_points_only_from_exploration": int(sum(len(s) for s in stable)
                                                            - sum(len(f.stable()) for f in found)),
                 "histories_failing": int((errors > 1.0).sum()),
                 "stable_fixed_points": sum(len(s) for s in stable),
                 "consistent_states": sum(len(e.consistent) for e in examined),
                 "unstable_fixed_points_found": sum(len(f.unstable()) for f in found),
                 "basin_mass_on_unstable_points": float(unstable_mass),
                 "unconverged_starts": sum(f.unconverged for f in found),
                 "max_stable_spectral_radius": max((p.spectral_radius for f in found for p in f.stable()),
                                                   default=None),
                 "completeness": completeness},
    )
    target_margin(result.margin, ID)
    return [result]
