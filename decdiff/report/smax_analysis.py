"""Fig. 2(g.2) analogue: fixed-point deviation against Jacobian rank for a SMACv2-like denoiser.

For sampled (local history, state) pairs (tau_k, s_k) the fixed point y*_k = phi_inf(tau_k)(s_k)
(Definition 4, iterated from the clean state and refined by Newton), its deviation
||D_phi|| = ||s_k - y*_k|| (Eq. 12) and rank(J_+) (Eq. 14) come from
`decdiff.implementations.analysis.jacobian_rank`, exactly as the tabular check
``finding3.rank_deviation`` computes them; Spearman's rho between rank and deviation gets
a Fisher-z interval at CONFIDENCE_LEVEL, read like that check (the paper expects rho < 0:
holds when the interval lies below 0, violated above, inconclusive otherwise).

The R_hat lines are Eq. (17) over epsilon-local sets M_eps(a) = {k : ||J_k - J_a||_F <= eps}
(`decdiff.implementations.analysis.surrogate`) at the epsilons of given quantiles of the
pairwise Jacobian distances (the report uses Fig. 2's, `decdiff.report.deviations`),
averaged over a seeded subset of anchors a (every anchor of 10^3 samples would need 10^3
regressions on |tau| features each). Sets with at most
|tau| + 1 distinct members are fitted exactly (R_hat = 0, docs/claims.md#theorem-6): they are counted
as degenerate and left out of the mean, never silently. The fraction of (set, member)
pairs with ||D|| < R_hat (the paper's reading of Fig. 2(g)) and with ||D|| < sqrt(R_hat)
(same units) are reported per epsilon.

SMAX histories are continuous and never repeat, so S_G(tau_i), consistent states and the
exact denoiser do not exist here (docs/claims.md#other-ambiguities): only the trained network is analysed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import (
    fixed_points_from_states,
    float64_copy,
    numerical_rank,
    spearman_interval,
)
from decdiff.implementations.analysis.surrogate import (
    epsilon_sweep,
    jacobian_distances,
    surrogate_sweep,
)
from decdiff.report.data import rounded
from decdiff.tolerances import (
    CONFIDENCE_LEVEL,
    FIXED_POINT_RESIDUAL,
    JACOBIAN_RANK_RELATIVE,
)

#: Rows per batch of the fixed-point search: Newton builds [rows, d + |tau|, d + |tau|] float64
#: Jacobians of the augmented map, 60 MB at 128 rows for H = 1 (d = 100, |tau| = 142).
FIXED_POINT_CHUNK = 128
#: Anchors per call of the surrogate regression (its masks and centred copies are [E, anchors, K, |tau|]).
ANCHOR_CHUNK = 32


def _fixed_points(denoiser, features: torch.Tensor, states: torch.Tensor, sigma: float) -> dict[str, torch.Tensor]:
    """Converged flags, deviations ||D||, J_+ and J_y of every row (chunked for memory)."""
    parts = [fixed_points_from_states(denoiser, features[rows], states[rows], sigma)
             for rows in torch.arange(features.shape[0]).split(FIXED_POINT_CHUNK)]
    return {"converged": torch.cat([p.converged for p in parts]),
            "deviation": torch.cat([p.deviation_norm for p in parts]),
            "j_plus": torch.cat([p.j_plus for p in parts]), "j_y": torch.cat([p.j_y for p in parts])}


def _r_hat_lines(features: torch.Tensor, states: torch.Tensor, j_y: torch.Tensor, deviation: torch.Tensor,
                 quantiles: tuple[float, ...], anchors: int, seed: int) -> list[dict[str, Any]]:
    """Per epsilon quantile: mean R_hat over non-degenerate sets of the sampled anchors, and fractions bounded."""
    k = features.shape[0]
    eps = epsilon_sweep(jacobian_distances(j_y), quantiles)
    picked = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(k, size=min(anchors, k), replace=False)))
    sweeps = [surrogate_sweep(features, states, j_y, deviation, epsilons=eps, anchors=chunk)
              for chunk in picked.split(ANCHOR_CHUNK)]
    r17 = torch.cat([s.r17 for s in sweeps], dim=1)                                   # [E, A]
    degenerate = torch.cat([s.degenerate for s in sweeps], dim=1)
    size = torch.cat([s.set_size for s in sweeps], dim=1).to(torch.float64)
    lines = []
    for e, quantile in enumerate(quantiles):
        usable = ~degenerate[e]
        pairs = [float((s.set_size[e] * ~s.degenerate[e]).sum()) for s in sweeps]     # (set, member) pairs per call
        total = sum(pairs)

        def fraction(name: str) -> float | None:
            return None if total == 0 else rounded(sum(float(s.bounded[name][e]) * p
                                                       for s, p in zip(sweeps, pairs) if p > 0) / total)

        lines.append({"quantile": quantile, "epsilon": rounded(eps[e]), "anchors": int(picked.numel()),
                      "degenerate_sets": int(degenerate[e].sum()), "mean_set_size": rounded(size[e].mean()),
                      "mean_R_hat": rounded(r17[e][usable].mean()) if bool(usable.any()) else None,
                      "fraction_bounded_norm": fraction("norm"), "fraction_bounded_sqrt": fraction("sqrt")})
    return lines


def rank_deviation_data(denoiser, features: torch.Tensor, states: torch.Tensor, sigma: float, *,
                        quantiles: tuple[float, ...], anchors: int, seed: int) -> dict[str, Any]:
    """Fig. 2(g.2)'s JSON for ``features [K, |tau|]`` and ``states [K, d]`` (module docstring)."""
    features, states = features.to(torch.float64), states.to(torch.float64)
    points = _fixed_points(float64_copy(denoiser), features, states, sigma)
    keep = torch.nonzero(points["converged"]).flatten()
    ranks = numerical_rank(points["j_plus"][keep], JACOBIAN_RANK_RELATIVE).numpy()
    deviation = points["deviation"][keep]
    corr = spearman_interval(ranks, deviation.numpy(), confidence=CONFIDENCE_LEVEL, method="fisher")
    defined = not np.isnan(corr.rho)
    verdict = {True: "holds", False: "violated", None: "inconclusive"}[corr.below_zero()]
    return {"pairs": int(features.shape[0]), "converged": int(keep.numel()), "feature_dim": int(features.shape[1]),
            "ranks": ranks.tolist(), "deviation_norms": rounded(deviation),
            "max_possible_rank": int(min(points["j_plus"].shape[1:])),
            "spearman": {"rho": rounded(corr.rho) if defined else None,
                         "ci": rounded([corr.low, corr.high]) if defined else None,
                         "confidence": CONFIDENCE_LEVEL, "verdict": verdict,
                         "reading": "Finding 3 expects rho < 0 (lower rank, larger deviation)"},
            "r_hat": _r_hat_lines(features[keep], states[keep], points["j_y"][keep], deviation, quantiles, anchors,
                                  seed)
            if keep.numel() > 1 else [],
            "tolerances": {"rank_relative": JACOBIAN_RANK_RELATIVE, "fixed_point_residual": FIXED_POINT_RESIDUAL}}
