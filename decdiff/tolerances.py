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

#: The fixed-point search first iterates Eq. 7 only until one step moves y by less than this,
#: refines the distinct end points by Newton, and takes an end as converged to a stable
#: refined point y* when it lies within 2 tol ||(I - J(y*))^{-1}||_2 of it (the linearised
#: distance of an iterate whose step is below tol, doubled); every other end goes on to
#: FLOW_STEP. From 1e-6, Newton reaches FIXED_POINT_RESIDUAL in one or two steps.
FLOW_COARSE_STEP = 1e-6

#: Coarse end points closer than this are refined by Newton once, as one point. A wrong
#: merge costs no accuracy: an end that is not within its certified distance of the
#: refined point goes on to FLOW_STEP.
COARSE_MERGE = 1e-4

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

#: Certificate radii (certify.py) found by Newton's method stop when a step is below this
#: fraction of the radius, and are then moved by this fraction to the safe side (inward for
#: the uniqueness radius, outward for the location radius) and re-checked there: far above
#: float64 round-off of the log-sum-exp bounds (~1e-15 relative), far below any radius that
#: matters (the certified sigma moves by ~this relative amount).
CERTIFICATE_RADIUS_BACKOFF = 1e-12

def mixture_jacobian_round_off(max_norm_sq: float, sigma: float) -> float:
    """Absolute float64 error of J = (sum_k w_k s_k s_k^T - f* f*^T) / sigma^2 (`MixtureMap.jacobian`).

    The second-moment form subtracts two matrices with entries up to max_k ||s_k||^2 (plus
    the softmax's own relative error of ~K ulps, K <= a few hundred): 1024 ulps of
    (1 + max ||s||^2), divided by sigma^2.
    """
    return 1024 * float(np.finfo(np.float64).eps) * (1.0 + max_norm_sq) / sigma**2


#: Numerical continuation (continuation.py) locates sigma_c to SIGMA_BISECTION, but near a
#: saddle-node J - I is nearly singular, Newton stalls short of FIXED_POINT_RESIDUAL and the
#: branch is declared lost slightly early; measured on two-state mixtures against the closed
#: form (theory/critical_sigma.py) the relative error stays below 1e-6. Tests allow this.
CONTINUATION_RELATIVE = 1e-5

#: Central differences of log p_sigma(y | tau) with step 1e-5 against the score (Eq. 3), for
#: sigma >= 0.2 and states in [0, 1]^d with ||s_j - s_k|| <= sqrt(2): the truncation error
#: h^2/6 |d^3 log p| <= 1e-10/6 (D/sigma^2)^3 ~ 7e-7, round-off eps |log p| / h ~ 1e-9.
FINITE_DIFFERENCE_SCORE = 1e-6

#: Tests that assert a Monte-Carlo interval CONTAINS an exact value (basin masses against the
#: posterior, over many hypothesis examples) use this two-sided level: a correct implementation
#: misses with probability 1e-4 per interval, rare over the few hundred intervals of a run;
#: tests that assert an interval EXCLUDES a value use it too (the stronger statement).
TEST_INTERVAL_CONFIDENCE = 0.9999

#: Continuation in sigma counts a fixed point as state s's own while it is nearer to s
#: than to any other consistent state by this relative margin. Past a pitchfork the
#: branch sits on the equidistant midpoint, where round-off alone would decide; just
#: below it (sigma within SIGMA_BISECTION of sigma_c) the gap is ~sqrt(SIGMA_BISECTION) ~ 3e-4.
OWN_STATE_MARGIN = 1e-6


# ----- trained denoisers: Jacobian rank, Theorem 5, Corollary 5.1, Finding 3, Theorem 6 (issue 6) ----
#: Numerical rank of J_+ (Eq. 14): singular values > this * sigma_max count. docs/claims.md#notation
#: leaves the tolerance open and suggests 1e-3; float64 J_+ of a float32-trained network
#: evaluated in float64 is accurate to ~1e-13 relative, far below it.
JACOBIAN_RANK_RELATIVE = 1e-3

#: Relative tolerances at which ranks are also reported (the rank's sensitivity to the choice).
JACOBIAN_RANK_SWEEP = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)

#: Theorem 5: perturbation sizes ||d tau|| of the continuous history features (one-hot
#: features have entries 0/1, so these are 1% down to 0.03% of an entry). Small enough
#: that the Jacobian change eps is small, large enough that the O(eps^2) error (~1e-8 at
#: the smallest size for O(1) curvature) stays well above the Newton residual floor below.
THEOREM5_SCALES = (1e-2, 3e-3, 1e-3, 3e-4)

