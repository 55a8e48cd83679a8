"""Theorem 3 (collective observability): the agents' fixed-point sets meet exactly at the true state.

Support form (the sigma -> 0 content, exact on any tabular model): for every joint history
the intersection of the agents' supports S_G(tau_i) is the single true state. It holds
under (C1) factored observations that depend on the agent's own action at most and (C2)
per-step collective observability (PAPER.md §2, §6.6); the check reports all three
assumptions and the weaker joint-history reading of CO, and evaluates the conclusion on
every reachable joint history (or a sample) either way.

Fixed-point form (finite sigma): the agents' stable fixed-point sets, intersected up to the
tolerances of fixed_point_sets (shared_fixed_points), are exactly the true state; sigma
below sigma_c is a further assumption.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.supports import compare_supports
from decdiff.properties.common import describe_joint_history, state_set, target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import tolerance_record
from decdiff.properties.shared_fixed_points import all_shared_fixed_points, describe_intersection
from decdiff.checking.registry import register_check
from decdiff.results import CheckResult


def support_counterexample(ctx: CheckContext, comparison, failing: np.ndarray) -> dict | None:
    """The first failing joint history with every agent's support, the intersection and the joint support."""
    if not failing.any():
        return None
    b = int(np.flatnonzero(failing)[0])
    histories, model = ctx.joint_histories, ctx.model
    example = describe_joint_history(model, histories.actions[b], histories.observations[b])
    example["individual_supports"] = [state_set(model, comparison.individual[b, i]) for i in range(model.n_agents)]
    example["intersection"] = state_set(model, comparison.intersection[b])
    example["joint_support"] = state_set(model, comparison.joint[b])
    if histories.true_states[b] >= 0:
        example["true_state"] = model.state_names[histories.true_states[b]]
    return example


@register_check("theorem3.support_intersection", "Theorem 3",
                "the agents' posterior supports intersect exactly in the true state (sigma -> 0 form)")
def support_intersection(ctx: CheckContext) -> list[CheckResult]:
    histories = ctx.joint_histories
    comparison = compare_supports(ctx.model, histories.actions, histories.observations, ctx.policy)
    holds = comparison.intersection_is_singleton & comparison.equal
    if not histories.enumerated:
        holds &= comparison.intersection[np.arange(len(histories)), histories.true_states]
    failing = ~holds
    facts = ctx.facts
    result = CheckResult.make(
        id="theorem3.support_intersection", claim="Theorem 3", subject=ctx.subject(),
        assumptions={"observations_factored": facts["observations_factored"],
                     "observations_own_action": facts["observations_own_action"],
                     "per_step_co": facts["per_step_co"]},
        conclusion_holds=bool(holds.all()), observed=float(failing.mean()), bound=0.0,
        n_cases=len(histories), seed=ctx.seed, counterexample=support_counterexample(ctx, comparison, failing),
        reproduce=ctx.reproduce("theorem3.support_intersection"),
        details={"joint_history_co": facts["joint_history_co"], "histories_enumerated": histories.enumerated,
                 "failing_histories": int(failing.sum())},
    )
    target_margin(result.margin, result.id)
    return [result]


FIXED_POINT_ID = "theorem3.shared_fixed_points"


@register_check(FIXED_POINT_ID, "Theorem 3",
                "the agents' stable fixed-point sets intersect (up to tolerance) exactly at the true state")
def shared_fixed_points_check(ctx: CheckContext) -> list[CheckResult]:
    """Fixed-point form at finite sigma (shared_fixed_points): the shared states are {true state}.

    With enumerated joint histories (no sampled true state) the shared set must be a single
    state equal to the joint support; with sampled ones it must be {true state}. Assumptions
    as in the support form, plus sigma below sigma_c for every agent's consistent states.
    """
    shared = all_shared_fixed_points(ctx)
    holds = np.array([s.states.sum() == 1 and not s.unmatched
                      and bool(s.states[s.true_state] if s.true_state >= 0 else np.all(s.states == s.joint_support))
                      for s in shared])
    failing = ~holds
    facts = ctx.facts
    result = CheckResult.make(
        id=FIXED_POINT_ID, claim="Theorem 3", subject=ctx.subject(),
        assumptions={"observations_factored": facts["observations_factored"],
                     "observations_own_action": facts["observations_own_action"],
                     "per_step_co": facts["per_step_co"],
                     "sigma_below_sigma_c": all(s.certified for s in shared)},
        conclusion_holds=bool(holds.all()), observed=float(failing.mean()), bound=0.0, n_cases=len(shared),
        seed=ctx.seed, tolerance=tolerance_record(ctx),
        counterexample=describe_intersection(ctx, shared[int(np.flatnonzero(failing)[0])]) if failing.any() else None,
        reproduce=ctx.reproduce(FIXED_POINT_ID),
        details={"observed_is": "fraction of joint histories whose shared stable fixed points are not exactly the "
                                "true state", "joint_history_co": facts["joint_history_co"],
                 "histories_enumerated": ctx.joint_histories.enumerated, "failing_histories": int(failing.sum()),
                 "intersections": [describe_intersection(ctx, s) for s in shared]},
    )
    target_margin(result.margin, result.id)
    return [result]
