"""Corollary 5.1 (fully connected first layer): dy* ~ U (I - Lambda)^{-1} Lambda U^T W_y^+ W_tau dtau.

For f(tau, y) = g(a(W_tau tau + W_y y + b)), J_tau = G D W_tau and J_y = G D W_y, so
J_+ = (I - J_y)^{-1} J_y W_y^+ W_tau exactly when W_y W_y^+ = I, i.e. first-layer width
h <= |s| (for wider networks, which the paper uses, W_y W_y^T is singular and the formula
fails). The check compares the corollary's matrix with the exact J_+ (Eq. 14) at the fixed
points of sampled (history, state) pairs (`sampled_pairs`), by relative Frobenius error <= COROLLARY5_1_RELATIVE.

The formula is evaluated with the general eigendecomposition J_y = U Lambda U^{-1}
(U^{-1} = U^T when J_y is symmetric), so a failure isolates the width condition; the
literal symmetric form (orthogonal eigendecomposition of the symmetric part) is reported
in the details. Assumptions: h <= |s|, J_y symmetric and PSD within
JACOBIAN_SYMMETRY_RELATIVE (the corollary's stated premise), spectral radius < 1.
"""

from __future__ import annotations

import torch

from decdiff.implementations.analysis.jacobian_rank import (
    corollary_5_1_matrix,
    min_symmetric_eigenvalue,
    relative_error,
    symmetry_defect,
)
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.sampled_pairs import (
    converged_pairs,
    describe_pair,
    sampled_pairs_check,
)
from decdiff.results import CheckResult
from decdiff.tolerances import (
    COROLLARY5_1_RELATIVE,
    JACOBIAN_SYMMETRY_RELATIVE,
    STABILITY_MARGIN,
)

ID = "corollary5_1.first_layer_formula"


@sampled_pairs_check(ID, "Corollary 5.1", "U(I-Lambda)^-1 Lambda U^T W_y^+ W_tau equals J_+ for a network with an "
                     "affine first layer")
def first_layer_formula(ctx: CheckContext) -> list[CheckResult]:
    first_layer = getattr(ctx.denoiser, "first_layer", None)
    if first_layer is None:
        return [CheckResult.make(id=ID, claim="Corollary 5.1", subject=ctx.subject(), assumptions={},
                                 conclusion_holds=None, seed=ctx.seed, reproduce=ctx.reproduce(ID),
                                 skipped_reason="the denoiser does not expose its first layer (first_layer())")]
    pairs = converged_pairs(ctx)
    samples, points, keep = pairs.samples, pairs.points, pairs.keep
    w_tau, w_y, _ = samples.denoiser64.first_layer()
    j_y, exact = points.j_y[keep], points.j_plus[keep]
    error = relative_error(corollary_5_1_matrix(j_y, w_tau, w_y), exact)
    literal = relative_error(corollary_5_1_matrix(j_y, w_tau, w_y, symmetric=True), exact)
    asym = symmetry_defect(j_y)
    norm2 = torch.linalg.matrix_norm(j_y, ord=2)
    min_eig = min_symmetric_eigenvalue(j_y)
    width, state_dim = int(w_y.shape[0]), int(w_y.shape[1])
    assumptions = {
        "first_layer_width_le_state_dim": width <= state_dim,
        "jacobian_symmetric": bool((asym <= JACOBIAN_SYMMETRY_RELATIVE).all()),
        "jacobian_psd": bool((min_eig >= -JACOBIAN_SYMMETRY_RELATIVE * norm2).all()),
        "spectral_radius_below_1": pairs.stable(),
        "fixed_points_found": pairs.found(),
    }
    observed = float(error.max()) if keep.numel() else None
    conclusion = None if observed is None else observed <= COROLLARY5_1_RELATIVE
    counterexample = None
    if conclusion is False:
        worst = int(torch.argmax(error))
        counterexample = {**describe_pair(ctx, samples, int(keep[worst])), "relative_error": float(error[worst]),
                          "first_layer_width": width, "state_dim": state_dim,
                          "rank_W_y": int(torch.linalg.matrix_rank(w_y))}
    result = CheckResult.make(
        id=ID, claim="Corollary 5.1", subject=ctx.subject(), assumptions=assumptions, conclusion_holds=conclusion,
        observed=observed, bound=COROLLARY5_1_RELATIVE, n_cases=int(keep.numel()), seed=ctx.seed,
        tolerance={"relative_error": COROLLARY5_1_RELATIVE, "symmetry_relative": JACOBIAN_SYMMETRY_RELATIVE,
                   "stability_margin": STABILITY_MARGIN},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "max relative Frobenius error of the corollary's matrix against J_+",
                 "first_layer_width": width, "state_dim": state_dim,
                 "median_relative_error": float(error.median()) if keep.numel() else None,
                 "literal_symmetric_form_max_relative_error": float(literal.max()) if keep.numel() else None,
                 "max_symmetry_defect": float(asym.max()) if keep.numel() else None,
                 "min_symmetric_eigenvalue": float(min_eig.min()) if keep.numel() else None},
    )
    target_margin(result.margin, ID)
    return [result]
