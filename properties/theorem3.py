"""Theorem 3 (collective observability): the agents' fixed-point sets meet exactly at the true state.

Support form (the sigma -> 0 content, exact on any tabular model): for every joint history
the intersection of the agents' supports S_G(tau_i) is the single true state. It holds
under (C1) factored observations that depend on the agent's own action at most and (C2)
per-step collective observability (PAPER.md §2, §6.6); the check reports all three
assumptions and the weaker joint-history reading of CO, and evaluates the conclusion on
every reachable joint history (or a sample) either way.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.supports import compare_supports
from decdiff.properties.common import describe_joint_history, state_set, target_margin
from decdiff.properties.context import CheckContext
from decdiff.registry import register_check
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
