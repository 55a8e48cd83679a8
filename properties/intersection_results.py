"""The results of Theorems 3 and 4: per joint history, the agents' sets intersected against the theorem's set.

Both theorems compare, for every examined joint history (tau_1, ..., tau_n), an intersection
over the agents with a target set: {true state} for Theorem 3, the support of
p(s | joint history) for Theorem 4. The intersection is of the posterior supports S_G(tau_i)
in the support form (sigma -> 0, `compare_supports`) and of the stable fixed-point sets at
finite sigma in the fixed-point form (`shared_fixed_points`). All four checks report the
same shape:

    observed = (joint histories where the conclusion fails) / (joint histories examined),   bound 0,

with the first failing joint history as the counterexample and the failing count, and
whether the joint histories were enumerated, in the details.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from decdiff.implementations.supports import SupportComparison
from decdiff.properties.common import describe_joint_history, state_set, target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import sigma_below_sigma_c, tolerance_record
from decdiff.properties.shared_fixed_points import (
    SharedFixedPoints,
    all_shared_fixed_points,
    describe_intersection,
)
from decdiff.results import CheckResult


def intersection_result(ctx: CheckContext, check_id: str, claim: str, holds: np.ndarray,
                        assumptions: dict[str, bool], describe: Callable[[int], dict], details: dict, *,
                        listed: dict | None = None, tolerance: dict | None = None) -> list[CheckResult]:
    """The result of the module docstring from ``holds`` (per examined joint history).

    ``describe(k)`` is the k-th joint history in words (the counterexample is the first failing
    one); the details are ``details``, then ``histories_enumerated`` and ``failing_histories``,
    then ``listed``.
    """
    failing = ~holds
    result = CheckResult.make(
        id=check_id, claim=claim, subject=ctx.subject(), assumptions=assumptions,
        conclusion_holds=bool(holds.all()), observed=float(failing.mean()), bound=0.0, n_cases=len(holds),
        seed=ctx.seed, tolerance={} if tolerance is None else tolerance,
        counterexample=describe(int(np.flatnonzero(failing)[0])) if failing.any() else None,
        reproduce=ctx.reproduce(check_id),
        details={**details, "histories_enumerated": ctx.joint_histories.enumerated,
                 "failing_histories": int(failing.sum()), **(listed or {})},
    )
    target_margin(result.margin, result.id)
    return [result]


def describe_supports(ctx: CheckContext, comparison: SupportComparison, b: int) -> dict:
    """Joint history ``b`` with every agent's support, their intersection and the joint support."""
    histories, model = ctx.joint_histories, ctx.model
    example = describe_joint_history(model, histories.actions[b], histories.observations[b])
    example["individual_supports"] = [state_set(model, comparison.individual[b, i]) for i in range(model.n_agents)]
    example["intersection"] = state_set(model, comparison.intersection[b])
    example["joint_support"] = state_set(model, comparison.joint[b])
    if histories.true_states[b] >= 0:
        example["true_state"] = model.state_names[histories.true_states[b]]
    return example


def support_result(ctx: CheckContext, check_id: str, claim: str, comparison: SupportComparison, holds: np.ndarray,
                   assumptions: dict[str, bool], details: dict) -> list[CheckResult]:
    """Support form: ``holds`` per joint history of ``ctx.joint_histories``, compared in ``comparison``."""
    return intersection_result(ctx, check_id, claim, holds, assumptions,
                               lambda b: describe_supports(ctx, comparison, b), details)


def shared_fixed_points_result(ctx: CheckContext, check_id: str, claim: str,
                               conclusion: Callable[[SharedFixedPoints], bool], assumptions: dict[str, bool],
                               observed_is: str, details: dict) -> list[CheckResult]:
    """Fixed-point form: ``conclusion`` on the intersection of every examined joint history.

    Assumptions: ``assumptions``, then ``sigma_below_sigma_c`` (one value per subject: `sigma_below_sigma_c`,
    every history a check examines). Every intersection is listed in the details.
    """
    shared = all_shared_fixed_points(ctx)
    holds = np.array([conclusion(s) for s in shared])
    return intersection_result(
        ctx, check_id, claim, holds, {**assumptions, "sigma_below_sigma_c": sigma_below_sigma_c(ctx)},
        lambda k: describe_intersection(ctx, shared[k]), {"observed_is": observed_is, **details},
        listed={"intersections": [describe_intersection(ctx, s) for s in shared]}, tolerance=tolerance_record(ctx))
