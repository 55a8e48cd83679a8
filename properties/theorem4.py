"""Theorem 4 (non-CO): the agents' fixed-point sets meet in the support of the joint posterior.

Support form (sigma -> 0): for every joint history, the intersection of the agents'
supports S_G(tau_i) equals {s : p(s | joint history) > 0}. Sufficient: (C1) factored,
own-action observations, and a single observation with no action-dependent step before
it, or a static state. Multi-step dynamics (agents may justify one current state with
mutually incompatible pasts, so the intersection can be a strict superset) and correlated
observations break it; the check evaluates the conclusion whatever the assumptions.

Fixed-point form (finite sigma): the agents' stable fixed-point sets, intersected up to the
tolerances of fixed_point_sets (shared_fixed_points), are the joint support; sigma below
sigma_c is a further assumption. Both forms report the fraction of joint histories where
the conclusion fails (`intersection_results`). Posterior recovery: basin masses recover
p(s | tau_i) when the fixed-sigma iteration starts from p_sigma(y | tau_i), not from
N(0, sigma^2 I) (posterior_recovery).
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.supports import compare_supports
from decdiff.properties.context import NON_CO_CONDITIONS, CheckContext
from decdiff.properties.intersection_results import (
    shared_fixed_points_result,
    support_result,
)
from decdiff.properties.posterior_recovery import RECOVERY_STARTS, START_VARIANTS, recovery_result
from decdiff.properties.registration import register_check, variant_id
from decdiff.results import CheckResult


@register_check("theorem4.support_intersection", "Theorem 4",
                "the agents' posterior supports intersect in the joint-history support (sigma -> 0 form)")
def support_intersection(ctx: CheckContext) -> list[CheckResult]:
    histories = ctx.joint_histories
    comparison = compare_supports(ctx.model, histories.actions, histories.observations, ctx.policy)
    return support_result(ctx, "theorem4.support_intersection", "Theorem 4", comparison, comparison.equal,
                          ctx.facts_of(*NON_CO_CONDITIONS), ctx.facts_of("per_step_co"))


FIXED_POINT_ID = "theorem4.shared_fixed_points"
RECOVERY_ID = "theorem4.posterior_recovery"


@register_check(FIXED_POINT_ID, "Theorem 4",
                "the agents' stable fixed-point sets intersect (up to tolerance) in the joint-history support")
def shared_fixed_points_check(ctx: CheckContext) -> list[CheckResult]:
    """Fixed-point form at finite sigma (shared_fixed_points): the shared states are {s : p(s | tau) > 0}.

    Every examined joint history's intersection is listed in the details (e.g. {area1, area2}
    for the all-zero joint observation of sensor-ring-noisy).
    """
    return shared_fixed_points_result(
        ctx, FIXED_POINT_ID, "Theorem 4", lambda s: bool(np.all(s.states == s.joint_support)) and not s.unmatched,
        ctx.facts_of(*NON_CO_CONDITIONS),
        "fraction of joint histories whose shared stable fixed points are not the joint-history support",
        ctx.facts_of("per_step_co", "joint_history_co"))


@register_check(RECOVERY_ID, "Theorem 4", "basin masses of the fixed-sigma flow recover p(s | tau_i) when starts "
                "are drawn from p_sigma(y | tau_i) (not from N(0, sigma^2 I))",
                variants=tuple(START_VARIANTS[start] for start in RECOVERY_STARTS))
def posterior_recovery(ctx: CheckContext) -> list[CheckResult]:
    """Basin masses against the posterior, under p_sigma(y | tau) and under N(0, sigma^2 I) (posterior_recovery).

    One result per start distribution, ``theorem4.posterior_recovery[p_sigma]`` and ``[normal]``.
    """
    return [recovery_result(ctx, start, variant_id(RECOVERY_ID, START_VARIANTS[start])) for start in RECOVERY_STARTS]
