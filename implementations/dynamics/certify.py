"""Certified fixed points of the exact denoiser f*, per consistent state and per history.

For each consistent state s_a of a history the contraction mapping theorem on a ball
B(s_a, r), with the bounds of `contraction`, proves: exactly one fixed point within r_max
(the uniqueness radius), it lies within r_min (the location radius) and its spectral
radius is at most L(r_min) < 1, so it is stable (`certify_rows`, `certify`).
`fixed_point_summary` puts these certificates, the critical noise levels of `sigma_bounds`
and the isolation level of `isolation` beside the fixed points found numerically
(`find_fixed_points`), per history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.completeness import completeness
from decdiff.implementations.dynamics.contraction import (
    Geometry,
    certificate_gap,
    geometry,
    image_bound,
    location_radius,
)
from decdiff.implementations.dynamics.fixed_points import find_fixed_points
from decdiff.implementations.dynamics.flows import MixtureMap
from decdiff.implementations.dynamics.isolation import isolation_gap, isolation_sigmas
from decdiff.implementations.dynamics.sigma_bounds import (
    certified_sigma_bounds,
    exact_sigma_c,
)
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy


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
    """Step (5) of `contraction` for ``rows`` (all by default) at per-row noise levels ``sigma``.

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


def _finite(value: float) -> float | None:
    """NaN (not defined) as None, for plain data; inf stays inf."""
    return None if np.isnan(value) else float(value)


def fixed_point_summary(model: DecPOMDP, agent_histories: HistoryBatch, sigma: float, *,
                        policy: Policy | None = None, n_starts: int = 256, seed: int = 0,
                        max_saddle_pairs: int = 256,
                        progress: Callable[[int], None] | None = None) -> list[dict[str, object]]:
    """Per history (one per agent): the fixed points of f* found numerically, with certificates and sigma_c.

    Certificates, certified sigma_c bounds and isolation levels are computed for all
    histories at once (`geometry`); fixed points per history by `find_fixed_points` from
    ``n_starts`` starts under p_sigma(y | tau), unstable ones from the ``max_saddle_pairs``
    closest pairs of stable ones, in the affine hull of the history's consistent states
    (`reduced`); ``progress(h)`` is called after history h. Single-threaded
    (`intra_op_threads`). Each entry: ``agent``, ``sigma``,
    ``fixed_points`` (stable ones: point, nearest state, distance, spectral radius, basin
    mass and interval, ``certified``: whether it lies within its nearest state's certified
    location radius; ``spurious``: it is no state's own, i.e. at least half the least distance
    from its nearest state to another consistent state away from it), ``unstable_found``,
    ``spurious`` (how many), ``missing`` (consistent states with no stable fixed point of their own),
    ``isolated`` (proved at sigma: every stable fixed point is a certified one),
    ``isolation_sigma``, ``completeness`` (proved complete when isolated, else the basin mass the
    ``n_starts`` starts may have missed, `implementations.dynamics.completeness`), and ``states``: per consistent state its posterior, certificate
    (location and uniqueness radii, Jacobian bound) and sigma_c (exact for one or two
    states, else None; the certified lower bound).
    """
    with intra_op_threads():
        return _summary(model, agent_histories, sigma, policy, n_starts, seed, max_saddle_pairs,
                        progress or (lambda h: None))


def _summary(model: DecPOMDP, agent_histories: HistoryBatch, sigma: float, policy: Policy | None, n_starts: int,
             seed: int, max_saddle_pairs: int, progress: Callable[[int], None]) -> list[dict[str, object]]:
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
                                  seed=seed, max_saddle_pairs=max_saddle_pairs)
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
            "completeness": completeness(bool(isolated[h]), n_starts),
            "states": [{"state": model.state_names[geo.state[r]], "posterior": float(posteriors[h, geo.state[r]]),
                        "certified": bool(cert["holds"][r]), "location_radius": _finite(cert["location_radius"][r]),
                        "uniqueness_radius": _finite(cert["uniqueness_radius"][r]),
                        "jacobian_bound": _finite(cert["jacobian_bound"][r]),
                        "sigma_c_exact": _finite(exact[r]), "sigma_c_certified": float(bounds[r])}
                       for r in rows],
        })
        progress(h)
    return summary
