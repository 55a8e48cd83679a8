"""Theorem 3 (collective observability): the agents' fixed-point sets meet exactly at the true state.

Support form (the sigma -> 0 content, exact on any tabular model): for every joint history
the intersection of the agents' supports S_G(tau_i) is the single true state. It holds
under (C1) factored observations that depend on the agent's own action at most and (C2)
per-step collective observability (then for s' other than the true state some agent's own
observation rules s' out); correlated observations, or CO only in the weaker sense that the
joint history determines the state, break it. The check reports all three assumptions and
the weaker joint-history reading of CO, and evaluates the conclusion on every reachable
joint history (or a sample) either way.

Fixed-point form (finite sigma): the agents' stable fixed-point sets, intersected up to the
tolerances of fixed_point_sets (shared_fixed_points), are exactly the true state; sigma
below sigma_c is a further assumption. Both forms report the fraction of joint histories
where the conclusion fails (`intersection_results`).
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.supports import compare_supports
from decdiff.properties.context import CO_CONDITIONS, CheckContext
from decdiff.properties.intersection_results import (
    shared_fixed_points_result,
    support_result,
)
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult


@register_check("theorem3.support_intersection", "Theorem 3",
                "the agents' posterior supports intersect exactly in the true state (sigma -> 0 form)")
def support_intersection(ctx: CheckContext) -> list[CheckResult]:
    histories = ctx.joint_histories
    comparison = compare_supports(ctx.model, histories.actions, histories.observations, ctx.policy)
    holds = comparison.intersection_is_singleton & comparison.equal
    if not histories.enumerated:
        holds &= comparison.intersection[np.arange(len(histories)), histories.true_states]
    return support_result(ctx, "theorem3.support_intersection", "Theorem 3", comparison, holds,
                          ctx.facts_of(*CO_CONDITIONS), ctx.facts_of("joint_history_co"))


FIXED_POINT_ID = "theorem3.shared_fixed_points"


@register_check(FIXED_POINT_ID, "Theorem 3",
                "the agents' stable fixed-point sets intersect (up to tolerance) exactly at the true state")
def shared_fixed_points_check(ctx: CheckContext) -> list[CheckResult]:
    """Fixed-point form at finite sigma (shared_fixed_points): the shared states are {true state}.

    With enumerated joint histories (no sampled true state) the shared set must be a single
    state equal to the joint support; with sampled ones it must be {true state}. Assumptions
    as in the support form, plus sigma below sigma_c for every agent's consistent states.
    """
    return shared_fixed_points_result(
        ctx, FIXED_POINT_ID, "Theorem 3",
        lambda s: s.states.sum() == 1 and not s.unmatched
        and bool(s.states[s.true_state] if s.true_state >= 0 else np.all(s.states == s.joint_support)),
        ctx.facts_of(*CO_CONDITIONS),
        "fraction of joint histories whose shared stable fixed points are not exactly the true state",
        ctx.facts_of("joint_history_co"))
