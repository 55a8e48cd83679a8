"""Theorem 4's probability claim: basin masses of the flow recover the posterior p(s | tau).

For an examined agent history tau with consistent states s_k and posterior pi_k, starts y0
are drawn from a start distribution p_0 and the fixed-sigma flow (Eq. 7) of the denoiser
under test is run to its limit; m_k is the fraction of starts whose limit matches s_k
(fixed_point_sets), i.e. the basin mass of s_k's attractor under p_0 (Eq. 10, docs/claims.md#basin-masses).

What "recover" can mean at finite sigma. Under p_0 = p_sigma(y | tau) write w_k(y) =
p(s_k | y, tau); then E[w_k(y0)] = pi_k (tower rule), so with A(y) the posterior argmax,

    TV(m, pi) <= P(basin(y0) != A(y0)) + 1/2 sum_k |E[1{A(y0) = k} - w_k(y0)]|
              <= P(basin(y0) != A(y0)) + E[1 - max_k w_k(y0)] =: P(band) + eps_B,

since sum_k |1{A = k} - w_k| = 2 (1 - max_k w_k). eps_B (the Bayes error of telling the
states apart from y0) is estimated from the same starts, and Theorem 1 bounds P(band) by
THEOREM1_FAILURE_RATE. The conclusion is therefore

    max over histories of ( TV(m, pi) - eps_B )  <=  THEOREM1_FAILURE_RATE.

Estimation. Under p_sigma(y | tau) each m_k - pi_k is the mean of 1{basin = k} - w_k(y0)
(a control variate: the difference vanishes away from basin boundaries, so its variance
is small); under another p_0 it is the mean of 1{basin = k} - pi_k. Their intervals (normal
for the control variate, Wilson for plain proportions) give a lower confidence limit of
TV; summed over many states their upper limits are loose, so under p_sigma(y | tau) the
upper limit comes from the single mean

    TV(m, pi) - eps_B <= E[ max_k w_k(y0) - w_basin(y0)(y0) ]     (w_basin = 0 off every state),

which follows from 1/2 sum_k |1{basin = k} - w_k| = 1 - w_basin. Both families of intervals
are Bonferroni-corrected (over (history, state) pairs and over histories, half of
1 - CONFIDENCE_LEVEL each), so the interval of the maximum over histories is the maximum of
the intervals; the conclusion is undecided when it straddles the bound. The algorithm's
N(0, sigma^2 I) is reported too, with the assumption "appropriate start distribution" false
(docs/claims.md#posterior-recovery shows it does not recover pi).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from decdiff.implementations.dynamics.fixed_points import StartDistribution
from decdiff.implementations.dynamics.flows import proportion_interval
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    ExaminedHistory,
    examined_histories,
    flow_limits,
    flow_starts,
    history_description,
    sigma_below_sigma_c,
    tolerance_record,
)
from decdiff.properties.theorem1 import decide
from decdiff.results import CheckResult
from decdiff.tolerances import CONFIDENCE_LEVEL, THEOREM1_FAILURE_RATE

#: The appropriate start distribution first, then the algorithm's Step-1 choice.
RECOVERY_STARTS: tuple[StartDistribution, ...] = ("posterior", "prior-sigma")
START_NAMES = {"posterior": "p_sigma(y|tau)", "prior-sigma": "N(0, sigma^2 I)"}
#: The variant each start distribution names in a result's id (``theorem4.posterior_recovery[p_sigma]``).
START_VARIANTS = {"posterior": "p_sigma", "prior-sigma": "normal"}


def _mean_interval(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Normal interval of the mean of ``values [N, ...]`` over its first axis."""
    mean = values.mean(axis=0)
    n = values.shape[0]
    half = norm.ppf(0.5 + confidence / 2) * values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.inf
    return mean - half, mean + half


