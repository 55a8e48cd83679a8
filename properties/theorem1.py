"""Theorem 1 (converged diffusion): the flow ends at the consistent state that is the posterior argmax.

For each examined agent history tau (fixed_point_sets), ``budget.starts`` starts
y0 ~ p_sigma(y | tau) = sum_k pi_k N(s_k, sigma^2 I), the distribution of noisy states
(Eq. 1, Definition 3), run the fixed-sigma flow (Eq. 7) of the denoiser under test to its
limit phi_inf(tau)(y0). A start succeeds when the limit matches (within tol(tau, s),
fixed_point_sets) the consistent state argmax_{s in S_G(tau)} p(s | y0, tau), with the
weights of the exact posterior (docs/claims.md#exact-denoiser). Pointwise the claim fails in a thin band
near basin boundaries whenever the weights differ (docs/claims.md#theorem-1), so the conclusion is

    P_{tau, y0}( limit does not match argmax_s p(s | y0, tau) ) <= THEOREM1_FAILURE_RATE,

over the pooled (history, start) pairs, with its Wilson interval: it holds when the
interval's upper end is at most the bound, fails when its lower end exceeds it, and is
undecided (inconclusive) otherwise.

Assumption evaluated: sigma below sigma_c, i.e. the contraction certificate (certify.py)
holds at sigma for every consistent state of every examined history.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.dynamics.flows import proportion_interval
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    examined_histories,
    flow_limits,
    history_description,
    sigma_below_sigma_c,
    tolerance_record,
)
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult
from decdiff.tolerances import CONFIDENCE_LEVEL, THEOREM1_FAILURE_RATE

ID = "theorem1.converged_diffusion"
#: Definition 3's distribution of noisy states: p_sigma(y | tau).
START = "posterior"


def decide(interval: tuple[float, float], bound: float) -> bool | None:
    """A rate's verdict against an upper bound: True / False when its interval is on one side, else None."""
    if interval[1] <= bound:
        return True
    if interval[0] > bound:
        return False
    return None


@register_check(ID, "Theorem 1", "the flow from noisy states converges to the consistent state that is the "
                "posterior argmax for the start, except with probability <= THEOREM1_FAILURE_RATE")
def converged_diffusion(ctx: CheckContext) -> list[CheckResult]:
    examined = examined_histories(ctx)
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    limits = [flow_limits(ctx, e, START) for e in examined]
    success = [lim.matched & (lim.nearest == lim.argmax) for lim in limits]
    failures = np.array([int((~ok).sum()) for ok in success])
    starts = np.array([ok.size for ok in success])
    total, failed = int(starts.sum()), int(failures.sum())
    interval = proportion_interval(failed, total, CONFIDENCE_LEVEL)
    unmatched = sum(int((~lim.matched).sum()) for lim in limits)
    counterexample = None
    if failed:
        h = int(np.flatnonzero(failures)[0])
        e, lim = examined[h], limits[h]
        k = int(np.flatnonzero(~success[h])[0])
        counterexample = {**history_description(ctx, e), "start": lim.starts[k].tolist(),
                          "limit": lim.ends[k].tolist(), "converged": bool(lim.converged[k]),
                          "posterior_given_start": lim.weights[k].tolist(),
                          "argmax_state": ctx.model.state_names[e.consistent[lim.argmax[k]]],
                          "reached_state": ctx.model.state_names[e.consistent[lim.nearest[k]]]
                          if lim.matched[k] else None,
                          "distance_to_nearest_state": float(lim.distance[k]),
                          "nearest_state_tolerance": float(e.tolerance[lim.nearest[k]]),
                          "reached_state_vector": states[e.consistent[lim.nearest[k]]].tolist()}
    result = CheckResult.make(
        id=ID, claim="Theorem 1", subject=ctx.subject(start_distribution="p_sigma(y|tau)"),
        assumptions={"sigma_below_sigma_c": sigma_below_sigma_c(ctx)},
        conclusion_holds=decide(interval, THEOREM1_FAILURE_RATE), observed=failed / max(total, 1),
        bound=THEOREM1_FAILURE_RATE, ci=interval, n_cases=total, seed=ctx.seed,
        tolerance={"failure_rate": THEOREM1_FAILURE_RATE, "confidence": CONFIDENCE_LEVEL, **tolerance_record(ctx)},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "fraction of (history, start) pairs whose flow limit is not the posterior argmax "
                                "state for the start",
                 "histories": len(examined), "starts_per_history": starts.tolist(),
                 "ended_away_from_every_consistent_state": unmatched,
                 "ended_at_another_consistent_state": failed - unmatched,
                 "unconverged": sum(int((~lim.converged).sum()) for lim in limits),
                 "worst_history_failure_rate": float((failures / np.maximum(starts, 1)).max()) if total else None},
    )
    target_margin(result.margin, ID)
    return [result]
