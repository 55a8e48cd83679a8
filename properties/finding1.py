"""Finding 1: an agent whose denoiser has a single stable fixed point y* knows the state, s = y*.

Among the examined agent histories (fixed_point_sets), those on which the fixed-point
searches (from p_sigma(y | tau) and from N(0, I)) find exactly one stable fixed point y* are
the finding's premise. Every consistent
state s in S_G(tau) can be the true state behind tau, so "s = y*" means that every one of
them lies within its tolerance tol(tau, s) of y* (for f* with sigma below sigma_c: a single
consistent state, where f* is the constant map s and y* = s exactly, docs/claims.md#support-conditions). Margin:

    observed = max over premise histories of max_{s in S_G(tau)} ||y* - s|| / tol(tau, s),   bound 1.

Assumption evaluated: sigma below sigma_c on the premise histories. Finding 1 rests on
Theorem 2 (F_phi = S_G), which needs it: above sigma_c several consistent states merge into
one attractor at their mean, which is none of them. No premise history: skipped, with the reason.
"""

from __future__ import annotations

import numpy as np

from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    examined_histories,
    history_description,
    search_completeness,
    sigma_below_sigma_c,
    stable_points,
    tolerance_record,
)
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult

ID = "finding1.single_fixed_point"


@register_check(ID, "Finding 1", "a history whose denoiser has a single stable fixed point has it at the state "
                "(every consistent state within tolerance)")
def single_fixed_point(ctx: CheckContext) -> list[CheckResult]:
    examined = examined_histories(ctx)
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    stable = [stable_points(ctx, e) for e in examined]
    premise = [k for k, points in enumerate(stable) if len(points) == 1]
    if not premise:
        return [CheckResult.make(
            id=ID, claim="Finding 1", subject=ctx.subject(), assumptions={}, conclusion_holds=None,
            skipped_reason=f"none of the {len(examined)} examined histories has exactly one stable fixed point",
            n_cases=len(examined), seed=ctx.seed, reproduce=ctx.reproduce(ID))]
    errors = []
    for k in premise:
        e, point = examined[k], stable[k][0]
        distance = np.linalg.norm(states[e.consistent] - point[None, :], axis=1)
        errors.append(float((distance / e.tolerance).max()))
    errors = np.array(errors)
    worst = int(np.argmax(errors))
    observed = float(errors[worst])
    counterexample = None
    if observed > 1.0:
        k = premise[worst]
        counterexample = {**history_description(ctx, examined[k]), "fixed_point": stable[k][0].tolist(),
                          "distances": np.linalg.norm(states[examined[k].consistent]
                                                      - stable[k][0][None, :], axis=1).tolist()}
    result = CheckResult.make(
        id=ID, claim="Finding 1", subject=ctx.subject(),
        assumptions={"sigma_below_sigma_c": sigma_below_sigma_c(ctx)},
        conclusion_holds=observed <= 1.0, observed=observed, bound=1.0, n_cases=len(premise), seed=ctx.seed,
        tolerance=tolerance_record(ctx), counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "max over histories with one stable fixed point of the largest distance from it "
                                "to a consistent state, in units of that state's tolerance",
                 "histories": len(examined), "histories_with_one_stable_fixed_point": len(premise),
                 "of_which_single_consistent_state": sum(len(examined[k].consistent) == 1 for k in premise),
                 "completeness": search_completeness(ctx, examined)},
    )
    target_margin(result.margin, ID)
    return [result]
