"""Fixed points of a denoiser conditioned on one history, and periodic orbits of composite maps.

A fixed point is y* = f(tau, y*; sigma) (Eq. 11); it is stable when the spectral radius of
J_f(y* | tau) (Eq. 9) is < 1. They are found as follows, batched over starts:

1. draw N starts from p_0: ``"prior-sigma"`` N(0, sigma^2 I) (the algorithm's Step 1),
   ``"standard"`` N(0, I) (Fig. 4), or ``"posterior"`` p_sigma(y | tau) = sum_k pi_k N(s_k, sigma^2 I)
   (docs/claims.md#posterior-recovery);
2. run the plain iteration (Eq. 7) from the starts and from the consistent states themselves
   until ||Delta y|| < FLOW_COARSE_STEP, refine the distinct end points (merged within
   COARSE_MERGE) by Newton (step 3), and take an end as converged to a stable refined point
   y* when ||y - y*|| <= 2 FLOW_COARSE_STEP ||(I - J(y*))^{-1}||_2; every other end goes on
   iterating until ||Delta y|| < FLOW_STEP and is refined by itself. Where each start ends
   gives the basin masses of Eq. (10) as Monte-Carlo atom masses (docs/claims.md#basin-masses) with
   Wilson intervals;
3. refine by damped Newton on g(y) = f(y) - y, y <- y - alpha (J - I)^{-1} g with the largest
   alpha in 1, 1/2, ... that decreases ||g||, to ||g|| <= FIXED_POINT_RESIDUAL, from the
   iteration's end points and, for unstable fixed points (saddles between basins), from
   midpoints between stable fixed points and from raw starts;
4. deduplicate; for each point report eigenvalues, spectral radius, stability, basin mass,
   the nearest consistent state (posterior > 0) and its distance.

A composite map F = f_{i_k} o ... o f_{i_1} (Definition 6, one pass of the flow) has fixed
points that are points of period-k orbits of the composite flow; its Jacobian is the
chain-rule product along the orbit, and each fixed point reports the whole orbit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.protocol import Denoiser
from decdiff.implementations.dynamics.completeness import centroid_seeds
from decdiff.implementations.dynamics.convergence import require_converged
from decdiff.implementations.dynamics.fixed_point_records import FixedPoint, FixedPointSet, StartDistribution
from decdiff.implementations.dynamics.flows import ConditionedDenoiser, fixed_sigma_flow, proportion_intervals
from decdiff.implementations.dynamics.reduced import search_problem
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.tolerances import (
    COARSE_MERGE,
    FIXED_POINT_DEDUP,
    FIXED_POINT_RESIDUAL,
    FLOW_COARSE_STEP,
    FLOW_STEP,
    STABILITY_MARGIN,
)

#: Damped Newton tries these step halvings first, in one batched call, before all the others
#: (the same alpha is chosen; on a trained width-1024 network the whole search's evaluations
#: fell from 201 to 165 per start).
FIRST_HALVINGS = 3

#: Jacobians the shortcut of `flow_limits` spends per distinct coarse end point (Newton from
#: FLOW_COARSE_STEP takes two steps, and the certificate one), against one per row when every
#: row goes on to FLOW_STEP; a Jacobian costs about d evaluations of f. On an 8x8-grid agent
#: (d = 64, hundreds of consistent states, each its own point) the shortcut without this rule
#: was slower than iterating every row on.
SHORTCUT_JACOBIANS = 3

#: Entries of one block of pairwise differences in `_saddle_seeds` (2^20 float64 = 8 MiB).
PAIR_BLOCK_ENTRIES = 2**20


class DifferentiableMap(Protocol):
    """y, sigma -> f(y; sigma) with a ``jacobian(y, sigma)`` (a `ConditionedDenoiser` or `CompositeMap`).

    A map whose Jacobian is symmetric may say so with ``symmetric = True`` (eigenvalues
    then come from ``eigvalsh``).
    """

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor: ...

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor: ...


class CompositeMap:
    """F(y) = f_{i_k}(... f_{i_1}(y)): one pass of a (partial) composite flow (Definition 6)."""

    def __init__(self, maps: Sequence[ConditionedDenoiser]) -> None:
        self.maps = tuple(maps)

    def orbit(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """``[k + 1, B, d]``: y, f_{i_1}(y), ..., F(y)."""
        points = [y]
        for f in self.maps:
            points.append(f(points[-1], sigma))
        return torch.stack(points)

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        return self.orbit(y, sigma)[-1]

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """J_{i_k}(y_{k-1}) ... J_{i_1}(y_0) (chain rule)."""
        points = self.orbit(y, sigma)
        total = torch.eye(y.shape[1], dtype=y.dtype).expand(y.shape[0], -1, -1)
        for f, point in zip(self.maps, points[:-1]):
            total = f.jacobian(point, sigma) @ total
        return total


def draw_starts(kind: StartDistribution, n: int, states: torch.Tensor, posterior: torch.Tensor, sigma: float,
                generator: torch.Generator) -> torch.Tensor:
    """``[n, d]`` starts from N(0, sigma^2 I), N(0, I) or p_sigma(y | tau) = sum_k pi_k N(s_k, sigma^2 I)."""
    noise = torch.randn(n, states.shape[1], generator=generator, dtype=torch.float64)
    if kind == "prior-sigma":
        return sigma * noise
    if kind == "standard":
        return noise
    if kind == "posterior":
        picks = torch.multinomial(posterior, n, replacement=True, generator=generator)
        return states[picks] + sigma * noise
    raise ValueError(f"unknown start distribution {kind!r}")


def _at(sigma: float | torch.Tensor, rows: torch.Tensor) -> float | torch.Tensor:
    """The noise levels of some rows: a scalar, or a ``[B]`` tensor indexed by ``rows``."""
    return sigma[rows] if isinstance(sigma, torch.Tensor) and sigma.ndim == 1 else sigma


def _solve(matrices: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``[B, d]``: A^{-1} b by LU, and the least-squares (pseudo-inverse) solution where A is singular."""
    solution, info = torch.linalg.solve_ex(matrices, rhs[:, :, None])
    solution = solution[:, :, 0]
    bad = (info != 0) | ~torch.isfinite(solution).all(dim=1)
    if bad.any():
        solution[bad] = torch.linalg.lstsq(matrices[bad], rhs[bad][:, :, None], driver="gelsd").solution[:, :, 0]
    return solution


