"""Certified fixed points of the exact denoiser f* and critical noise levels (PAPER.md §1.4, §6.1-6.2).

Setting. Consistent states s_k with posterior weights pi_k > 0, a chosen state s = s_a,
and delta_j = s_j - s, D_j = ||delta_j||. For y in the closed ball B(s, r), u = y - s:

(1) Weight bound. w_j(y) = pi_j e^{-||y - s_j||^2/2sigma^2} / Z with Z >= pi_a e^{-||u||^2/2sigma^2}, and
    ||u||^2 - ||u - delta_j||^2 = 2 u.delta_j - D_j^2 <= 2 r D_j - D_j^2 (Cauchy-Schwarz), so

        w_j(y) <= rho_j(r) := (pi_j / pi_a) exp( -D_j (D_j - 2 r) / (2 sigma^2) ).

(2) Image bound. f*(y) - s = sum_{j != a} w_j(y) delta_j, hence

        ||f*(y) - s|| <= M(r) := sum_{j != a} rho_j(r) D_j.

(3) Jacobian bound. J = Cov_w[s]/sigma^2 (Eq. 9 for f*) and, for any c,
    sum_k w_k (s_k - c)(s_k - c)^T = Cov_w[s] + (E_w s - c)(E_w s - c)^T >= Cov_w[s] (Loewner order);
    with c = s the k = a term vanishes and J is symmetric PSD, so

        ||J(y)||_2 <= L(r) := sum_{j != a} rho_j(r) D_j^2 / sigma^2.

(4) Contraction mapping theorem. If M(r) <= r and L(r) < 1, f* maps the complete convex
    set B(s, r) into itself and is a contraction there (mean-value inequality with
    sup ||J|| <= L(r)), so it has exactly one fixed point y* in B(s, r); it is stable since
    spectral radius(J(y*)) <= ||J(y*)||_2 <= L(r) < 1 (Eq. 11).

(5) Which radii work. M' = L (d rho_j / dr = rho_j D_j / sigma^2), both increase in r, and
    M(0) >= 0. Radii are capped at c = min_j D_j / 2, so that the fixed point is s's own
    (nearer to s than to any other state; without the cap, at large sigma the certificate
    would describe the single global attractor near the mean). Let r_max = c if L(c) < 1,
    else the root of L(r) = 1 (below it). On [0, r_max) the function M(r) - r decreases,
    so a certificate exists iff M(r) <= r just below r_max (strictly at r_max = c), and then
    every r in [r_min, r_max) works, with r_min the root of M(r) = r. Hence: exactly one
    fixed point within r_max (the uniqueness radius), it lies within r_min (the location
    radius), and its spectral radius is at most L(r_min).

Critical sigma. sigma_c(tau, s): above it s has no nearby stable fixed point. For two
states it is exact: `decdiff.theory.critical_sigma.critical_sigma(d, r)` for the minor
state (r = pi_minor/pi_major <= 1), infinite for a strictly major state. For many states
the largest sigma below which the certificate holds at every sigma (a geometric scan
then bisection) is a certified lower bound on sigma_c. Numerical continuation tracks the
fixed point from small sigma upwards by Newton until it stops converging, loses
stability (spectral radius -> 1) or stops being nearest to s; bisection locates the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import logsumexp

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import find_fixed_points, newton_refine
from decdiff.implementations.dynamics.flows import MixtureMap
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.theory.critical_sigma import critical_sigma
from decdiff.tolerances import FIXED_POINT_RESIDUAL, OWN_STATE_MARGIN, SIGMA_BISECTION, STABILITY_MARGIN

#: Bisection steps for radii: each halves the bracket, 60 reach float64 resolution.
RADIUS_BISECTION_STEPS = 60


@dataclass(frozen=True)
class Certificate:
    """Contraction certificate for the fixed point of f* near one consistent state.

    Attributes:
        state: index of s among the model's states.
        sigma: the noise level.
        holds: the certificate succeeded (then the three numbers below are proved).
        location_radius: r_min: the unique fixed point lies within it of s.
        uniqueness_radius: r_max: exactly one fixed point within any r < r_max of s.
        jacobian_bound: L(r_min) >= spectral radius of J at the fixed point.
    """

    state: int
    sigma: float
    holds: bool
    location_radius: float
    uniqueness_radius: float
    jacobian_bound: float


def _pair_geometry(states: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``D [A, A]`` distances and ``log(pi_j / pi_a) [A, A]`` (-inf on the diagonal)."""
    dist = np.sqrt(((states[:, None, :] - states[None, :, :]) ** 2).sum(axis=-1))
    log_ratio = np.log(weights)[None, :] - np.log(weights)[:, None]
    np.fill_diagonal(log_ratio, -np.inf)
    return dist, log_ratio


