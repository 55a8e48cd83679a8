"""Finding 6: composite diffusion converges to the true state; partial composite diffusion may not.

"Composite diffusion f_theta(tau_{i_1:n}, y) converges to the true global state, while
partial composite diffusion f_theta(tau_{i_1:k}, y), k < n may converge to wrong states,
depending on the participating agents" (docs/claims.md#composite-diffusion).

``finding6.composite_true_state`` checks the first half on every composite sequence from
N(0, sigma^2 I), accepted by Step 2 or not: ||y^{(L)} - s|| <= 3 D_bar (+ slack), the error
the Step-2 checks guarantee (triangle inequality, docs/claims.md#composite-diffusion). Unconditionally the
claim is false: the flow can settle in a periodic orbit alternating between wrong states
(docs/claims.md#finding-6), which check (2) rejects. So its assumptions are collective observability
(Theorem 3's (C1), (C2)) and that Step 2 accepts every sequence (Theorem 7's conditional
form); such an orbit is reported as the counterexample, each point with its nearest state.

The second half, an existence statement, is reported in the details: per subset size, the
fraction of partial composite sequences (`composite_common.partial_runs`) that end further
than 3 D_bar (of the participants) from every state of the joint-history support.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from decdiff.properties.common import target_margin
from decdiff.properties.composite_common import (
    TOLERANCES,
    CompositeRun,
    composite_runs,
    describe_sequence,
    partial_runs,
    supports,
)
from decdiff.properties.context import CO_CONDITIONS, CheckContext
from decdiff.properties.registration import register_check
from decdiff.properties.theorem7 import ALL_AGENTS, acceptance, composite_subject
from decdiff.results import CheckResult
from decdiff.tolerances import COMPOSITE_DISTANCE

ID = "finding6.composite_true_state"


def three_dbar_excess(run: CompositeRun) -> torch.Tensor:
    """``[n_random]``: min_s ||y^{(L)} - s|| - 3 D_bar - COMPOSITE_RELATIVE D_bar, for the Step-1 rows."""
    return run.errors[run.random_rows].amin(dim=1) - 3.0 * run.dbar - run.slack


def wrong_partial_fractions(ctx: CheckContext, runs: list[CompositeRun]) -> dict[int, float]:
    """Per subset size k: fraction of partial sequences ending > 3 D_bar from every joint-support state."""
    states = torch.from_numpy(np.ascontiguousarray(ctx.model.states, dtype=np.float64))
    joint = supports(ctx).joint
    wrong, total = defaultdict(int), defaultdict(int)
    for run in runs:
        truth = states[torch.from_numpy(np.flatnonzero(joint[run.row]))]
        distance = torch.cdist(run.flow.y[run.random_rows], truth).amin(dim=1)
        far = distance > 3.0 * run.dbar + run.slack + COMPOSITE_DISTANCE
        wrong[len(run.order)] += int(far.sum())
        total[len(run.order)] += run.n_random
    return {k: wrong[k] / total[k] for k in sorted(total)}


@register_check(ID, "Finding 6", "every composite sequence (accepted by Step 2 or not) ends within 3 D_bar of the "
                "true state; partial composites' wrong-state fractions reported")
def composite_true_state(ctx: CheckContext) -> list[CheckResult]:
    runs = composite_runs(ctx)
    rate = acceptance(runs)
    scored = [(run, three_dbar_excess(run)) for run in runs if run.targets.size]
    worst, values = max(scored, key=lambda pair: float(pair[1].max())) if scored else (None, None)
    observed = None if values is None else float(values.max())
    conclusion = None if observed is None else observed <= COMPOSITE_DISTANCE
    counterexample = None
    if conclusion is False:
        counterexample = {**describe_sequence(ctx, worst, int(values.argmax())), "three_dbar": 3.0 * worst.dbar}
    partial = partial_runs(ctx)
    fractions = wrong_partial_fractions(ctx, partial)
    result = CheckResult.make(
        id=ID, claim="Finding 6", subject=composite_subject(ctx, ALL_AGENTS),
        assumptions={**ctx.facts_of(*CO_CONDITIONS), "step2_accepts_every_sequence": rate["accepted"] == rate["sequences"]},
        conclusion_holds=conclusion, observed=observed, bound=COMPOSITE_DISTANCE, ci=rate["ci"],
        n_cases=rate["sequences"], seed=ctx.seed, tolerance=TOLERANCES, counterexample=counterexample,
        reproduce=ctx.reproduce(ID),
        details={"observed_is": "max over all Step-1 composite sequences of min_s ||y^(L) - s|| - 3 D_bar "
                                "- COMPOSITE_RELATIVE D_bar",
                 "ci_is": "Wilson interval of the Step-2 acceptance rate", "step2": rate,
                 "sequences_not_at_true_state": sum(int((e > COMPOSITE_DISTANCE).sum()) for _, e in scored),
                 "partial_wrong_state_fraction_by_subset_size": fractions,
                 "some_partial_composite_ends_at_a_wrong_state": any(v > 0 for v in fractions.values())},
    )
    target_margin(result.margin, ID)
    return [result]
