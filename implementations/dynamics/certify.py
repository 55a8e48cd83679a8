"""Certified fixed points of the exact denoiser f* and critical noise levels (PAPER.md §1.4, §6.1-6.2).

Setting. Consistent states s_k with posterior weights pi_k > 0, a chosen state s = s_a,
and delta_j = s_j - s, D_j = ||delta_j||, x = 1 / sigma^2. For y in the closed ball B(s, r), u = y - s:

(1) Weight bound. w_j(y) = pi_j e^{-||y - s_j||^2/2sigma^2} / Z with Z >= pi_a e^{-||u||^2/2sigma^2}, and
    ||u||^2 - ||u - delta_j||^2 = 2 u.delta_j - D_j^2 <= 2 r D_j - D_j^2 (Cauchy-Schwarz), so

        w_j(y) <= rho_j(r) := (pi_j / pi_a) exp( -x D_j (D_j - 2 r) / 2 ).

(2) Image bound. f*(y) - s = sum_{j != a} w_j(y) delta_j, hence

        ||f*(y) - s|| <= M(r) := sum_{j != a} rho_j(r) D_j.

(3) Jacobian bound. J = Cov_w[s]/sigma^2 (Eq. 9 for f*) and, for any c,
    sum_k w_k (s_k - c)(s_k - c)^T = Cov_w[s] + (E_w s - c)(E_w s - c)^T >= Cov_w[s] (Loewner order);
    with c = s the k = a term vanishes and J is symmetric PSD, so

        ||J(y)||_2 <= L(r) := x sum_{j != a} rho_j(r) D_j^2 = M'(r).

(4) Contraction mapping theorem. If M(r) <= r and L(r) < 1, f* maps the closed ball B(s, r)
    into itself and is a contraction there (the ball is convex, so ||J|| <= L(r) < 1 gives
    the Lipschitz constant), hence exactly one fixed point y* lies in B(s, r), the plain
    iteration (Eq. 7) converges to it from every point of the ball, and it is stable:
    spectral radius(J(y*)) <= ||J(y*)||_2 <= L(r) < 1 (Eq. 11).

(5) Which radii work. Radii are capped at c = min_j D_j / 2, so that the fixed point is s's
    own (nearer to s than to any other state). log L(r) is a log-sum-exp of affine functions
    of r, hence convex and increasing: r_max = c if L(c) < 1, else the root of L(r) = 1,
    found by Newton's method from c (from the right of a convex increasing function it
    decreases monotonically onto the root, never past it). On [0, r_max) h(r) = M(r) - r is
    convex and decreasing (h' = L - 1 < 0), so a certificate exists iff h < 0 just below
    r_max, and then every r in [r_min, r_max) works, r_min the root of h; Newton from r = 0
    increases monotonically onto r_min (convex decreasing h), and the reported radius is
    re-checked (M(r) <= r) at the value returned. Hence: exactly one fixed point within r_max
    (the uniqueness radius), it lies within r_min (the location radius), and its spectral
    radius is at most L(r_min).

Critical sigma. sigma_c(tau, s): above it s has no nearby stable fixed point. Two states:
exact, `decdiff.theory.critical_sigma.critical_sigma(d, r)` for the minor state (r =
pi_minor/pi_major <= 1), infinite for a strictly major state. Many states: a certified
lower bound sigma_b (the certificate holds at EVERY sigma in (0, sigma_b]), from two lemmas:

(6) Monotonicity below sigma_mono = min_j D_j / sqrt(2). If the certificate holds at sigma with
    radius r and sigma' = sqrt(t) sigma <= sigma (t <= 1), it holds at sigma' with r' = t r:
    with alpha_j = x D_j^2 / 2 >= 1 and u = 1/t >= 1, rho_j'(r') = rho_j(r) e^{-alpha_j (u - 1)} and
    e^{-alpha (u - 1)} <= 1/u (as ln u <= u - 1 <= alpha (u - 1)), so M'(r') <= t M(r) <= r' and
    L'(r') = u sum_j x rho_j'(r') D_j^2 <= L(r) < 1. So {sigma <= sigma_mono : certified} is an
    interval (0, sigma*], located by a safeguarded regula falsi (Illinois) in log sigma.

(7) Intervals above it. For sigma in [sigma_1, sigma_2], rho_j(r; sigma) <= rho_j(r; sigma_2) (D_j - 2r >= 0)
    and x <= 1/sigma_1^2, so M(r; sigma) <= M(r; sigma_2) and L(r; sigma) <= (sigma_2/sigma_1)^2 L(r; sigma_2):
    the certificate at sigma_2 with L inflated by kappa = (sigma_2/sigma_1)^2 proves it on the whole
    interval. Geometric intervals from sigma_mono up to TOP_FACTOR x max_j D_j are checked in turn; the
    end of the first failing one is located by the same root finder (the inflated test is
    monotone in sigma_2). The tail [sigma_T, inf) holds with r = R := sum_j (pi_j/pi_a) D_j when
    R < c and sigma_T^2 > sum_j (pi_j/pi_a) D_j^2 (rho_j <= pi_j/pi_a there); then sigma_b = inf.

Isolation (nothing else is stable). At any fixed point y* = sum_k w_k s_k, with m the
dimension of the affine span of the consistent states and D_min their least distance,
tr Cov_w = 1/2 sum_{k,l} w_k w_l ||s_k - s_l||^2 >= D_min^2 (1 - w_max) / 2 and rank Cov_w <= m, so
rho(J(y*)) >= D_min^2 (1 - w_max) / (2 m sigma^2). A stable y* therefore has 1 - w_a < eps :=
2 m sigma^2 / D_min^2 for a = argmax w, hence ||y* - s_a|| <= (1 - w_a) max_j ||s_j - s_a|| < eps D_max(a).
If eps D_max(a) <= r_max(a) for every consistent a (each certified), every stable fixed point
is one of the certified ones. By (6) (r_max' >= t r_max, eps' = t eps) this condition is also
monotone below min_a sigma_mono(a), so sigma_iso(tau) = its supremum is found as in (6).
Above sigma_iso spurious stable points can exist: n equally likely states at mutual
distance D have a stable fixed point at their centroid (J = D^2/(2 n sigma^2) on their span)
for sigma > D / sqrt(2n), while each state keeps its own up to about D/2.

Numerical continuation, the independent check of all this, is in `continuation.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.distance import cdist

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import find_fixed_points
from decdiff.implementations.dynamics.flows import MixtureMap
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.theory.critical_sigma import critical_sigma
from decdiff.tolerances import CERTIFICATE_RADIUS_BACKOFF, SIGMA_BISECTION

#: Newton iterations allowed for the radii of step (5); from the monotone starting sides they
#: converge quadratically (linearly, halving the error, only at a tangency), so 60 suffice.
RADIUS_NEWTON_STEPS = 60

#: Root-finder iterations allowed on log sigma (Illinois converges superlinearly; every
#: fourth step is a bisection, so 200 always reach SIGMA_BISECTION).
SIGMA_SEARCH_STEPS = 200

#: Ratio sigma_2 / sigma_1 of the intervals of lemma (7): L is inflated by its square (1.1).
INTERVAL_RATIO = 1.05

#: The interval scan of lemma (7) ends at this multiple of the largest state distance, where
#: the tail test takes over (sigma_c of two states never exceeds half their distance).
TOP_FACTOR = 2.0

#: Start of the downward search for a certified sigma below sigma_mono (a factor per try).
DOWNWARD_FACTOR = 1e-3


@dataclass(frozen=True)
class Geometry:
    """Rows: (history, consistent state a); columns: that history's consistent states, padded.

    Attributes:
        dist: ``[R, C]`` D_j = ||s_j - s_a|| (0 on padding).
        log_ratio: ``[R, C]`` log(pi_j / pi_a); -inf at j = a and on padding.
        cap: ``[R]`` c = min_{j != a} D_j / 2 (inf for a lone state).
        history: ``[R]`` history (row of the posterior table) of each row.
        state: ``[R]`` index of s_a among the model's states.
        span: ``[H]`` m, the dimension of the affine span of each history's consistent states.
        least: ``[H]`` D_min, the least distance between two of its consistent states (inf if one).
    """

    dist: np.ndarray
    log_ratio: np.ndarray
    cap: np.ndarray
    history: np.ndarray
    state: np.ndarray
    span: np.ndarray
    least: np.ndarray

    @property
    def farthest(self) -> np.ndarray:
        """``[R]`` D_max(a) = max_j ||s_j - s_a||."""
        return np.where(np.isfinite(self.log_ratio), self.dist, 0.0).max(axis=1, initial=0.0)

    @property
    def mono(self) -> np.ndarray:
        """``[R]`` sigma_mono = min_j D_j / sqrt(2) of lemma (6) (inf for a lone state)."""
        return 2.0 * self.cap / np.sqrt(2.0)

    def rows_of(self, h: int) -> np.ndarray:
        """The rows (consistent states) of history ``h``."""
        return np.flatnonzero(self.history == h)


def _grouped(dist: np.ndarray, log_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the columns of each row that share a distance: sum_j rho_j D_j^k only sees D_j and
    sum over {j : D_j = D} of pi_j / pi_a. Exact (equal floats only); used when the history has
    fewer distinct distances than states (multi-hot embeddings have a handful)."""
    values, index = np.unique(dist, return_inverse=True)
    if len(values) >= dist.shape[1]:
        return dist, log_ratio
    index = index.reshape(dist.shape)
    shift = log_ratio.max(axis=1, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    table = np.zeros((dist.shape[0], len(values)))
    np.add.at(table, (np.arange(dist.shape[0])[:, None], index), np.exp(log_ratio - shift))
    with np.errstate(divide="ignore"):
        return np.broadcast_to(values, table.shape).copy(), np.log(table) + shift


def geometry(states: np.ndarray, posteriors: np.ndarray) -> Geometry:
    """Pairwise distances and weight ratios of every history's consistent states (``posteriors [H, S]``)."""
    states = np.asarray(states, dtype=np.float64)
    posteriors = np.atleast_2d(np.asarray(posteriors, dtype=np.float64))
    supports = [np.flatnonzero(p > 0) for p in posteriors]
    dists, ratios, spans, least = [], [], [], []
    for p, support in zip(posteriors, supports):
        pts = states[support]
        dist = cdist(pts, pts)
        log_ratio = np.log(p[support])[None, :] - np.log(p[support])[:, None]
        np.fill_diagonal(log_ratio, -np.inf)
        spans.append(np.linalg.matrix_rank(pts - pts[:1]) if len(support) > 1 else 0)
        off = dist[~np.eye(len(support), dtype=bool)]
        least.append(off.min() if off.size else np.inf)
        dist, log_ratio = _grouped(dist, log_ratio)
        dists.append(dist)
        ratios.append(log_ratio)
    width = max(d.shape[1] for d in dists)
    dist = np.concatenate([np.pad(d, ((0, 0), (0, width - d.shape[1]))) for d in dists])
    log_ratio = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=-np.inf)
                                for r in ratios])
    cap = 0.5 * np.where(np.isfinite(log_ratio), dist, np.inf).min(axis=1)
    history = np.concatenate([np.full(len(s), h) for h, s in enumerate(supports)])
    return Geometry(dist, log_ratio, cap, history, np.concatenate(supports), np.array(spans, dtype=np.float64),
                    np.array(least))


