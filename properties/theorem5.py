"""Theorem 5 (fixed-point sensitivity to history, Eq. 13) on a denoiser with continuous history input.

For a fixed point y* = f(tau, y*) and tau' = tau + dtau, the fixed point moves by
dy* ~ J_+ dtau with J_+ = (I - J_y)^{-1} J_tau (Eq. 14), with an error
||Err|| <= M eps^2 / (2 (1 - lambda_max) m^2), eps = ||J_y(tau', y*') - J_y(tau, y*)||_F.
M and m (Hessian bounds) are not observable, so the check tests the error's order: for
perturbations of the float history features of sizes h in THEOREM5_SCALES along random
unit directions, the least-squares slope of log ||Err|| against log eps must be at least
2 - THEOREM5_SLOPE. (The bound's 1/(1 - lambda_max) presumes a symmetric J_y with spectrum
in [0, lambda_max]; for one-hot histories J_tau is the network's extension to real inputs.)

Assumptions evaluated on every analysed fixed point (found from the clean states of
sampled (history, state) pairs, Definition 4, `sampled_pairs`): spectral radius of J_y(y*) < 1 (so
(I - J_y)^{-1} exists and the bound's 1/(1 - lambda_max) is finite), the Jacobian change at
the largest perturbation <= THEOREM5_MAX_JACOBIAN_CHANGE ("for a small eps"), a C^2
network (a smooth activation), and the Newton continuation of y* converging.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import fixed_point_shift
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.sampled_pairs import (
    converged_pairs,
    describe_pair,
    sampled_pairs_check,
)
from decdiff.results import CheckResult
from decdiff.tolerances import (
    FIXED_POINT_RESIDUAL,
    STABILITY_MARGIN,
    THEOREM5_ERROR_FLOOR,
    THEOREM5_MAX_JACOBIAN_CHANGE,
    THEOREM5_SCALES,
    THEOREM5_SLOPE,
)

ID = "theorem5.fixed_point_shift"


@sampled_pairs_check(ID, "Theorem 5", "fixed-point shifts under small history perturbations follow J_+ dtau "
                     "with an O(eps^2) error (Eq. 13)")
def fixed_point_shift_check(ctx: CheckContext) -> list[CheckResult]:
    pairs = converged_pairs(ctx)
    samples, points, keep = pairs.samples, pairs.points, pairs.keep
    generator = torch.Generator().manual_seed(ctx.seed)
    directions = torch.randn(points.y.shape[0], points.features.shape[1], generator=generator, dtype=torch.float64)
    study = fixed_point_shift(samples.denoiser64, points, directions, THEOREM5_SCALES, ctx.sigma,
                              error_floor=THEOREM5_ERROR_FLOOR)
    slope = study.slope_epsilon[keep]
    at_floor = torch.isnan(slope) & (study.error[keep] <= THEOREM5_ERROR_FLOOR).all(dim=1)
    decided = ~torch.isnan(slope) | at_floor
    deficit = torch.where(at_floor, torch.zeros_like(slope), 2.0 - slope)
    worst = int(torch.argmax(torch.where(decided, deficit, torch.full_like(deficit, -np.inf)))) if keep.numel() else -1
    observed = float(deficit[worst]) if worst >= 0 and bool(decided.any()) else None
    conclusion = None if observed is None or not bool(decided.all()) else observed <= THEOREM5_SLOPE
    radius = points.spectral_radius[keep]
    assumptions = {
        "fixed_points_found": pairs.found() and bool(points.converged.all()),
        "spectral_radius_below_1": pairs.stable(),
        "jacobian_change_small": bool((study.jacobian_change[keep] <= THEOREM5_MAX_JACOBIAN_CHANGE).all()),
        "continuation_converged": bool(study.converged[keep].all()),
        "network_c2": bool(getattr(ctx.denoiser, "smooth", True)),
    }
    counterexample = None
    if conclusion is False or (observed is not None and observed > THEOREM5_SLOPE):
        b = int(keep[worst])
        counterexample = {**describe_pair(ctx, samples, b), "direction": directions[b].tolist(),
                          "scales": list(THEOREM5_SCALES), "errors": study.error[b].tolist(),
                          "jacobian_change": study.jacobian_change[b].tolist(), "slope": float(slope[worst])}
    result = CheckResult.make(
        id=ID, claim="Theorem 5", subject=ctx.subject(), assumptions=assumptions, conclusion_holds=conclusion,
        observed=observed, bound=THEOREM5_SLOPE, n_cases=int(keep.numel()) * len(THEOREM5_SCALES), seed=ctx.seed,
        tolerance={"slope": THEOREM5_SLOPE, "max_jacobian_change": THEOREM5_MAX_JACOBIAN_CHANGE,
                   "error_floor": THEOREM5_ERROR_FLOOR, "fixed_point_residual": FIXED_POINT_RESIDUAL,
                   "stability_margin": STABILITY_MARGIN},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "2 - min slope of log||Err|| vs log eps (0 for an exact O(eps^2) error)",
                 "scales": list(THEOREM5_SCALES),
                 "slope_vs_eps": {"min": _stat(slope, torch.min), "median": _stat(slope, torch.median)},
                 "slope_vs_h": {"min": _stat(study.slope_scale[keep], torch.min),
                                "median": _stat(study.slope_scale[keep], torch.median)},
                 "relative_error_at_largest_h": _stat(study.relative_error[keep, 0], torch.max),
                 "relative_error_at_smallest_h": _stat(study.relative_error[keep, -1], torch.max),
                 "max_jacobian_change": _stat(study.jacobian_change[keep], torch.max),
                 "max_spectral_radius": _stat(radius, torch.max),
                 "errors_at_round_off": int(at_floor.sum()),
                 "fixed_points": int(keep.numel()), "unconverged_fixed_points": int((~points.converged).sum())},
    )
    target_margin(result.margin, ID)
    return [result]


def _stat(values: torch.Tensor, reduce) -> float | None:
    values = values[~torch.isnan(values)]
    if values.numel() == 0:
        return None
    return float(reduce(values))
