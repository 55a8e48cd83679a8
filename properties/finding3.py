"""Finding 3 / Fig. 2(g): fixed points with lower Jacobian rank deviate more.

For the fixed points y* = phi_inf(tau)(s) of sampled (history, state) pairs (Definition 4,
`sampled_pairs`), the check computes rank(J_+) (Eq. 14; singular values > JACOBIAN_RANK_RELATIVE * sigma_max)
and ||D_phi(tau, s)||_2 (Eq. 12), and Spearman's rho between them with a Fisher-z interval
at CONFIDENCE_LEVEL. The paper's reading (Evidence 3.1, "a clear negative correlation"):

* holds when the interval lies below 0;
* violated when it lies above 0;
* inconclusive when it contains 0, or when rho is undefined (all ranks equal: then rank
  cannot explain the deviations on this subject; the ranks at other tolerances are
  reported as the rank's sensitivity).

Details also give Eq. (16)'s comparison rank(J_+) >= r(M_eps) with
r(M_eps) = dim span{s' : (tau', s') in M_eps} at the median pairwise Jacobian distance,
and the mean deviation on either side of it. Assumption: at least two distinct ranks
(a rank that does not vary cannot correlate).
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import (
    numerical_rank,
    rank_sensitivity,
    spearman_interval,
)
from decdiff.implementations.analysis.surrogate import (
    epsilon_sweep,
    jacobian_distances,
    local_sets,
    span_dimension,
)
from decdiff.properties.context import CheckContext
from decdiff.properties.sampled_pairs import converged_pairs, sampled_pairs_check
from decdiff.results import CheckResult
from decdiff.tolerances import (
    CONFIDENCE_LEVEL,
    FIXED_POINT_RESIDUAL,
    JACOBIAN_RANK_RELATIVE,
    JACOBIAN_RANK_SWEEP,
)

ID = "finding3.rank_deviation"


@sampled_pairs_check(ID, "Finding 3", "lower Jacobian rank rank(J_+) goes with larger fixed-point deviation "
                     "||D_phi|| (Spearman, Fig. 2(g))")
def rank_deviation(ctx: CheckContext) -> list[CheckResult]:
    pairs = converged_pairs(ctx)
    samples, points, keep = pairs.samples, pairs.points, pairs.keep
    ranks = numerical_rank(points.j_plus[keep], JACOBIAN_RANK_RELATIVE).numpy()
    deviation = points.deviation_norm[keep].numpy()
    corr = spearman_interval(ranks, deviation, confidence=CONFIDENCE_LEVEL, method="fisher")
    conclusion = corr.below_zero()
    # Eq. (16): rank(J_+) against r(M_eps) over the sampled pairs, at the median Jacobian distance
    member = torch.isin(samples.inverse, keep)
    jac = points.j_y[samples.inverse[member]]
    distances = jacobian_distances(jac)
    eps = epsilon_sweep(distances, (0.5,))
    anchor_rows = _first_rows(samples.inverse[member], keep)
    span = span_dimension(samples.states[member], local_sets(distances, eps, anchor_rows))[0].numpy()
    over = ranks >= span
    result = CheckResult.make(
        id=ID, claim="Finding 3", subject=ctx.subject(),
        assumptions={"rank_varies": bool(np.unique(ranks).size >= 2), "fixed_points_found": pairs.found(4)},
        conclusion_holds=conclusion, observed=None if np.isnan(corr.rho) else corr.rho, bound=0.0,
        ci=None if np.isnan(corr.rho) else (corr.low, corr.high), n_cases=int(keep.numel()), seed=ctx.seed,
        tolerance={"rank_relative": JACOBIAN_RANK_RELATIVE, "confidence": CONFIDENCE_LEVEL,
                   "fixed_point_residual": FIXED_POINT_RESIDUAL},
        counterexample=None if conclusion is not False else {"rho": corr.rho, "ci": [corr.low, corr.high],
                                                             "ranks": ranks.tolist(),
                                                             "deviations": deviation.tolist()},
        reproduce=ctx.reproduce(ID),
        details={"observed_is": "Spearman rho(rank J_+, ||D||); the paper expects rho < 0",
                 "rank_counts": {int(r): int((ranks == r).sum()) for r in np.unique(ranks)},
                 "rank_sensitivity": {f"{t:g}": np.bincount(v.numpy(), minlength=1).tolist()
                                      for t, v in rank_sensitivity(points.j_plus[keep], JACOBIAN_RANK_SWEEP).items()},
                 "rank_sensitivity_is": "per tolerance: counts of fixed points with rank 0, 1, 2, ...",
                 "max_possible_rank": int(min(points.j_plus.shape[1:])),
                 "epsilon_median": float(eps[0]),
                 "span_r_M_eps": span.tolist(),
                 "fraction_rank_ge_r_M": float(over.mean()) if over.size else None,
                 "mean_deviation_rank_ge_r_M": float(deviation[over].mean()) if over.any() else None,
                 "mean_deviation_rank_lt_r_M": float(deviation[~over].mean()) if (~over).any() else None,
                 "deviation_norms": deviation.tolist(), "ranks": ranks.tolist()},
    )
    return [result]


def _first_rows(inverse: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """For each kept distinct pair, the first sample (among the member samples) that carries it."""
    matches = inverse[None, :] == keep[:, None]                                   # [U', K']
    return matches.to(torch.int8).argmax(dim=1)