#: Errors of the Eq. (13) prediction at or below this are round-off (Newton refines to
#: FIXED_POINT_RESIDUAL = 1e-12, amplified by 1 / (1 - lambda) <= 10 for the fixed points
#: analysed) and are left out of the log-log slope fit.
THEOREM5_ERROR_FLOOR = 1e-10

#: Theorem 5's "for a small eps": the Jacobian change ||J_y(tau', y*') - J_y(tau, y*)||_F at
#: the largest perturbation must be at most this (J_y has entries of order 1 at most; a
#: change of 0.1 keeps the second-order Taylor term dominant over higher orders).
THEOREM5_MAX_JACOBIAN_CHANGE = 0.1

#: Theorem 5's conclusion Err = O(eps^2): the least-squares slope of log ||Err|| against
#: log eps must be at least 2 minus this. An exact quadratic error gives 2; third-order
#: terms over the 1.5 decades of THEOREM5_SCALES move the fitted slope by a few hundredths
#: for smooth networks; a first-order (wrong) prediction gives slope ~1.
THEOREM5_SLOPE = 0.3

#: Corollary 5.1's formula agrees with the exact J_+ within this relative Frobenius error
#: when W_y W_y^+ = I. In float64 the eigendecomposition of J_y loses ~cond(U) * 1e-16; the
#: §6.9 reproduction gives 1e-15 .. 4e-15, and random networks stay below 1e-11.
COROLLARY5_1_RELATIVE = 1e-8

#: Corollary 5.1 assumes J_y symmetric and PSD, "approximately true for learned denoisers":
#: we accept ||J - J^T||_F / ||J||_F <= this, and a smallest eigenvalue of the symmetric part
#: >= -this * ||J||_2. 5% is our choice of "approximately"; the exact denoiser has 0 (to 1e-16).
JACOBIAN_SYMMETRY_RELATIVE = 0.05

#: Two-sided confidence level of the intervals checks report (Spearman's rho, bootstraps).
CONFIDENCE_LEVEL = 0.95

#: A trained denoiser meets Theorem 1's "without approximation errors" premise when its
#: excess MSE E||f - f*||^2 (= MSE(f) - Bayes MSE in expectation) is at most this fraction
#: of the Bayes MSE E||s - f*||^2 on held-out histories (the issue's "within 10%" figure).
TRAINED_REFERENCE_RELATIVE = 0.1

#: The reference check (properties/reference.py, issue 16) on a denoiser that does not declare
#: itself trained: such a denoiser claims to compute f* = sum_k w_k s_k, w = softmax(l),
#: l_k = log pi_k - ||y - s_k||^2 / (2 sigma^2), in its own floating-point form. Each logit
#: carries an absolute round-off of a few eps |l_k| (eps: the machine epsilon of the denoiser's
#: output dtype); the softmax turns a logit error of at most e into weight errors of total
#: variation <= 2e, and the mean over states moves by at most that times the states'
#: diameter, plus eps times the largest state norm for the final sum. This factor
#: absorbs the "few": sums over K states and d coordinates reassociated in another order
#: (numpy against torch, BLAS blockings) grow round-off by at most ~log2(Kd) << 64.
REFERENCE_ROUND_OFF_FACTOR = 64.0


def reference_round_off(eps: float, logit_scale: float, diameter: float, state_norm: float) -> float:
    """Largest |f - f*| a float re-implementation of f* may show from round-off alone.

    ``REFERENCE_ROUND_OFF_FACTOR * eps * ((1 + L) * 2 * diameter + state_norm)`` with L the largest
    |logit| max_k |log pi_k - ||y - s_k||^2 / (2 sigma^2)| over the consistent states of the rows compared.
    """
    return REFERENCE_ROUND_OFF_FACTOR * eps * ((1.0 + logit_scale) * 2.0 * diameter + state_norm)


def noise_widening(rms: float, dim: int, rows: int) -> float:
    """How far call-to-call noise of ``rms`` per coordinate can move any of ``rows`` outputs in R^dim.

    The noise of one call, rms * z with z standard normal in R^d, has ||z|| <= sqrt(d) + t except
    with probability exp(-t^2 / 2) (Gaussian concentration of the norm); over `rows` rows at
    level 1 - CONFIDENCE_LEVEL (union bound), t = sqrt(2 ln(rows / (1 - CONFIDENCE_LEVEL))).
    ``rms`` is measured as the RMS of the difference of two calls on one batch, over sqrt(2).
    """
    t = float(np.sqrt(2.0 * np.log(max(rows, 1) / (1.0 - CONFIDENCE_LEVEL))))
    return rms * (float(np.sqrt(dim)) + t)