def _history_row(ctx: CheckContext, examined: ExaminedHistory, start: StartDistribution, state_confidence: float,
                 history_confidence: float) -> dict[str, object]:
    """Basin masses, TV(m, pi), its lower limit and an upper limit of TV - eps_B for one history."""
    limits = flow_limits(ctx, examined, start)
    n, k = limits.ends.shape[0], len(examined.consistent)
    basin = np.zeros((n, k))
    basin[np.flatnonzero(limits.matched), limits.nearest[limits.matched]] = 1.0
    masses = basin.mean(axis=0)
    pi = examined.posterior[examined.consistent]
    eps = bayes_error(ctx, examined)
    if start == "posterior":
        weights = limits.weights.numpy()
        estimate = (basin - weights).mean(axis=0)
        low, high = _mean_interval(basin - weights, state_confidence)
        band = weights.max(axis=1) - (basin * weights).sum(axis=1)
        excess_high = float(_mean_interval(band, history_confidence)[1])
    else:
        estimate = masses - pi
        bounds = np.array([proportion_interval(int(c), n, state_confidence) for c in basin.sum(axis=0)])
        low, high = bounds[:, 0] - pi, bounds[:, 1] - pi
        excess_high = 0.5 * float(np.maximum(np.abs(low), np.abs(high)).sum()) - eps
    abs_low = np.where((low <= 0) & (high >= 0), 0.0, np.minimum(np.abs(low), np.abs(high)))
    tv = 0.5 * float(np.abs(estimate).sum())
    return {"masses": masses, "tv": tv, "excess": tv - eps, "excess_low": 0.5 * float(abs_low.sum()) - eps,
            "excess_high": excess_high, "bayes_error": eps}


def bayes_error(ctx: CheckContext, examined: ExaminedHistory) -> float:
    """eps_B = E[1 - max_k p(s_k | y0, tau)] over y0 ~ p_sigma(y | tau) (the starts of Theorem 1)."""
    weights = flow_limits(ctx, examined, "posterior").weights
    return float((1.0 - weights.max(dim=1).values).mean())


def recovery_result(ctx: CheckContext, start: StartDistribution, check_id: str) -> CheckResult:
    """The conclusion of the module docstring with starts from `start`."""
    examined = examined_histories(ctx)
    comparisons = sum(len(e.consistent) for e in examined)
    alpha = (1.0 - CONFIDENCE_LEVEL) / 2
    rows = [_history_row(ctx, e, start, 1.0 - alpha / comparisons, 1.0 - alpha / len(examined)) for e in examined]
    excess = np.array([r["excess"] for r in rows])
    worst = int(np.argmax(excess))
    interval = (max(r["excess_low"] for r in rows), max(r["excess_high"] for r in rows))
    conclusion = decide(interval, THEOREM1_FAILURE_RATE)
    per_history = [{**history_description(ctx, e), "basin_masses": r["masses"].tolist(),
                    "total_variation": r["tv"], "bayes_error": r["bayes_error"]} for e, r in zip(examined, rows)]
    result = CheckResult.make(
        id=check_id, claim="Theorem 4", subject=ctx.subject(start_distribution=START_NAMES[start]),
        assumptions={"appropriate_start_distribution": start == "posterior",
                     "sigma_below_sigma_c": sigma_below_sigma_c(ctx)},
        conclusion_holds=conclusion, observed=float(excess[worst]), bound=THEOREM1_FAILURE_RATE, ci=interval,
        n_cases=sum(flow_starts(ctx, e) for e in examined), seed=ctx.seed,
        tolerance={"band_allowance": THEOREM1_FAILURE_RATE, "confidence": CONFIDENCE_LEVEL, **tolerance_record(ctx)},
        counterexample=per_history[worst] if conclusion is False else None, reproduce=ctx.reproduce(check_id),
        details={"observed_is": "max over histories of TV(basin masses, posterior) minus the Bayes error eps_B",
                 "start_distribution": START_NAMES[start], "histories": len(examined),
                 "starts_per_history": [flow_starts(ctx, e) for e in examined],
                 "bonferroni_comparisons": {"states": comparisons, "histories": len(examined)},
                 "per_history": per_history},
    )
    target_margin(result.margin, check_id)
    return result
