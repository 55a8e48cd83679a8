"""Contraction geometry of the exact denoiser f* near one consistent state, and its certified radii.

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

`geometry` tabulates D_j and log(pi_j / pi_a) for every (history, consistent state) row,
`image_bound` gives M and L, `uniqueness_radius` and `location_radius` the radii of step (5),
`self_map_slack` how far another map may stray from f* on a ball and still map it into itself,
and `certificate_gap` the test M(r_max) - r_max < 0 that the noise-level searches
(`sigma_bounds`, `isolation`) run at many sigma; `certify` assembles the certificates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from decdiff.tolerances import CERTIFICATE_RADIUS_BACKOFF

#: Newton iterations allowed for the radii of step (5); from the monotone starting sides they
#: converge quadratically (linearly, halving the error, only at a tangency), so 60 suffice.
RADIUS_NEWTON_STEPS = 60


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
        """``[R]`` sigma_mono = min_j D_j / sqrt(2) of lemma (6) in `sigma_bounds` (inf for a lone state)."""
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
    """r_max of step (5) with L inflated by ``kappa``: kappa L < 1 on [0, r_max); NaN if kappa L(0) >= 1.

    Newton on log L(r) + log kappa = 0 from r = c; the returned radius is backed off by
    CERTIFICATE_RADIUS_BACKOFF and re-checked. kappa > 1 serves lemma (7) of `sigma_bounds`.
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


def self_map_slack(geo: Geometry, rows: np.ndarray, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """epsilon = r - M(r): the largest sup ||f - f*|| on B(s_a, r) for which any continuous f maps that ball into itself.

    For y in B(s_a, r), ||f(y) - s_a|| <= ||f*(y) - s_a|| + ||f(y) - f*(y)|| <= M(r) + epsilon = r by
    step (2), so f has a fixed point within r of s_a (Brouwer's fixed-point theorem; f need not
    contract). Positive exactly where M(r) < r, e.g. on [r_min, r_max) of step (5).
    """
    m, _ = image_bound(geo, rows, x, r)
    return r - m


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

