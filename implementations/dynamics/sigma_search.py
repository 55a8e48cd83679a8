"""The largest noise level at which a per-row condition, monotone in sigma, holds: a root finder on log sigma.

A condition g(sigma) holds iff g < 0, and it holds on an interval (0, sigma*] of noise levels
(`sigma_bounds`: the certificate below sigma_mono, lemma (7)'s inflated test on one interval;
`isolation`: the isolation test). Given a bracket lo < sigma* <= hi with g(lo) < 0 <= g(hi), sigma* is
located by regula falsi on t = log sigma,

    t = (t_lo g_hi - t_hi g_lo) / (g_hi - g_lo),

kept a quarter of the stopping width inside the bracket, with the Illinois modification
(the value at an end retained twice in a row is halved, which restores superlinear
convergence) and a bisection every fourth step and wherever a value is infinite; it stops
when hi / lo < 1 + rtol and returns lo, where the condition was evaluated and holds. All
rows are searched at once; a condition sees only the rows still open.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from decdiff.tolerances import SIGMA_BISECTION

#: Root-finder iterations allowed on log sigma (Illinois converges superlinearly; every
#: fourth step is a bisection, so 200 always reach SIGMA_BISECTION).
SIGMA_SEARCH_STEPS = 200

#: Start of the downward search for a sigma where the condition holds, below the top (a factor per try).
DOWNWARD_FACTOR = 1e-3

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


def largest_below(condition: Condition, top: np.ndarray, *, rtol: float = SIGMA_BISECTION) -> np.ndarray:
    """Per row, the boundary below ``top`` (where the condition fails) of a condition that holds as sigma -> 0."""
    return largest_sigma(condition, _below(condition, top), top, rtol=rtol)