# ----- baselines of `decdiff check` (issue 8, issue 16) --------------------------------------------
#: Entries of a check's ``tolerance`` record that are absolute accuracies of the quantities it computes
#: (not fractions, levels or rates): how far apart two fixed points may be and still be one
#: (``distance``), the step at which flows stop, Newton's residual, the round-off the reference checks
#: allow. A margin cannot be resolved more finely than the largest of them.
ABSOLUTE_ACCURACY_KEYS = ("distance", "flow_step", "fixed_point_residual", "largest_round_off")


def baseline_margin_tolerance(observed: float | None, bound: float | None, ci: tuple[float, float] | None,
                              tolerance: dict[str, object], eps: float) -> float:
    """How far a check's margin ``bound - observed`` may drop below its baseline before it counts as a regression.

    The sum of what the check cannot resolve: half its CONFIDENCE_LEVEL interval ``ci`` (a
    Monte-Carlo margin), the largest absolute accuracy in its ``tolerance`` record
    (ABSOLUTE_ACCURACY_KEYS), and the round-off of the margin itself,
    ``REFERENCE_ROUND_OFF_FACTOR * eps * max(|observed|, |bound|)`` with ``eps`` the machine epsilon
    of the denoiser's output dtype (1.2e-7 for float32 networks, 2.2e-16 for float64).
    """
    result = REFERENCE_ROUND_OFF_FACTOR * eps * max(abs(float(v)) for v in (observed, bound, 0.0) if v is not None)
    accuracies = [float(tolerance[k]) for k in ABSOLUTE_ACCURACY_KEYS if isinstance(tolerance.get(k), (int, float))]
    result += max(accuracies, default=0.0)
    if ci is not None and all(np.isfinite(ci)):
        result += 0.5 * abs(float(ci[1]) - float(ci[0]))
    return result


# ----- composite diffusion: Theorem 7, Corollaries 7.1 and 7.2, Finding 6, Theorem 8 (issue 5) ----------
#: Converged iterates are compared with this absolute slack (plus COMPOSITE_RELATIVE below):
#: error <= max_i D_phi + slack, distance to the convex hull <= slack, and the Step-2 movement
#: bound 2 D_bar + this; fixed points closer than it are one point, and singular values below
#: it * sqrt(m) of m centred points are rank-deficient directions. Flows stop when a step (a
#: composite pass) moves by < FLOW_STEP = 1e-10; with contraction factors <= 0.99 an iterate is
#: then within 1e-8 of its limit, so two limits compare to within 2e-8.
COMPOSITE_DISTANCE = 1e-7

#: The composite claims compare errors with deviations D (Theorem 7: error <= max_i D); they are
#: decided to this fraction of D_bar (the run's largest deviation) on top of COMPOSITE_DISTANCE,
#: and local maps count as isotropic when their anisotropy can move the orbit off the hull by at
#: most that much (`CompositeRun.isotropy`, a first-order bound a diam / (1 - ||J||) with
#: diam <= 2 D_bar, i.e. Jacobian anisotropy a up to ~5%). The exact denoiser at sigma = 0.3 has
#: a ~ 1e-3 on the sensor ring and up to ~3e-2 on the 5x5 grid (H = 5); the failures
#: docs/claims.md#theorem-7 describes have a = 0.99 and errors 70% above max D, composite cycles errors of order 1.
COMPOSITE_RELATIVE = 0.1


# ----- fixed-point checks: Theorems 1-4, Finding 1 (issue 5) -------------------------------------
#: A non-exact denoiser's stable fixed point "is" consistent state s when it lies within the
#: certified radius of f*'s own fixed point plus this fraction of c, the smallest distance
#: between two distinct states of the model (sqrt(2) for one-hot and multi-hot embeddings).
#: Any fraction below 1/2 makes the match unambiguous (a point is within it of one state at
#: most). 0.05 (0.071 for one-hot states) admits the deviations D_phi of a denoiser trained to
#: the Bayes MSE within a few per cent (a width-256 MLP on sensor-ring, `decdiff train` defaults:
#: stable fixed points within 0.0055 of their states, measured with `decdiff verify --denoiser`)
#: and rejects f* evaluated at 2 sigma = 0.6, whose fixed points sit 0.135 from the states
#: (docs/claims.md#finite-sigma).
FIXED_POINT_DEVIATION_FRACTION = 0.05

