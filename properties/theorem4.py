"""Theorem 4 (non-CO): the agents' fixed-point sets meet in the support of the joint posterior.

Support form (sigma -> 0): for every joint history, the intersection of the agents'
supports S_G(tau_i) equals {s : p(s | joint history) > 0}. Sufficient: (C1) factored,
own-action observations, and a single observation with no action-dependent step before
it, or a static state (PAPER.md §2, §6.6). Multi-step dynamics and correlated
observations break it; the check evaluates the conclusion whatever the assumptions.
"""

from __future__ import annotations

from decdiff.implementations.supports import compare_supports
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.theorem3 import support_counterexample
from decdiff.registry import register_check
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
