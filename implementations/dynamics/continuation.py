"""Numerical sigma_c by continuation in sigma: the independent check of `sigma_bounds.py`'s bounds.

From y = s at a small sigma, sigma grows geometrically with Newton (Eq. 11's fixed point,
`newton_refine`) started at the previous fixed point; the branch of s ends when Newton
fails, the point becomes unstable (spectral radius of Cov_w/sigma^2 -> 1, a saddle-node or
pitchfork), or another consistent state becomes nearer (the branch has merged). Bisection
between the last success and the first failure, restarting Newton from the last success,
locates the end to SIGMA_BISECTION.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.dynamics.fixed_points import newton_refine
from decdiff.implementations.dynamics.flows import MixtureMap
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.tolerances import (
    FIXED_POINT_RESIDUAL,
    OWN_STATE_MARGIN,
    SIGMA_BISECTION,
    STABILITY_MARGIN,
)

#: Default start of the march: this fraction of the least distance between consistent states,
#: where every weight ratio below e^{1/(2 x 0.05^2)} = e^{200} leaves each state its own attractor.
START_FRACTION = 0.05

#: Rows not their own at the start are retried this many times, each a factor `growth` lower
#: (a ratio of weights beyond e^{200} needs it); rows still failing report sigma_c = 0.
START_TRIES = 200


def _own_stable(mixture: MixtureMap, y: torch.Tensor, sigma: torch.Tensor, residual: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
    """Rows whose refined point is a stable fixed point nearest to its target state (by OWN_STATE_MARGIN)."""
    radius = torch.linalg.eigvalsh(mixture.jacobian(y, sigma)).abs().amax(dim=1)
    dist = torch.cdist(y, mixture.states)
    own = dist.gather(1, target[:, None])[:, 0]
    others = dist.scatter(1, target[:, None], torch.inf).amin(dim=1)
    return (residual <= FIXED_POINT_RESIDUAL) & (radius < 1.0 - STABILITY_MARGIN) & (own < others * (1 - OWN_STATE_MARGIN))


def continuation_sigma_c(states: np.ndarray, posterior: np.ndarray, *, sigma_start: float | None = None,
                         growth: float = 1.1, sigma_max: float | None = None,
                         targets: np.ndarray | None = None) -> np.ndarray:
    """``[A]`` numerical sigma_c of each consistent state by continuation in sigma (inf if never lost).

    From y = s at ``sigma_start`` (default START_FRACTION x the least state distance; rows
    whose fixed point is not their own there start lower, by factors of ``growth``), sigma
    grows by ``growth`` per step with Newton started at the previous fixed point; the branch
    ends when Newton fails, the point becomes unstable, or another state becomes nearer;
    past ``sigma_max`` (default 2 x the largest distance) it is never lost. Bisection between
    the last success and the first failure (restarting Newton from the last success) locates
    the end. ``targets`` (positions among the consistent states) restricts the work to some
    of them; the result then has one entry per target.
    """
    with intra_op_threads():
        return _continuation(states, posterior, sigma_start, growth, sigma_max, targets)


def _continuation(states: np.ndarray, posterior: np.ndarray, sigma_start: float | None, growth: float,
                  sigma_max: float | None, targets: np.ndarray | None) -> np.ndarray:
    consistent = np.flatnonzero(posterior > 0)
    mixture = MixtureMap(torch.from_numpy(states[consistent]), torch.from_numpy(posterior[consistent]))
    target = torch.arange(len(consistent)) if targets is None else torch.as_tensor(targets, dtype=torch.int64)
    count = target.numel()
    if len(consistent) == 1:
        return np.full(count, np.inf)
    dist = torch.cdist(mixture.states, mixture.states)
    top = float(dist.max()) * 2.0 if sigma_max is None else sigma_max
    start = START_FRACTION * float(dist[dist > 0].min()) if sigma_start is None else sigma_start
    lo = torch.full((count,), start, dtype=torch.float64)
    hi = torch.full((count,), torch.inf, dtype=torch.float64)
    y_good = mixture.states[target].clone()
    pending = torch.ones(count, dtype=torch.bool)
    for _ in range(START_TRIES):                         # a start where the branch is s's own
        rows = torch.nonzero(pending).flatten()
        if rows.numel() == 0:
            break
        y, res = newton_refine(mixture, mixture.states[target[rows]], lo[rows])
        ok = _own_stable(mixture, y, lo[rows], res, target[rows])
        y_good[rows[ok]] = y[ok]
        hi[rows[~ok]] = torch.minimum(hi[rows[~ok]], lo[rows[~ok]])
        lo[rows[~ok]] /= growth
        pending[rows[ok]] = False
    lost = pending.clone()                               # no own fixed point even at the lowest start
    alive = ~pending & torch.isinf(hi) & (lo < top)
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
        rows = torch.nonzero(~lost & torch.isfinite(hi) & (hi - lo > SIGMA_BISECTION * hi)).flatten()
        if rows.numel() == 0:
            break
        mid = 0.5 * (lo[rows] + hi[rows])
        y, res = newton_refine(mixture, y_good[rows], mid)
        ok = _own_stable(mixture, y, mid, res, target[rows])
        lo[rows[ok]], y_good[rows[ok]] = mid[ok], y[ok]
        hi[rows[~ok]] = mid[~ok]
    out = torch.where(torch.isfinite(hi), lo, torch.inf)
    return torch.where(lost, 0.0, out).numpy()