def newton_refine(f: DifferentiableMap, y: torch.Tensor, sigma: float | torch.Tensor, *, max_iter: int = 60,
                  tol: float = FIXED_POINT_RESIDUAL, halvings: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Damped Newton on g(y) = f(y) - y; returns refined ``[B, d]`` points and ``[B]`` residuals ||g||.

    Step y <- y + alpha delta, delta = -(J - I)^{-1} g (the least-squares solution where J - I
    is singular, so that is no failure), with the largest alpha in 1, 1/2, ..., 2^-halvings
    that decreases ||g||: alpha = 1 first, then for the rows it failed for the next
    FIRST_HALVINGS alphas in one batched call, then all the others in one more. Rows whose
    residual reaches `tol`, or that cannot decrease it any more, stop. ``sigma`` is a scalar
    or one level per row.
    """
    y = y.to(torch.float64).clone()
    g = f(y, sigma) - y
    res = g.norm(dim=1)
    active = res > tol
    eye = torch.eye(y.shape[1], dtype=torch.float64)
    alphas = 0.5 ** torch.arange(1, halvings + 1, dtype=torch.float64)
    for _ in range(max_iter):
        rows = torch.nonzero(active).flatten()
        if rows.numel() == 0:
            break
        delta = -_solve(f.jacobian(y[rows], _at(sigma, rows)) - eye, g[rows])
        trial = y[rows] + delta
        g_trial = f(trial, _at(sigma, rows)) - trial
        r_trial = g_trial.norm(dim=1)
        better = r_trial < res[rows]
        take = rows[better]
        y[take], g[take], res[take] = trial[better], g_trial[better], r_trial[better]
        failed = torch.nonzero(~better).flatten()
        base, delta = rows[failed], delta[failed]
        for stage in (alphas[:FIRST_HALVINGS], alphas[FIRST_HALVINGS:]):
            if base.numel() == 0 or stage.numel() == 0:
                break
            trial = (y[base][:, None, :] + stage[None, :, None] * delta[:, None, :]).flatten(0, 1)
            g_trial = f(trial, _at(sigma, base.repeat_interleave(stage.numel()))) - trial
            r_trial = g_trial.norm(dim=1).view(-1, stage.numel())
            improves = r_trial < res[base][:, None]
            found = improves.any(dim=1)
            pick = torch.arange(base.numel()) * stage.numel() + improves.to(torch.int8).argmax(dim=1)
            take = base[found]
            y[take], g[take], res[take] = trial[pick[found]], g_trial[pick[found]], r_trial.flatten()[pick[found]]
            base, delta = base[~found], delta[~found]
        active[base] = False
        active[rows] &= res[rows] > tol
    return y, res


def cluster(points: torch.Tensor, tol: float = FIXED_POINT_DEDUP) -> tuple[torch.Tensor, torch.Tensor]:
    """Deduplicate ``[N, d]`` points: ``[M, d]`` representatives and ``[N]`` labels.

    Points are first grouped on a grid of spacing `tol`, then grid cells whose
    representatives lie within `tol` of each other are merged (first one wins).
    """
    if points.shape[0] == 0:
        return points, torch.zeros(0, dtype=torch.int64)
    keys = torch.round(points / tol).to(torch.int64)
    cells, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((cells.shape[0],), points.shape[0], dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(points.shape[0]), reduce="amin")
    reps = points[first]
    close = torch.cdist(reps, reps) < tol
    owner = close.to(torch.int8).argmax(dim=1)                 # first representative within tol
    owner = owner[owner]
    kept, relabel = torch.unique(owner, return_inverse=True)
    return reps[kept], relabel[inverse]


def _saddle_seeds(stable: torch.Tensor, max_pairs: int) -> torch.Tensor:
    """Midpoints of the closest pairs of stable fixed points (at most `max_pairs`).

    The distances are computed a block of rows at a time (at most PAIR_BLOCK_ENTRIES entries
    of differences) into one ``[m, m]`` table, never as one ``[m(m-1)/2, d]`` tensor: the 1,787
    stable points of one 8x8-grid agent (d = 64) would need 2.4 GB that way; the values are
    bitwise the same.
    """
    m = stable.shape[0]
    if m < 2 or max_pairs <= 0:
        return stable[:0]
    i, j = torch.triu_indices(m, m, offset=1)
    block = max(1, PAIR_BLOCK_ENTRIES // (m * stable.shape[1]))
    dist = stable.new_empty(m, m)
    for a in range(0, m, block):
        torch.linalg.vector_norm(stable[a:a + block, None, :] - stable[None, :, :], dim=2, out=dist[a:a + block])
    dist = dist[i, j]
    keep = torch.argsort(dist)[:max_pairs]
    return 0.5 * (stable[i[keep]] + stable[j[keep]])


def find_fixed_points(f: DifferentiableMap, sigma: float, states: torch.Tensor, posterior: torch.Tensor, *,
                      start: StartDistribution = "posterior", n_starts: int = 2000, seed: int = 0,
                      max_steps: int = 2000, newton_starts: int = 64, max_saddle_pairs: int = 256,
                      orbit: bool = False) -> FixedPointSet:
    """All fixed points of ``f(., sigma)`` that the recipe of the module docstring finds.

    ``states [S, d]`` and ``posterior [S]`` are the model's states and the history's
    posterior: they give the consistent states (posterior > 0), the Newton seeds at those
    states, and the ``"posterior"`` start distribution. ``orbit`` asks each point for its
    orbit (for a `CompositeMap`). Runs single-threaded (`intra_op_threads`).
    """
    with intra_op_threads():
        problem = search_problem(f, states, posterior)     # f*: searched in its states' affine hull (`reduced`)
        return problem.lift(_find_fixed_points(problem.map, sigma, problem.states, problem.posterior, start=start,
                                               n_starts=n_starts, seed=seed, max_steps=max_steps,
                                               newton_starts=newton_starts, max_saddle_pairs=max_saddle_pairs,
                                               orbit=orbit))


def _find_fixed_points(f: DifferentiableMap, sigma: float, states: torch.Tensor, posterior: torch.Tensor, *,
                       start: StartDistribution, n_starts: int, seed: int, max_steps: int, newton_starts: int,
                       max_saddle_pairs: int, orbit: bool) -> FixedPointSet:
    generator = torch.Generator().manual_seed(seed)
    consistent = torch.nonzero(posterior > 0).flatten()
    starts = draw_starts(start, n_starts, states, posterior, sigma, generator)
    ends, converged = flow_limits(f, torch.cat([starts, states[consistent]]), sigma, max_steps)
    seeds, _ = newton_refine(f, torch.cat([starts[:newton_starts], centroid_seeds(states, posterior, sigma)]), sigma)
    candidates = torch.cat([ends, seeds])
    ends, converged = ends[:n_starts], converged[:n_starts]
    reps, _ = cluster(require_converged(candidates, (f(candidates, sigma) - candidates).norm(dim=1),
                                        FIXED_POINT_RESIDUAL))
    eig = _eigenvalues(f, reps, sigma)
    stable = eig.abs().amax(dim=1) < 1.0 - STABILITY_MARGIN
    saddles, _ = newton_refine(f, _saddle_seeds(reps[stable], max_saddle_pairs), sigma)
    saddles = saddles[(f(saddles, sigma) - saddles).norm(dim=1) <= FIXED_POINT_RESIDUAL]
    if reps.shape[0] and saddles.shape[0]:
        saddles = saddles[torch.cdist(saddles, reps).amin(dim=1) >= FIXED_POINT_DEDUP]
    if saddles.shape[0]:
        saddles, _ = cluster(saddles)
        reps, eig = torch.cat([reps, saddles]), torch.cat([eig, _eigenvalues(f, saddles, sigma)])
    counts = _basin_counts(reps, ends, converged)
    points = _describe(f, reps, eig, sigma, counts, n_starts, states, consistent, orbit)
    return FixedPointSet(points, float(sigma), start, n_starts, int((~converged).sum()),
                         consistent.numpy(), posterior.numpy(),
                         {"fixed_point_residual": FIXED_POINT_RESIDUAL, "flow_step": FLOW_STEP,
                          "dedup": FIXED_POINT_DEDUP, "stability_margin": STABILITY_MARGIN})


def flow_limits(f: DifferentiableMap, y0: torch.Tensor, sigma: float, max_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N, d]`` refined limits of Eq. 7 from ``y0`` and ``[N]`` whether each row converged (step 2).

    Refining only the distinct coarse end points replaces one Jacobian per row by about
    SHORTCUT_JACOBIANS per distinct point, and the iteration stops
    ln(FLOW_COARSE_STEP / FLOW_STEP) / ln(1 / rho) steps earlier; the shortcut is taken when
    the rows merge into at most 1 / SHORTCUT_JACOBIANS as many points (many starts per
    fixed point). The rows that cannot be certified (near saddles, slow, wrongly merged),
    or all of them without the shortcut, are iterated to FLOW_STEP and refined one by one.
    """
    coarse = fixed_sigma_flow(f, y0, sigma, max_steps, tol=FLOW_COARSE_STEP)
    ends = coarse.y.clone()
    certified = torch.zeros(y0.shape[0], dtype=torch.bool)
    rows = torch.nonzero(coarse.converged).flatten()
    merged, labels = cluster(coarse.y[rows], COARSE_MERGE) if rows.numel() else (coarse.y[:0], rows)
    if rows.numel() and SHORTCUT_JACOBIANS * merged.shape[0] <= rows.numel():
        refined, residual = newton_refine(f, merged, sigma)
        eye = torch.eye(y0.shape[1], dtype=torch.float64)
        jac = f.jacobian(refined, sigma)
        stable = _jacobian_eigenvalues(f, jac).abs().amax(dim=1) < 1.0 - STABILITY_MARGIN
        reach = 2.0 * FLOW_COARSE_STEP / torch.linalg.svdvals(eye - jac)[:, -1]
        ok = (stable & (residual <= FIXED_POINT_RESIDUAL))[labels] & \
            ((coarse.y[rows] - refined[labels]).norm(dim=1) <= reach[labels])
        ends[rows[ok]], certified[rows[ok]] = refined[labels[ok]], True
    rest = torch.nonzero(~certified).flatten()
    fine = fixed_sigma_flow(f, coarse.y[rest], sigma, max_steps, tol=FLOW_STEP, taken=coarse.steps[rest])
    ends[rest], _ = newton_refine(f, fine.y, sigma)
    converged = certified.clone()
    converged[rest] = fine.converged
    return ends, converged


def _eigenvalues(f: DifferentiableMap, points: torch.Tensor, sigma: float) -> torch.Tensor:
    """``[B, d]`` complex eigenvalues of J_f at ``points`` (``eigvalsh`` when the map says J is symmetric)."""
    return _jacobian_eigenvalues(f, f.jacobian(points, sigma))


def _jacobian_eigenvalues(f: DifferentiableMap, jac: torch.Tensor) -> torch.Tensor:
    """``[B, d]`` complex eigenvalues of Jacobians of `f` (``eigvalsh`` when the map says J is symmetric)."""
    if getattr(f, "symmetric", False):
        return torch.linalg.eigvalsh(jac).to(torch.complex128)
    return torch.linalg.eigvals(jac)


def _basin_counts(reps: torch.Tensor, ends: torch.Tensor, converged: torch.Tensor) -> torch.Tensor:
    """``[M]``: converged starts whose refined end point is (within the dedup radius) each representative."""
    if reps.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64)
    dist = torch.cdist(ends[converged], reps)
    nearest = dist.argmin(dim=1)
    hit = dist.gather(1, nearest[:, None])[:, 0] < FIXED_POINT_DEDUP
    return torch.bincount(nearest[hit], minlength=reps.shape[0])