#: A float32 torch module of a user's (no ``as_dtype``) stops Newton near its round-off (~1e-7), far above
#: FIXED_POINT_RESIDUAL, so its fixed points are analysed on a float64 copy (`deepcopy(module).to(float64)`)
#: when the copy's outputs on the probe batch agree with the module's to this fraction of max(1, max |f|).
#: float32 round-off through a network of width w and L layers is ~ L sqrt(w) 6e-8 (1e-6 for the report's
#: width-256 ring network); a copy that computes something else differs by far more. A copy that disagrees,
#: fails or still returns float32 is not used (the checks then run on the module and may end inconclusive).
FLOAT64_COPY_AGREEMENT = 1e-4
#: The same radius sizes the balls on which `reference.max_deviation` judges a trained denoiser:
#: B(s, R) with R = r_min + FIXED_POINT_DEVIATION_FRACTION x c, allowed deviation R - M(R)
#: (`self_map_slack` in implementations/dynamics/contraction.py: the most a map may stray from f* there
#: and still map the ball into itself, hence have a fixed point in it).

#: Theorem 1 as a high-probability statement (docs/claims.md#theorem-1): the flow from y0 ~ p_sigma(y | tau)
#: must end at the posterior argmax for y0 except with probability at most this. The band where
#: the exact f* disagrees has width ~4 sigma^4 ln(pi_max / pi_min) / D between states at distance D;
#: its mass under p_sigma stays below 1e-3 at sigma <= 0.3 for D >= 1 (measured on random models in
#: tests/properties), so 2% leaves room for the Monte-Carlo interval of a few hundred starts
#: (0 failures in 256 starts give a 95% Wilson upper limit of 1.5%).
THEOREM1_FAILURE_RATE = 0.02


# ----- `decdiff report --compare`: one report against another, from another machine (issue 17) -------------------
#: Numbers computed from the exact denoiser (float64 posteriors, Newton-refined fixed points, seeded Monte Carlo
#: whose random draws torch generates identically on every CPU) differ across machines only by the round-off of
#: reductions that another CPU or BLAS build orders differently: ~1e-16 relative per operation, amplified by
#: Newton solves and bisections at most to the FIXED_POINT_RESIDUAL = 1e-12 that refinement resolves. Two reports
#: agree on such a number a, b when |a - b| <= this * max(1, |a|, |b|) (1e3 times that residual, for the
#: conditioning of quantities derived from fixed points, such as sigma_c by bisection to SIGMA_BISECTION = 1e-7
#: relative, whose end point only moves when a comparison at the bisection's resolution flips).
EXACT_ACROSS_MACHINES = 1e-7

#: Numbers computed from trained networks (float32 training, then float32 evaluation) are not reproducible to
#: round-off across machines: another CPU's vector width changes the float32 summation order (~1.2e-7 relative
#: per operation), and thousands of optimiser steps carry that into weights that differ like two close training
#: runs. What the report relies on is that such a network is trained to the Bayes MSE within
#: TRAINED_REFERENCE_RELATIVE (10%); its outputs, deviations and fixed points are pinned only that far. Two
#: reports agree on such a number when |a - b| <= this * max(|a|, |b|) + TRAINED_ACROSS_MACHINES_ABSOLUTE:
#: twice the 10% (one network on each side), plus an absolute floor for quantities that are themselves
#: round-off sized (deviations of 1e-3 between fixed points ~1.4 apart).
TRAINED_ACROSS_MACHINES = 2 * TRAINED_REFERENCE_RELATIVE

#: The absolute floor of the trained comparison: 5% of the smallest distance sqrt(2) between one-hot states,
#: FIXED_POINT_DEVIATION_FRACTION of it, below which a fixed point's match to a state cannot change.
TRAINED_ACROSS_MACHINES_ABSOLUTE = FIXED_POINT_DEVIATION_FRACTION * float(np.sqrt(2.0))


def across_machines(a: float, b: float, trained: bool) -> float:
    """How far two reports' values `a`, `b` of one number may differ across machines (see the constants above)."""
    if trained:
        return TRAINED_ACROSS_MACHINES * max(abs(a), abs(b)) + TRAINED_ACROSS_MACHINES_ABSOLUTE
    return EXACT_ACROSS_MACHINES * max(1.0, abs(a), abs(b))

#: Two singular values of a centred point set tie when they differ by at most this times the largest: the
#: directions of a tied block have no preferred basis, and LAPACK builds return different ones (Fig. 2(d)'s
#: projection of the symmetric sensor-grid states did). SVD round-off is ~1e-15 relative for a few dozen points.
PRINCIPAL_AXES_TIE = 1e-9
