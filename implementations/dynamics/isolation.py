"""Isolation of the certified fixed points of f*: the noise level sigma_iso below which nothing else is stable.

Notation and steps (1)-(5) are those of `contraction`, lemma (6) that of `sigma_bounds`.

At any fixed point y* = sum_k w_k s_k, with m the dimension of the affine span of the
consistent states and D_min their least distance,
tr Cov_w = 1/2 sum_{k,l} w_k w_l ||s_k - s_l||^2 >= D_min^2 (1 - w_max) / 2 and rank Cov_w <= m, so
rho(J(y*)) >= D_min^2 (1 - w_max) / (2 m sigma^2). A stable y* therefore has 1 - w_a < eps :=
2 m sigma^2 / D_min^2 for a = argmax w, hence ||y* - s_a|| <= (1 - w_a) max_j ||s_j - s_a|| < eps D_max(a).
If eps D_max(a) <= r_max(a) for every consistent a (each certified), every stable fixed point
is one of the certified ones. By (6) (r_max' >= t r_max, eps' = t eps) this condition is also
monotone below min_a sigma_mono(a), so sigma_iso(tau) = its supremum is found as in (6).
Above sigma_iso spurious stable points can exist: n equally likely states at mutual
distance D have a stable fixed point at their centroid (J = D^2/(2 n sigma^2) on their span)
for sigma > D / sqrt(2n), while each state keeps its own up to about D/2.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.dynamics.contraction import Geometry, certificate_gap
from decdiff.implementations.dynamics.sigma_search import largest_below
from decdiff.tolerances import SIGMA_BISECTION


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

        out[todo[down]] = largest_below(sub, cap[todo[down]], rtol=rtol)
    return out