def _sums(geo: Geometry, rows: np.ndarray, x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    """log-scale sums of step (1)-(3) at ``x = 1/sigma^2``, radius ``r`` (both ``[len(rows)]``).

    Returns (shift, S1, S2, S3) with sum_j rho_j D_j^k = e^shift S_k, so M = e^shift S1,
    L = x e^shift S2 and dL/dr = x^2 e^shift S3.
    """
    dist = geo.dist[rows]
    exponent = geo.log_ratio[rows] + (x * r)[:, None] * dist - (0.5 * x)[:, None] * dist * dist
    shift = exponent.max(axis=1)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    e = np.exp(exponent - shift[:, None])
    ed = e * dist
    s1 = ed.sum(axis=1)
    ed *= dist
    s2 = ed.sum(axis=1)
    s3 = (ed * dist).sum(axis=1)
    return shift, s1, s2, s3


def image_bound(geo: Geometry, rows: np.ndarray, x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M(r) and L(r) of steps (2)-(3) at ``x = 1/sigma^2``: on B(s_a, r), ||f* - s_a|| <= M and ||J||_2 <= L."""
    shift, s1, s2, _ = _sums(geo, rows, x, r)
    scale = np.exp(shift)
    return scale * s1, x * scale * s2


def _log_lipschitz(geo: Geometry, rows: np.ndarray, x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log L(r) and its derivative x S3/S2 (-inf and 0 for a lone state)."""
    shift, _, s2, s3 = _sums(geo, rows, x, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) + shift + np.log(s2), np.where(s2 > 0, x * s3 / s2, 0.0)


def uniqueness_radius(geo: Geometry, rows: np.ndarray, x: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """r_max of step (5) with L inflated by ``kappa`` (lemma 7): kappa L < 1 on [0, r_max); NaN if kappa L(0) >= 1.

    Newton on log L(r) + log kappa = 0 from r = c; the returned radius is backed off by
    CERTIFICATE_RADIUS_BACKOFF and re-checked.
    """
    cap = geo.cap[rows]
    finite = np.isfinite(cap)
    r = np.where(finite, cap, 0.0)
    log_kappa = np.log(kappa)
    top, _ = _log_lipschitz(geo, rows, x, r)
    bottom, _ = _log_lipschitz(geo, rows, x, np.zeros_like(r))
    todo = np.flatnonzero(finite & (top + log_kappa >= 0.0) & (bottom + log_kappa < 0.0))
    for _ in range(RADIUS_NEWTON_STEPS):
        if todo.size == 0:
            break
        value, slope = _log_lipschitz(geo, rows[todo], x[todo], r[todo])
        step = (value + log_kappa[todo]) / slope
        r[todo] -= step
        todo = todo[step > CERTIFICATE_RADIUS_BACKOFF * r[todo]]
    interior = finite & (top + log_kappa >= 0.0)
    r = np.where(interior, r * (1.0 - CERTIFICATE_RADIUS_BACKOFF), r)
    check, _ = _log_lipschitz(geo, rows, x, r)
    ok = (check + log_kappa < 0.0) & (bottom + log_kappa < 0.0)
    return np.where(~finite, np.inf, np.where(ok, r, np.nan))


def location_radius(geo: Geometry, rows: np.ndarray, x: np.ndarray, r_max: np.ndarray) -> np.ndarray:
    """r_min of step (5): M(r_min) <= r_min, by Newton on M(r) - r from r = 0 (rows where the certificate holds)."""
    r = np.zeros(len(rows))
    todo = np.flatnonzero(np.isfinite(r_max))
    for _ in range(RADIUS_NEWTON_STEPS):
        if todo.size == 0:
            break
        m, lip = image_bound(geo, rows[todo], x[todo], r[todo])
        step = (m - r[todo]) / (1.0 - lip)
        r[todo] += step
        todo = todo[step > CERTIFICATE_RADIUS_BACKOFF * r[todo]]
    bumped = r * (1.0 + CERTIFICATE_RADIUS_BACKOFF)
    m, _ = image_bound(geo, rows, x, bumped)
    return np.where(~np.isfinite(r_max), 0.0, np.where(m <= bumped, np.minimum(bumped, r_max), r_max))


def certificate_gap(geo: Geometry, rows: np.ndarray, sigma: np.ndarray,
                    kappa: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """g = M(r_max) - r_max (the certificate holds iff g < 0; +inf where kappa L(0) >= 1) and r_max."""
    x = 1.0 / (sigma * sigma)
    kappa = np.ones(len(rows)) if kappa is None else kappa
    r_max = uniqueness_radius(geo, rows, x, kappa)
    lone = ~np.isfinite(geo.cap[rows])
    m, _ = image_bound(geo, rows, x, np.where(np.isfinite(r_max), r_max, 0.0))
    gap = np.where(lone, -np.inf, np.where(np.isfinite(r_max), m - r_max, np.inf))
    return gap, r_max


@dataclass(frozen=True)
class Certificate:
    """Contraction certificate for the fixed point of f* near one consistent state.

    Attributes:
        state: index of s among the model's states.
        sigma: the noise level.
        holds: the certificate succeeded (then the three numbers below are proved).
        location_radius: r_min: the unique fixed point lies within it of s.
        uniqueness_radius: r_max: exactly one fixed point within any r < r_max of s (inf: f* is constant).
        jacobian_bound: L(r_min) >= spectral radius of J at the fixed point.
    """

    state: int
    sigma: float
    holds: bool
    location_radius: float
    uniqueness_radius: float
    jacobian_bound: float


def certify_rows(geo: Geometry, sigma: np.ndarray, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Step (5) for ``rows`` (all by default) at per-row noise levels ``sigma``.

    Returns ``holds``, ``uniqueness_radius``, ``location_radius``, ``jacobian_bound`` (NaN where it fails).
    """
    rows = np.arange(len(geo.cap)) if rows is None else rows
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), rows.shape).copy()
    gap, r_max = certificate_gap(geo, rows, sigma)
    holds = gap < 0.0
    r_max = np.where(holds, r_max, np.nan)
    x = 1.0 / (sigma * sigma)
    r_min = location_radius(geo, rows, x, np.where(holds, r_max, np.nan))
    r_min = np.where(holds, r_min, np.nan)
    _, lip = image_bound(geo, rows, x, np.where(holds, r_min, 0.0))
    return {"holds": holds, "uniqueness_radius": r_max, "location_radius": r_min,
            "jacobian_bound": np.where(holds, lip, np.nan)}


def certify(states: np.ndarray, posterior: np.ndarray, sigma: float) -> list[Certificate]:
    """One `Certificate` per consistent state (posterior > 0) of a history, at ``sigma``."""
    geo = geometry(states, posterior)
    arrays = certify_rows(geo, np.asarray(float(sigma)))
    return [Certificate(int(s), float(sigma), bool(arrays["holds"][k]), float(arrays["location_radius"][k]),
                        float(arrays["uniqueness_radius"][k]), float(arrays["jacobian_bound"][k]))
            for k, s in enumerate(geo.state)]


#: A per-row condition on sigma: (sigma [n], idx [n]) -> g [n], holding iff g < 0; ``idx`` are
#: positions in the caller's arrays (so per-row data can be looked up).
Condition = Callable[[np.ndarray, np.ndarray], np.ndarray]


def largest_sigma(condition: Condition, lo: np.ndarray, hi: np.ndarray, *, rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """Per row, the lower end of a bracket [lo, hi] of the boundary of a condition monotone in sigma.

    Requires condition(lo) < 0 <= condition(hi). Illinois (regula falsi with halving of the
    retained end's value) on log sigma, every fourth step a bisection and +inf values
    bisected; stops when hi/lo < 1 + rtol. The returned lo has been evaluated and holds.
    """
    idx = np.arange(len(lo))
    t_lo, t_hi = np.log(lo), np.log(hi)
    g_lo, g_hi = condition(np.exp(t_lo), idx), condition(np.exp(t_hi), idx)
    last = np.zeros(len(lo), dtype=np.int8)
    width = np.log1p(rtol)
    for step in range(SIGMA_SEARCH_STEPS):
        todo = np.flatnonzero(t_hi - t_lo > width)
        if todo.size == 0:
            break
        a, b, ga, gb = t_lo[todo], t_hi[todo], g_lo[todo], g_hi[todo]
        secant = np.isfinite(ga) & np.isfinite(gb) & (step % 4 != 3)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            t = np.where(secant, (a * gb - b * ga) / (gb - ga), 0.5 * (a + b))
        margin = 0.25 * width
        t = np.where(np.isfinite(t), np.clip(t, a + margin, b - margin), 0.5 * (a + b))
        g = condition(np.exp(t), todo)
        ok = g < 0.0
        up, down = todo[ok], todo[~ok]
        g_hi[up[last[up] == 1]] *= 0.5                    # Illinois: the same end moved twice
        g_lo[down[last[down] == -1]] *= 0.5
        t_lo[up], g_lo[up], last[up] = t[ok], g[ok], 1
        t_hi[down], g_hi[down], last[down] = t[~ok], g[~ok], -1
    return np.exp(t_lo)


def _below(condition: Condition, start: np.ndarray) -> np.ndarray:
    """A sigma < start where the condition holds for each row (it holds as sigma -> 0)."""
    lo = start * DOWNWARD_FACTOR
    for _ in range(8):
        bad = np.flatnonzero(condition(lo, np.arange(len(lo))) >= 0.0)
        if bad.size == 0:
            return lo
        lo[bad] *= DOWNWARD_FACTOR
    raise RuntimeError("no certified sigma found below sigma_mono")


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

        out[down] = largest_sigma(certified, _below(certified, mono[down]), mono[down], rtol=rtol)
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


def _history_starts(geo: Geometry) -> np.ndarray:
    """``[H]`` first row of each history (rows are grouped by history)."""
    return np.searchsorted(geo.history, np.arange(len(geo.span)))


def isolation_gap(geo: Geometry, sigma: np.ndarray, histories: np.ndarray | None = None) -> np.ndarray:
    """Per history, max over its rows of the isolation test's gap at ``sigma [len(histories)]`` (< 0: isolated).

    Row a passes when its certificate holds and eps D_max(a) < r_max(a), eps = 2 m sigma^2 / D_min^2.
    """
    histories = np.arange(len(geo.span)) if histories is None else histories
    rows = np.concatenate([geo.rows_of(h) for h in histories])
    owner = np.repeat(np.arange(len(histories)), [len(geo.rows_of(h)) for h in histories])
    per_row = sigma[owner]
    gap, r_max = certificate_gap(geo, rows, per_row)
    h = histories[owner]
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = 2.0 * geo.span[h] * per_row ** 2 / geo.least[h] ** 2
        reach = np.where(geo.span[h] > 0, eps * geo.farthest[rows] - r_max, -np.inf)
    worst = np.maximum(gap, np.where(np.isnan(reach), np.inf, reach))
    return np.maximum.reduceat(worst, np.searchsorted(owner, np.arange(len(histories))))


def isolation_sigmas(geo: Geometry, *, rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """``[H]`` sigma_iso: below it every stable fixed point of f*(tau_h, .) is a certified one (module docstring).

    Searched below min_a sigma_mono(a), where the test is monotone; inf for a lone state.
    """
    out = np.full(len(geo.span), np.inf)
    cap = np.minimum.reduceat(geo.mono, _history_starts(geo))
    todo = np.flatnonzero(np.isfinite(cap))
    if todo.size == 0:
        return out

    def isolated(sigma: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return isolation_gap(geo, sigma, todo[idx])

    at_cap = isolated(cap[todo], np.arange(todo.size)) < 0.0
    out[todo[at_cap]] = cap[todo[at_cap]]
    down = np.flatnonzero(~at_cap)
    if down.size:
        def sub(sigma: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return isolated(sigma, down[idx])

        out[todo[down]] = largest_sigma(sub, _below(sub, cap[todo[down]]), cap[todo[down]], rtol=rtol)
    return out


def certified_sigma_bound(states: np.ndarray, posterior: np.ndarray, *, rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """``[A]`` certified lower bounds on sigma_c for the consistent states of one history (order of ``posterior > 0``)."""
    return certified_sigma_bounds(geometry(states, posterior), rtol=rtol)


def two_state_sigma_c(distance: float, weight: float, other_weight: float) -> float:
    """Exact sigma_c for a state of weight ``weight`` against one other state (PAPER.md §6.2)."""
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


def _finite(value: float) -> float | None:
    """NaN (not defined) as None, for plain data; inf stays inf."""
    return None if np.isnan(value) else float(value)


def fixed_point_summary(model: DecPOMDP, agent_histories: HistoryBatch, sigma: float, *,
                        policy: Policy | None = None, n_starts: int = 256, seed: int = 0) -> list[dict[str, object]]:
    """Per history (one per agent): the fixed points of f* found numerically, with certificates and sigma_c.

    Certificates, certified sigma_c bounds and isolation levels are computed for all
    histories at once (`geometry`); fixed points per history by `find_fixed_points` from
    ``n_starts`` starts under p_sigma(y | tau). Each entry: ``agent``, ``sigma``,
    ``fixed_points`` (stable ones: point, nearest state, distance, spectral radius, basin
    mass and interval, ``certified``: whether it lies within its nearest state's certified
    location radius; ``spurious``: it is no state's own, i.e. at least half the least distance
    from its nearest state to another consistent state away from it), ``unstable_found``,
    ``spurious`` (how many), ``missing`` (consistent states with no stable fixed point of their own),
    ``isolated`` (proved at sigma: every stable fixed point is a certified one),
    ``isolation_sigma``, and ``states``: per consistent state its posterior, certificate
    (location and uniqueness radii, Jacobian bound) and sigma_c (exact for one or two
    states, else None; the certified lower bound).
    """
    denoiser = ExactDenoiser(model, policy)
    states = np.ascontiguousarray(model.states, dtype=np.float64)
    posteriors = denoiser.posteriors(agent_histories).numpy()
    geo = geometry(states, posteriors)
    cert = certify_rows(geo, np.asarray(float(sigma)))
    bounds = certified_sigma_bounds(geo)
    exact = exact_sigma_c(geo)
    isolation = isolation_sigmas(geo)
    isolated = isolation_gap(geo, np.full(len(geo.span), float(sigma))) < 0.0
    states_t = torch.from_numpy(states)
    summary = []
    for h in range(len(agent_histories)):
        rows = geo.rows_of(h)
        posterior = torch.from_numpy(posteriors[h])
        found = find_fixed_points(MixtureMap(states_t, posterior), sigma, states_t, posterior, n_starts=n_starts,
                                  seed=seed)
        radius = dict(zip(geo.state[rows].tolist(), cert["location_radius"][rows].tolist()))
        own = dict(zip(geo.state[rows].tolist(), geo.cap[rows].tolist()))
        stable = found.stable()
        inside = [bool(radius[p.nearest_state] >= p.distance) for p in stable]   # NaN (not certified): False
        spurious = [bool(p.distance >= own[p.nearest_state]) for p in stable]
        reached = {p.nearest_state for p, far in zip(stable, spurious) if not far}
        summary.append({
            "agent": int(agent_histories.agents[h]),
            "sigma": float(sigma),
            "fixed_points": [{"point": p.point.tolist(), "nearest_state": model.state_names[p.nearest_state],
                              "distance": p.distance, "spectral_radius": p.spectral_radius,
                              "basin_mass": p.basin_mass, "basin_ci": list(p.basin_ci), "certified": ok,
                              "spurious": far}
                             for p, ok, far in zip(stable, inside, spurious)],
            "unstable_found": len(found.unstable()),
            "spurious": sum(spurious),
            "missing": [model.state_names[s] for s in geo.state[rows] if s not in reached],
            "isolated": bool(isolated[h]),
            "isolation_sigma": float(isolation[h]),
            "states": [{"state": model.state_names[geo.state[r]], "posterior": float(posteriors[h, geo.state[r]]),
                        "certified": bool(cert["holds"][r]), "location_radius": _finite(cert["location_radius"][r]),
                        "uniqueness_radius": _finite(cert["uniqueness_radius"][r]),
                        "jacobian_bound": _finite(cert["jacobian_bound"][r]),
                        "sigma_c_exact": _finite(exact[r]), "sigma_c_certified": float(bounds[r])}
                       for r in rows],
        })
    return summary