def _describe(f: DifferentiableMap, reps: torch.Tensor, eig: torch.Tensor, sigma: float, counts: torch.Tensor,
              n_starts: int, states: torch.Tensor, consistent: torch.Tensor, orbit: bool) -> tuple[FixedPoint, ...]:
    if reps.shape[0] == 0:
        return ()
    radius = eig.abs().amax(dim=1).numpy()
    residual = (f(reps, sigma) - reps).norm(dim=1).numpy()
    dist = torch.cdist(reps, states[consistent])
    nearest = dist.argmin(dim=1)
    distance = dist.gather(1, nearest[:, None])[:, 0].numpy()
    nearest_state = consistent[nearest].numpy()
    orbits = f.orbit(reps, sigma)[:-1].transpose(0, 1).numpy() if orbit else None
    order = torch.argsort(counts, descending=True, stable=True).tolist()
    intervals = proportion_intervals(counts.numpy(), n_starts)
    points, eig, counts = reps.numpy(), eig.numpy(), counts.numpy()
    return tuple(FixedPoint(
        point=points[m], residual=float(residual[m]), eigenvalues=eig[m], spectral_radius=float(radius[m]),
        stable=bool(radius[m] < 1.0 - STABILITY_MARGIN), basin_count=int(counts[m]),
        basin_mass=float(counts[m]) / n_starts, basin_ci=(float(intervals[m, 0]), float(intervals[m, 1])),
        nearest_state=int(nearest_state[m]), distance=float(distance[m]),
        orbit=None if orbits is None else orbits[m])
        for m in order)


def fixed_points(denoiser: Denoiser, model: DecPOMDP, history: HistoryBatch, sigma: float, *,
                 policy: Policy | None = None, **options: object) -> FixedPointSet:
    """Fixed points of f(tau, .; sigma) for one history (length-1 `HistoryBatch`); see `find_fixed_points`."""
    reference = denoiser if isinstance(denoiser, ExactDenoiser) else ExactDenoiser(model, policy)
    posterior = reference.posteriors(history)[0]
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    return find_fixed_points(ConditionedDenoiser(denoiser, history), sigma, states, posterior, **options)
