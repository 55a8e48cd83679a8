"""Theorem 6 (upper-bounded deviation): D_phi(tau, s) < R_hat(M) for (tau, s) in M (Eq. 17).

M ranges over the epsilon-local sets M_eps(a) = {k : ||J_k - J_a||_F <= eps} of sampled
(history, state) pairs whose fixed points converged (Definition 5, `sampled_pairs`), for
every anchor a and every epsilon of a sweep (quantiles EPSILON_QUANTILES of the pairwise
Jacobian distances, the largest taking all samples). R_hat is Eq. (17) (centred, averaged,
pseudo-inverse of Sigma_tau).

* Premise: |M| > |tau| + 1, counting distinct (tau, s) pairs (repeats weigh in Eq. (17)'s
  averages but add no equation, see `surrogate`). Smaller sets are fitted exactly by a
  regression with intercept (R_hat = 0), so "D < R_hat" cannot hold there; they are
  counted and reported in the details (`degenerate_sets`, with their largest R_hat), and
  the conclusion is drawn over the non-degenerate sets only. The assumption fails when no set is non-degenerate.
* Conclusion (the paper's Fig. 2(g) reading): ||D||_2 < R_hat(M) for every member of every
  non-degenerate set; observed = max (||D|| - R_hat), bound 0. Because ||D|| is a length and
  R_hat a squared length (a mean squared residual), the fractions bounded for ||D|| < sqrt(R_hat) and
  ||D||^2 < R_hat are reported too, per epsilon, with the anchored Eq. (15) residual.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.analysis.surrogate import (
    EPSILON_QUANTILES,
    surrogate_sweep,
)
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.sampled_pairs import (
    converged_pairs,
    describe_pair,
    sampled_pairs_check,
)
from decdiff.results import CheckResult
from decdiff.tolerances import FIXED_POINT_RESIDUAL

ID = "theorem6.surrogate_bound"


@sampled_pairs_check(ID, "Theorem 6", "fixed-point deviations are below the surrogate residual R_hat of their "
                     "epsilon-local sample set (Eq. 17)")
def surrogate_bound(ctx: CheckContext) -> list[CheckResult]:
    pairs = converged_pairs(ctx)
    samples, points = pairs.samples, pairs.points
    member = points.converged[samples.inverse]
    rows = torch.nonzero(member).flatten()
    pair = samples.inverse[rows]
    # M_eps(a) depends on the anchor through J_a only: one anchor per distinct pair
    anchors = torch.from_numpy(np.unique(pair.numpy(), return_index=True)[1])
    sweep = surrogate_sweep(samples.features[rows], samples.states[rows], points.j_y[pair],
                            points.deviation_norm[pair], anchors=anchors, pair_ids=pair)
    usable = ~sweep.degenerate
    any_usable = bool(usable.any())
    worst_eps = int(torch.argmin(sweep.worst_margin)) if any_usable else -1
    observed = -float(sweep.worst_margin[worst_eps]) if any_usable else None
    conclusion = None if observed is None else observed < 0
    counterexample = None
    if conclusion is False:
        anchor, k = (int(v) for v in sweep.worst_pair[worst_eps])
        counterexample = {"member": describe_pair(ctx, samples, int(pair[k])),
                          "anchor": describe_pair(ctx, samples, int(pair[anchors[anchor]])),
                          "epsilon": float(sweep.epsilons[worst_eps]),
                          "set_size": int(sweep.set_size[worst_eps, anchor]),
                          "distinct_samples": int(sweep.distinct[worst_eps, anchor]),
                          "R_hat": float(sweep.r17[worst_eps, anchor]),
                          "deviation_norm": float(points.deviation_norm[pair[k]])}
    per_eps = []
    for e in range(sweep.epsilons.numel()):
        ok = usable[e]
        per_eps.append({
            "quantile": EPSILON_QUANTILES[e], "epsilon": float(sweep.epsilons[e]),
            "mean_set_size": float(sweep.set_size[e].double().mean()),
            "mean_distinct_samples": float(sweep.distinct[e].double().mean()),
            "degenerate_sets": int(sweep.degenerate[e].sum()),
            "exact_fit_sets": int(sweep.exact_fit[e].sum()),
            "max_R_hat_degenerate": float(sweep.r17[e][~ok].max()) if bool((~ok).any()) else None,
            "mean_R_hat": float(sweep.r17[e][ok].mean()) if bool(ok.any()) else None,
            "mean_R15": float(sweep.r15[e][ok].mean()) if bool(ok.any()) else None,
            "mean_span_r_M": float(sweep.span[e].double().mean()),
            "fraction_bounded_norm": _num(sweep.bounded["norm"][e]),
            "fraction_bounded_sqrt": _num(sweep.bounded["sqrt"][e]),
            "fraction_bounded_squared": _num(sweep.bounded["squared"][e]),
        })
    result = CheckResult.make(
        id=ID, claim="Theorem 6", subject=ctx.subject(),
        assumptions={"nondegenerate_sets_exist": any_usable, "fixed_points_found": pairs.found()},
        conclusion_holds=conclusion, observed=observed, bound=0.0, n_cases=int(usable.sum()), seed=ctx.seed,
        tolerance={"fixed_point_residual": FIXED_POINT_RESIDUAL},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "max over non-degenerate M_eps and members of ||D||_2 - R_hat(M) (Eq. 17)",
                 "feature_dim": sweep.feature_dim, "samples": int(rows.numel()),
                 "max_deviation_norm": float(points.deviation_norm[pair].max()) if rows.numel() else None,
                 "per_epsilon": per_eps},
    )
    target_margin(result.margin, ID)
    return [result]


def _num(value: torch.Tensor) -> float | None:
    v = float(value)
    return None if v != v else v