def _bounds(dist: np.ndarray, log_ratio: np.ndarray, sigma: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M(r) and L(r) of steps (2)-(3) for rows ``dist, log_ratio [R, A]``; ``sigma``, ``r`` broadcast ``[..., R]``."""
    var = (sigma * sigma)[..., None]
    log_rho = log_ratio - dist * (dist - 2.0 * r[..., None]) / (2.0 * var)
    with np.errstate(divide="ignore", over="ignore"):
        log_d = np.log(dist)
        m = np.exp(logsumexp(log_rho + log_d, axis=-1))
        lip = np.exp(logsumexp(log_rho + 2.0 * log_d - np.log(var), axis=-1))
    return m, lip


def _bisect(predicate, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised bisection keeping predicate(lo) True and predicate(hi) False."""
    for _ in range(RADIUS_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        ok = predicate(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return lo, hi


def certificate_arrays(states: np.ndarray, weights: np.ndarray, sigma: np.ndarray, *, rows: np.ndarray | None = None,
                       radii: bool = True) -> dict[str, np.ndarray]:
    """Step (5) for consistent states ``rows`` (all by default) at noise levels ``sigma [..., R]``.

    ``states [A, d]`` and ``weights [A] > 0`` are the consistent states and their
    posterior. Returns ``holds`` and ``uniqueness_radius`` and, with ``radii``, the
    ``location_radius`` r_min and ``jacobian_bound`` L(r_min) (NaN where it fails).
    """
    dist, log_ratio = _pair_geometry(states, weights)
    rows = np.arange(len(weights)) if rows is None else rows
    cap = 0.5 * np.where(np.eye(len(weights), dtype=bool), np.inf, dist).min(axis=1)[rows]
    dist, log_ratio = dist[rows], log_ratio[rows]
    sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), np.broadcast_shapes(np.shape(sigma), cap.shape))
    cap = np.broadcast_to(cap, sigma.shape)
    finite_cap = np.where(np.isinf(cap), 1.0, cap)                    # a lone state: M = L = 0 anyway
    zero = np.zeros_like(sigma)

    def lip_below_one(r: np.ndarray) -> np.ndarray:
        return _bounds(dist, log_ratio, sigma, r)[1] < 1.0

    r_max, _ = _bisect(lip_below_one, zero, finite_cap)
    capped = lip_below_one(finite_cap)
    r_max = np.where(capped, finite_cap, r_max)
    m_top, _ = _bounds(dist, log_ratio, sigma, r_max)
    holds = lip_below_one(zero) & np.where(capped, m_top < r_max, m_top <= r_max)
    out = {"holds": holds, "uniqueness_radius": np.where(holds, np.where(np.isinf(cap), np.inf, r_max), np.nan)}
    if radii:
        _, r_min = _bisect(lambda r: _bounds(dist, log_ratio, sigma, r)[0] > r, zero, np.where(holds, r_max, 0.0))
        m0, _ = _bounds(dist, log_ratio, sigma, zero)
        r_min = np.where(m0 <= 0.0, 0.0, r_min)
        out["location_radius"] = np.where(holds, r_min, np.nan)
        out["jacobian_bound"] = np.where(holds, _bounds(dist, log_ratio, sigma, r_min)[1], np.nan)
    return out


def certify(states: np.ndarray, posterior: np.ndarray, sigma: float) -> list[Certificate]:
    """One `Certificate` per consistent state (posterior > 0) of a history, at ``sigma``."""
    consistent = np.flatnonzero(posterior > 0)
    arrays = certificate_arrays(states[consistent], posterior[consistent], np.asarray(float(sigma)))
    return [Certificate(int(s), float(sigma), bool(arrays["holds"][k]), float(arrays["location_radius"][k]),
                        float(arrays["uniqueness_radius"][k]), float(arrays["jacobian_bound"][k]))
            for k, s in enumerate(consistent)]


def certified_sigma_bound(states: np.ndarray, posterior: np.ndarray, *, grid: int = 32,
                          rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """``[A]`` certified lower bounds on sigma_c for each consistent state (order of ``posterior > 0``).

    The certificate is evaluated on a geometric grid from 1e-3 x to 2 x the largest
    state distance; between the last success before the first failure and that failure,
    bisection narrows the bracket to relative ``rtol``. 0 where it fails at the bottom;
    the top of the grid where it never fails (inf for a lone state).
    """
    consistent = np.flatnonzero(posterior > 0)
    pts, w = states[consistent], posterior[consistent]
    if len(w) == 1:
        return np.array([np.inf])
    dist, _ = _pair_geometry(pts, w)
    sigmas = np.geomspace(1e-3, 2.0, grid) * dist.max()
    ok = certificate_arrays(pts, w, sigmas[:, None], radii=False)["holds"]          # [G, A]
    first_fail = np.where((~ok).any(axis=0), np.argmax(~ok, axis=0), grid)
    lo = np.where(first_fail > 0, sigmas[np.maximum(first_fail - 1, 0)], 0.0)
    hi = np.where(first_fail < grid, sigmas[np.minimum(first_fail, grid - 1)], np.inf)
    while True:
        rows = np.flatnonzero((first_fail > 0) & (first_fail < grid) & (hi - lo > rtol * hi))
        if rows.size == 0:
            break
        mid = 0.5 * (lo[rows] + hi[rows])
        held = certificate_arrays(pts, w, mid, rows=rows, radii=False)["holds"]
        lo[rows] = np.where(held, mid, lo[rows])
        hi[rows] = np.where(held, hi[rows], mid)
    return np.where(first_fail == grid, sigmas[-1], lo)


def two_state_sigma_c(distance: float, weight: float, other_weight: float) -> float:
    """Exact sigma_c for a state of weight ``weight`` against one other state (PAPER.md §6.2)."""
    if weight > other_weight:
        return np.inf
    return critical_sigma(distance, weight / other_weight)


def _own_stable(mixture: MixtureMap, y: torch.Tensor, sigma: torch.Tensor, residual: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
    """Rows whose refined point is a stable fixed point nearest to its target state (by OWN_STATE_MARGIN)."""
    radius = torch.linalg.eigvalsh(mixture.jacobian(y, sigma)).abs().amax(dim=1)
    dist = torch.cdist(y, mixture.states)
    own = dist.gather(1, target[:, None])[:, 0]
    others = dist.scatter(1, target[:, None], torch.inf).amin(dim=1)
    return (residual <= FIXED_POINT_RESIDUAL) & (radius < 1.0 - STABILITY_MARGIN) & (own < others * (1 - OWN_STATE_MARGIN))


def continuation_sigma_c(states: np.ndarray, posterior: np.ndarray, *, sigma_start: float | None = None,
                         growth: float = 1.05, sigma_max: float | None = None) -> np.ndarray:
    """``[A]`` numerical sigma_c of each consistent state by continuation in sigma (inf if never lost).

    From y = s at a small sigma, sigma grows by ``growth`` per step with Newton started
    at the previous fixed point; the branch ends when Newton fails, the point becomes
    unstable, or another state becomes nearer. Bisection between the last success and
    the first failure (restarting Newton from the last success) locates the end.
    """
    consistent = np.flatnonzero(posterior > 0)
    mixture = MixtureMap(torch.from_numpy(states[consistent]), torch.from_numpy(posterior[consistent]))
    count = len(consistent)
    dist = torch.cdist(mixture.states, mixture.states)
    top = float(dist.max()) * 2.0 if sigma_max is None else sigma_max
    lo = torch.full((count,), 1e-3 * top if sigma_start is None else sigma_start, dtype=torch.float64)
    target = torch.arange(count)
    y_good, _ = newton_refine(mixture, mixture.states.clone(), lo)
    hi = torch.full((count,), torch.inf, dtype=torch.float64)
    alive = torch.ones(count, dtype=torch.bool)
    while alive.any():                                   # march up in sigma
        rows = torch.nonzero(alive).flatten()
        trial_sigma = lo[rows] * growth
        y, res = newton_refine(mixture, y_good[rows], trial_sigma)
        ok = _own_stable(mixture, y, trial_sigma, res, target[rows])
        lo[rows[ok]], y_good[rows[ok]] = trial_sigma[ok], y[ok]
        hi[rows[~ok]] = trial_sigma[~ok]
        alive[rows[~ok]] = False
        alive &= lo < top
    while True:                                          # bisection on the failing bracket
        rows = torch.nonzero(torch.isfinite(hi) & (hi - lo > SIGMA_BISECTION * hi)).flatten()
        if rows.numel() == 0:
            break
        mid = 0.5 * (lo[rows] + hi[rows])
        y, res = newton_refine(mixture, y_good[rows], mid)
        ok = _own_stable(mixture, y, mid, res, target[rows])
        lo[rows[ok]], y_good[rows[ok]] = mid[ok], y[ok]
        hi[rows[~ok]] = mid[~ok]
    return torch.where(torch.isfinite(hi), lo, torch.inf).numpy()


def critical_sigmas(states: np.ndarray, posterior: np.ndarray) -> dict[str, np.ndarray]:
    """sigma_c per consistent state: ``exact`` (two states only, else NaN) and ``certified`` lower bounds."""
    consistent = np.flatnonzero(posterior > 0)
    certified = certified_sigma_bound(states, posterior)
    exact = np.full(len(consistent), np.nan)
    if len(consistent) == 2:
        d = float(np.linalg.norm(states[consistent[0]] - states[consistent[1]]))
        w = posterior[consistent]
        exact = np.array([two_state_sigma_c(d, w[0], w[1]), two_state_sigma_c(d, w[1], w[0])])
    elif len(consistent) == 1:
        exact = np.array([np.inf])
    return {"exact": exact, "certified": certified}


def fixed_point_summary(model: DecPOMDP, agent_histories: HistoryBatch, sigma: float, *,
                        policy: Policy | None = None, n_starts: int = 256, seed: int = 0) -> list[dict[str, object]]:
    """Per history (one per agent): its stable fixed points of f*, certificates and sigma_c, as plain data.

    Each entry: ``agent``, ``sigma``, ``consistent_states`` (names), ``fixed_points``
    (stable ones: point, nearest state, distance, spectral radius, basin mass and its
    interval under p_sigma(y | tau)), ``unstable_found`` (how many saddles the search
    found), and ``states``: per consistent state its posterior, certificate (location and
    uniqueness radii, Jacobian bound) and sigma_c (exact for two states, certified bound).
    """
    denoiser = ExactDenoiser(model, policy)
    states = np.ascontiguousarray(model.states, dtype=np.float64)
    posteriors = denoiser.posteriors(agent_histories).numpy()
    summary = []
    for row in range(len(agent_histories)):
        posterior = posteriors[row]
        found = find_fixed_points(MixtureMap(torch.from_numpy(states), torch.from_numpy(posterior)), sigma,
                                  torch.from_numpy(states), torch.from_numpy(posterior), n_starts=n_starts,
                                  seed=seed)
        certificates = certify(states, posterior, sigma)
        sigma_c = critical_sigmas(states, posterior)
        summary.append({
            "agent": int(agent_histories.agents[row]),
            "sigma": float(sigma),
            "consistent_states": [model.state_names[c.state] for c in certificates],
            "fixed_points": [{"point": p.point.tolist(), "nearest_state": model.state_names[p.nearest_state],
                              "distance": p.distance, "spectral_radius": p.spectral_radius,
                              "basin_mass": p.basin_mass, "basin_ci": list(p.basin_ci)} for p in found.stable()],
            "unstable_found": len(found.unstable()),
            "states": [{"state": model.state_names[c.state], "posterior": float(posterior[c.state]),
                        "certified": c.holds, "location_radius": c.location_radius,
                        "uniqueness_radius": c.uniqueness_radius, "jacobian_bound": c.jacobian_bound,
                        "sigma_c_exact": float(sigma_c["exact"][k]), "sigma_c_certified": float(sigma_c["certified"][k])}
                       for k, c in enumerate(certificates)],
        })
    return summary
