"""Theorem 4 (non-CO): the agents' fixed-point sets meet in the support of the joint posterior.

Support form (sigma -> 0): for every joint history, the intersection of the agents'
supports S_G(tau_i) equals {s : p(s | joint history) > 0}. Sufficient: (C1) factored,
own-action observations, and a single observation with no action-dependent step before
it, or a static state (PAPER.md §2, §6.6). Multi-step dynamics and correlated
observations break it; the check evaluates the conclusion whatever the assumptions.

Fixed-point form (finite sigma): the agents' stable fixed-point sets, intersected up to the
tolerances of fixed_point_sets (shared_fixed_points), are the joint support; sigma below
sigma_c is a further assumption. Posterior recovery: basin masses recover p(s | tau_i)
under an appropriate start distribution (posterior_recovery, PAPER.md §6.5).
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.supports import compare_supports
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import tolerance_record
from decdiff.properties.posterior_recovery import RECOVERY_STARTS, recovery_result
from decdiff.properties.shared_fixed_points import all_shared_fixed_points, describe_intersection
from decdiff.properties.theorem3 import support_counterexample
from decdiff.checking.registry import register_check
from decdiff.results import CheckResult


@register_check("theorem4.support_intersection", "Theorem 4",
                "the agents' posterior supports intersect in the joint-history support (sigma -> 0 form)")
def support_intersection(ctx: CheckContext) -> list[CheckResult]:
    histories = ctx.joint_histories
    comparison = compare_supports(ctx.model, histories.actions, histories.observations, ctx.policy)
    failing = ~comparison.equal
    facts = ctx.facts
    result = CheckResult.make(
        id="theorem4.support_intersection", claim="Theorem 4", subject=ctx.subject(),
        assumptions={"observations_factored": facts["observations_factored"],
                     "observations_own_action": facts["observations_own_action"],
                     "history_length_1_or_static": facts["history_length_1_or_static"]},
        conclusion_holds=not failing.any(), observed=float(failing.mean()), bound=0.0,
        n_cases=len(histories), seed=ctx.seed, counterexample=support_counterexample(ctx, comparison, failing),
        reproduce=ctx.reproduce("theorem4.support_intersection"),
        details={"per_step_co": facts["per_step_co"], "histories_enumerated": histories.enumerated,
                 "failing_histories": int(failing.sum())},
    )
    target_margin(result.margin, result.id)
    return [result]


FIXED_POINT_ID = "theorem4.shared_fixed_points"
RECOVERY_ID = "theorem4.posterior_recovery"


@register_check(FIXED_POINT_ID, "Theorem 4",
                "the agents' stable fixed-point sets intersect (up to tolerance) in the joint-history support")
def shared_fixed_points_check(ctx: CheckContext) -> list[CheckResult]:
    """Fixed-point form at finite sigma (shared_fixed_points): the shared states are {s : p(s | tau) > 0}.

    Every examined joint history's intersection is listed in the details (e.g. {area1, area2}
    for the all-zero joint observation of sensor-ring-noisy, PAPER.md §5.1).
    """
    shared = all_shared_fixed_points(ctx)
    holds = np.array([bool(np.all(s.states == s.joint_support)) and not s.unmatched for s in shared])
    failing = ~holds
    facts = ctx.facts
    result = CheckResult.make(
        id=FIXED_POINT_ID, claim="Theorem 4", subject=ctx.subject(),
        assumptions={"observations_factored": facts["observations_factored"],
                     "observations_own_action": facts["observations_own_action"],
                     "history_length_1_or_static": facts["history_length_1_or_static"],
                     "sigma_below_sigma_c": all(s.certified for s in shared)},
        conclusion_holds=bool(holds.all()), observed=float(failing.mean()), bound=0.0, n_cases=len(shared),
        seed=ctx.seed, tolerance=tolerance_record(ctx),
        counterexample=describe_intersection(ctx, shared[int(np.flatnonzero(failing)[0])]) if failing.any() else None,
        reproduce=ctx.reproduce(FIXED_POINT_ID),
        details={"observed_is": "fraction of joint histories whose shared stable fixed points are not the "
                                "joint-history support", "per_step_co": facts["per_step_co"],
                 "joint_history_co": facts["joint_history_co"],
                 "histories_enumerated": ctx.joint_histories.enumerated, "failing_histories": int(failing.sum()),
                 "intersections": [describe_intersection(ctx, s) for s in shared]},
    )
    target_margin(result.margin, result.id)
    return [result]


@register_check(RECOVERY_ID, "Theorem 4", "basin masses of the fixed-sigma flow recover p(s | tau_i) when starts "
                "are drawn from p_sigma(y | tau_i) (not from N(0, sigma^2 I))")
def posterior_recovery(ctx: CheckContext) -> list[CheckResult]:
    """Basin masses against the posterior, under p_sigma(y | tau) and under N(0, sigma^2 I) (posterior_recovery)."""
    return [recovery_result(ctx, start, RECOVERY_ID) for start in RECOVERY_STARTS]
