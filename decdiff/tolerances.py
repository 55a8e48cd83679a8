"""Every numerical tolerance decdiff uses, in one place.

Checks import their tolerances from here and echo them into their results, so that a
report states exactly which thresholds its verdicts rest on. Where a tolerance can be
derived from the quantities involved (a probability computed by a product of T steps,
a fixed point refined by Newton's method), the function that derives it lives here too.
"""

from __future__ import annotations

import numpy as np

#: A row of T, O or the start vector is a probability distribution when its entries
#: are non-negative and it sums to 1 within this (the issue's contract; MADP uses 5e-13).
PROBABILITY_SUM = 1e-9

#: Two float64 probability tables are "the same" (e.g. a joint observation table and
#: the product of its marginals) within this absolute tolerance. The benchmark files
#: deviate by at most 6e-16; products of at most a few hundred factors stay below 1e-13.
PROBABILITY_EQUAL = 1e-12

#: Posteriors computed by two independent exact methods (forward filter against brute
#: force enumeration) agree within this absolute tolerance per entry.
def posterior_agreement(steps: int, n_states: int) -> float:
    """Bound on the float64 round-off between two exact posterior computations.

    Each filter step is a normalised matrix-vector product; the relative error of a
    sum of `n_states` non-negative terms is at most `n_states * eps`, and errors add up
    over `steps` steps (plus one normalisation each). A factor 10 leaves room for the
    brute-force side, which sums over paths in a different order.
    """
    eps = float(np.finfo(np.float64).eps)
    return 10.0 * (steps + 1) * (n_states + 2) * eps


# ----- dynamics: flows, fixed points, certificates (issue 3) ------------------------------------
#: Newton's method refines a fixed point y* of a denoiser until ||f(y*) - y*|| is at most
#: this (the issue's contract). For the exact denoiser at states of norm O(1), one
#: evaluation of f* is accurate to a few ulps (~1e-15), so 1e-12 is reachable with margin.
FIXED_POINT_RESIDUAL = 1e-12

#: The plain fixed-sigma iteration (Eq. 7) has converged when one step moves y by less than
#: this. With contraction factor lambda the iterate is then within tol / (1 - lambda) of
#: the fixed point, far inside the deduplication radius below for lambda < 0.999.
FLOW_STEP = 1e-10

#: Two refined fixed points closer than this are the same point. Refined points are
#: accurate to ~FIXED_POINT_RESIDUAL / (1 - lambda); distinct fixed points of the mixtures
#: we study are separated by far more (they approach distinct states or saddles).
FIXED_POINT_DEDUP = 1e-6

#: A fixed point is stable when its spectral radius is below 1 - this: eigenvalues are
#: computed to ~1e-13 in float64, and a margin keeps near-bifurcation points (rho -> 1)
#: out of "stable" rather than letting round-off decide.
STABILITY_MARGIN = 1e-9

#: Relative tolerance of bisections on the noise level (certified sigma bound, continuation):
#: each answer is bracketed to within this fraction of sigma.
SIGMA_BISECTION = 1e-7
