"""Critical noise levels sigma_c of the exact denoiser f*: exact for two states, certified lower bounds for many.

sigma_c(tau, s): above it s has no nearby stable fixed point. Notation and steps (1)-(5) (the
weight bounds rho_j, the bounds M(r) on the image and L(r) on the Jacobian, the radii
r_min <= r_max <= c) are those of `contraction`. Two states: exact,
`decdiff.theory.critical_sigma.critical_sigma(d, r)` for the minor state (r =
pi_minor/pi_major <= 1), infinite for a strictly major state. Many states: a certified
lower bound sigma_b (the certificate holds at EVERY sigma in (0, sigma_b]), from two lemmas:

(6) Monotonicity below sigma_mono = min_j D_j / sqrt(2). If the certificate holds at sigma with
    radius r and sigma' = sqrt(t) sigma <= sigma (t <= 1), it holds at sigma' with r' = t r:
    with alpha_j = x D_j^2 / 2 >= 1 and u = 1/t >= 1, rho_j'(r') = rho_j(r) e^{-alpha_j (u - 1)} and
    e^{-alpha (u - 1)} <= 1/u (as ln u <= u - 1 <= alpha (u - 1)), so M'(r') <= t M(r) <= r' and
    L'(r') = u sum_j x rho_j'(r') D_j^2 <= L(r) < 1. So {sigma <= sigma_mono : certified} is an
    interval (0, sigma*], located by the root finder of `sigma_search` (Illinois, in log sigma).

(7) Intervals above it. For sigma in [sigma_1, sigma_2], rho_j(r; sigma) <= rho_j(r; sigma_2) (D_j - 2r >= 0)
    and x <= 1/sigma_1^2, so M(r; sigma) <= M(r; sigma_2) and L(r; sigma) <= (sigma_2/sigma_1)^2 L(r; sigma_2):
    the certificate at sigma_2 with L inflated by kappa = (sigma_2/sigma_1)^2 proves it on the whole
    interval. Geometric intervals from sigma_mono up to TOP_FACTOR x max_j D_j are checked in turn; the
    end of the first failing one is located by the same root finder (the inflated test is
    monotone in sigma_2). The tail [sigma_T, inf) holds with r = R := sum_j (pi_j/pi_a) D_j when
    R < c and sigma_T^2 > sum_j (pi_j/pi_a) D_j^2 (rho_j <= pi_j/pi_a there); then sigma_b = inf.

Numerical continuation (`continuation`) is the independent check of these bounds.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.dynamics.contraction import (
    Geometry,
    certificate_gap,
    geometry,
)
from decdiff.implementations.dynamics.sigma_search import largest_below, largest_sigma
from decdiff.theory.critical_sigma import critical_sigma
from decdiff.tolerances import SIGMA_BISECTION

#: Ratio sigma_2 / sigma_1 of the intervals of lemma (7): L is inflated by its square (1.1).
INTERVAL_RATIO = 1.05

#: The interval scan of lemma (7) ends at this multiple of the largest state distance, where
#: the tail test takes over (sigma_c of two states never exceeds half their distance).
TOP_FACTOR = 2.0


def certified_sigma_bounds(geo: Geometry, rows: np.ndarray | None = None, *,
                           rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """Certified lower bounds sigma_b on sigma_c per row (lemmas 6-7): the certificate holds on (0, sigma_b]."""
    rows = np.arange(len(geo.cap)) if rows is None else rows
    out = np.full(len(rows), np.inf)
    lone = ~np.isfinite(geo.cap[rows])
    mono = geo.mono[rows]
    at_mono = np.full(len(rows), -np.inf)
    at_mono[~lone] = certificate_gap(geo, rows[~lone], mono[~lone])[0]
    down = np.flatnonzero(~lone & (at_mono >= 0.0))
    if down.size:
        def certified(sigma: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return certificate_gap(geo, rows[down[idx]], sigma)[0]

        out[down] = largest_below(certified, mono[down], rtol=rtol)
    up = np.flatnonzero(~lone & (at_mono < 0.0))
    if up.size:
        out[up] = _interval_scan(geo, rows[up], mono[up], rtol)
    return out


def _tail_holds(geo: Geometry, rows: np.ndarray, sigma_top: np.ndarray) -> np.ndarray:
    """The tail test of lemma (7) on [sigma_top, inf)."""
    ratio = np.exp(geo.log_ratio[rows])
    radius = (ratio * geo.dist[rows]).sum(axis=1)
    return (radius < geo.cap[rows]) & (sigma_top ** 2 > (ratio * geo.dist[rows] ** 2).sum(axis=1))


def _interval_scan(geo: Geometry, rows: np.ndarray, start: np.ndarray, rtol: float) -> np.ndarray:
    """Lemma (7) from sigma_mono (certified there) upwards: intervals [s, s q] until one fails.

    In the failing interval [s, s q] the end sigma_2 of the longest certified [s, sigma_2]
    is located (the inflated test gets harder as sigma_2 grows); above TOP_FACTOR x D_max
    the tail test decides between inf and the top of the scan.
    """
    top = TOP_FACTOR * geo.farthest[rows]
    lower = start.copy()
    result = np.full(len(rows), np.nan)
    active = np.arange(len(rows))
    while active.size:
        upper = lower[active] * INTERVAL_RATIO
        ok = certificate_gap(geo, rows[active], upper, np.full(active.size, INTERVAL_RATIO ** 2))[0] < 0.0
        failed = active[~ok]
        if failed.size:
            result[failed] = _refine_interval(geo, rows[failed], lower[failed], rtol)
        passed = active[ok]
        lower[passed] *= INTERVAL_RATIO
        reached = passed[lower[passed] >= top[passed]]
        result[reached] = np.where(_tail_holds(geo, rows[reached], lower[reached]), np.inf, lower[reached])
        active = passed[lower[passed] < top[passed]]
    return result


def _refine_interval(geo: Geometry, rows: np.ndarray, base: np.ndarray, rtol: float) -> np.ndarray:
    """The largest sigma_2 in [base, base q) with the inflated certificate on [base, sigma_2] (base if none)."""
    def inflated(sigma: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return certificate_gap(geo, rows[idx], sigma, (sigma / base[idx]) ** 2)[0]

    out = base.copy()
    lo = base * (1.0 + rtol)
    good = np.flatnonzero(inflated(lo, np.arange(len(rows))) < 0.0)
    if good.size:
        def sub(sigma: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return inflated(sigma, good[idx])

        out[good] = largest_sigma(sub, lo[good], base[good] * INTERVAL_RATIO, rtol=rtol)
    return out


def certified_sigma_bound(states: np.ndarray, posterior: np.ndarray, *, rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """``[A]`` certified lower bounds on sigma_c for the consistent states of one history (order of ``posterior > 0``)."""
    return certified_sigma_bounds(geometry(states, posterior), rtol=rtol)


def two_state_sigma_c(distance: float, weight: float, other_weight: float) -> float:
    """Exact sigma_c for a state of weight ``weight`` against one other state at ``distance``.

    The heavier state keeps its attractor at every sigma (inf); the lighter (or an equal one)
    loses it at `critical_sigma` of the distance and the weight ratio <= 1.
    """
    if weight > other_weight:
        return np.inf
    return critical_sigma(distance, weight / other_weight)


def exact_sigma_c(geo: Geometry) -> np.ndarray:
    """``[R]`` exact sigma_c where a history has one (inf) or two consistent states, NaN otherwise."""
    out = np.full(len(geo.cap), np.nan)
    count = np.bincount(geo.history, minlength=len(geo.span))[geo.history]
    out[count == 1] = np.inf
    for row in np.flatnonzero(count == 2):
        other = int(np.flatnonzero(np.isfinite(geo.log_ratio[row]))[0])
        ratio = float(np.exp(geo.log_ratio[row, other]))
        out[row] = two_state_sigma_c(float(geo.dist[row, other]), 1.0, ratio)
    return out
