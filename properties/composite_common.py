"""Composite and partial composite diffusion on the subject's joint histories, shared by the composite checks.

For every examined joint history tau_{1:n} (the first ones of ``ctx.joint_histories``, at most
MAX_COMPOSITE_WORK / (n x starts) of them) a run does what the
paper's algorithm does (Definition 6, Sec. 5.1, docs/claims.md#composite-diffusion) and records what the checks of
Theorem 7, Corollaries 7.1 / 7.2, Finding 6 and Theorem 8 judge it against:

1. the order: a seeded random permutation of the n agents (Definition 6 allows any); for a
   partial composite (Sec. 5.2) a seeded random ordered subset of k in [1, n - 1] agents;
2. the targets T, the candidate true states: the joint-history support
   {s : p(s | tau_{1:n}) > 0} for the composite (the true state under collective
   observability), and the states consistent with every participant's history,
   intersection_t S_G(tau_{i_t}), for a partial composite;
3. each participant's fixed point near each target, y*_i(s) = phi_inf(tau_i)(s), and the
   deviation D_phi(tau_i, s) = ||s - y*_i(s)|| (Definition 4, Eq. 12; the harness knows s);
   D_bar is their maximum over participants and targets, and Step 2's check (2) uses the
   paper's "2 D_phi" as 2 D_bar (docs/claims.md#other-ambiguities: D_phi needs the true state);
4. Step 1: ``ctx.budget.starts`` starts from N(0, sigma^2 I) and, as extra rows, the targets
   themselves; the flow runs in passes of k steps (one step = one agent's denoiser) until a
   pass moves every row by less than FLOW_STEP or ``ctx.budget.iterations`` steps are spent;
   the last pass is the limit orbit (period k, docs/claims.md#composite-diffusion);
5. Step 2: checks (1) and (2) on every row, bound 2 D_bar + COMPOSITE_DISTANCE.

Steps 1-3 make a `CompositeSetup`, 4-5 a `CompositeRun`; both are computed once per
`CheckContext` (in ``ctx.shared``) and shared by the checks. Any denoiser runs here: the
exact one with closed-form Jacobians, others through ``vmap(jacrev)`` (float64 copies).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import cvxpy as cp
import numpy as np
import scipy.sparse as sparse
import torch

from decdiff.implementations.analysis.jacobian_rank import float64_copy
from decdiff.implementations.dynamics.fixed_points import cluster, draw_starts
from decdiff.implementations.dynamics.flows import (
    CompositeResult,
    ConditionedDenoiser,
    Step2Result,
    composite_flow,
    conditioned_all,
    fixed_sigma_flow,
    step2_checks,
)
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import history_batch
from decdiff.implementations.supports import SupportComparison, compare_supports
from decdiff.properties.common import describe_joint_history
from decdiff.properties.context import CheckContext
from decdiff.tolerances import COMPOSITE_DISTANCE, COMPOSITE_RELATIVE, FLOW_STEP

T = TypeVar("T")

#: At most this many (joint history, agent, start) triples per context: the composite checks examine
#: the first max(1, MAX_COMPOSITE_WORK // (n x starts)) of the context's joint histories (all of them
#: on the sensor ring and the quick suite; 20 of the 5x5 grid's 25 agents x 256 starts, ~10 s on one core).
MAX_COMPOSITE_WORK = 2**17

#: The tolerances every composite check echoes.
TOLERANCES = {"distance": COMPOSITE_DISTANCE, "relative_to_dbar": COMPOSITE_RELATIVE, "flow_step": FLOW_STEP}


@dataclass(frozen=True, eq=False)
class CompositeSetup:
    """The participants, order, candidate true states and fixed points of one joint history.

    Attributes:
        row: the joint history (row of ``ctx.joint_histories``).
        order: participating agents in the order their denoisers are applied.
        targets: ``[T]`` model state indices of the candidate true states.
        target_states: ``[T, d]`` their embeddings.
        fixed: ``[k, T, d]`` y*_i(s) = phi_inf(tau_i)(s) for participant order[i] and target s.
        fixed_converged: ``[k, T]`` whether those flows converged.
        maps: the conditioned denoisers of all n agents (index by agent).
        sigma: the noise level.
    """

    row: int
    order: tuple[int, ...]
    targets: np.ndarray
    target_states: torch.Tensor
    fixed: torch.Tensor
    fixed_converged: torch.Tensor
    maps: tuple[ConditionedDenoiser, ...]
    sigma: float

    @cached_property
    def deviation(self) -> torch.Tensor:
        """``[k, T]``: ||D_phi(tau_i, s)|| = ||s - y*_i(s)|| (Eq. 12)."""
        return (self.fixed - self.target_states[None]).norm(dim=2)

    @cached_property
    def max_deviation(self) -> torch.Tensor:
        """``[T]``: max_i ||D_phi(tau_i, s)||, Theorem 7's error bound for target s."""
        return self.deviation.amax(dim=0)

    @property
    def dbar(self) -> float:
        """D_bar: the largest deviation over participants and targets (0 without targets)."""
        return float(self.max_deviation.max()) if self.targets.size else 0.0

    @property
    def slack(self) -> float:
        """The comparisons' slack beyond COMPOSITE_DISTANCE: COMPOSITE_RELATIVE * D_bar."""
        return COMPOSITE_RELATIVE * self.dbar

    @cached_property
    def isotropy(self) -> torch.Tensor:
        """``[T]``: first-order bound on how far the local maps can push the orbit off conv F_s.

        Near y*_i each map is f_i(y) ~ y*_i + J_i (y - y*_i). With lambda_i = tr(J_i)/d clipped
        to [0, 1], the isotropic part y*_i + lambda_i (y - y*_i) keeps conv F_s invariant (the
        composite_hull derivation); the rest moves a hull point by at most a_i diam(F_s),
        a_i = ||J_i - lambda_i I||_2, and the offsets decay by ||J_i||_2 per step, so the orbit
        stays within max_i a_i diam / (1 - max_i ||J_i||_2) of the hull (inf when some
        ||J_i||_2 >= 1: no contraction). 0 for exactly isotropic maps.
        """
        d = self.fixed.shape[2]
        eye = torch.eye(d, dtype=torch.float64)
        jac = torch.stack([self.maps[agent].jacobian(self.fixed[i], self.sigma) for i, agent in
                           enumerate(self.order)])                       # [k, T, d, d]
        lam = (torch.diagonal(jac, dim1=-2, dim2=-1).sum(-1) / d).clamp(0.0, 1.0)      # [k, T]
        aniso = torch.linalg.matrix_norm(jac - lam[..., None, None] * eye, ord=2).amax(dim=0)
        norm = torch.linalg.matrix_norm(jac, ord=2).amax(dim=0)
        diam = torch.cdist(self.fixed.transpose(0, 1), self.fixed.transpose(0, 1)).flatten(1).amax(dim=1)
        spread = aniso * diam
        effect = torch.where(spread == 0, torch.zeros_like(spread), spread / (1.0 - norm).clamp_min(0.0))
        return torch.where(norm >= 1, torch.full_like(effect, math.inf), effect)


@dataclass(frozen=True, eq=False)
class CompositeRun(CompositeSetup):
    """A `CompositeSetup` with its composite flow and Step-2 checks.

    Attributes:
        n_random: rows ``0 .. n_random - 1`` start from N(0, sigma^2 I); the others at the targets.
        starts: ``[N, d]`` the rows' starting points y^{(0)}.
        flow: the last pass (``path [k + 1, N, d]``: the limit orbit and y^{(L)} = ``flow.y``).
        steps: composite steps taken in all (L).
        orbit_converged: ``[N]`` the last pass moved the row by < FLOW_STEP.
        step2: the Step-2 checks of every row.
    """

    n_random: int = 0
    starts: torch.Tensor | None = None
    flow: CompositeResult | None = None
    steps: int = 0
    orbit_converged: torch.Tensor | None = None
    step2: Step2Result | None = None

    @cached_property
    def errors(self) -> torch.Tensor:
        """``[N, T]``: ||y^{(L)} - s|| for every row and target."""
        return torch.cdist(self.flow.y, self.target_states)

    @cached_property
    def assigned(self) -> torch.Tensor:
        """``[N]``: the target each row approaches best relative to its bound (argmin_s error - max_i D)."""
        return (self.errors - self.max_deviation[None]).argmin(dim=1)

    @cached_property
    def excess(self) -> torch.Tensor:
        """``[N]``: min_s (||y^{(L)} - s|| - max_i D_phi(tau_i, s))."""
        return (self.errors - self.max_deviation[None]).amin(dim=1)

    @cached_property
    def assigned_error(self) -> torch.Tensor:
        """``[N]``: ||y^{(L)} - s|| for each row's assigned target s."""
        return self.errors.gather(1, self.assigned[:, None])[:, 0]

    @cached_property
    def assigned_bound(self) -> torch.Tensor:
        """``[N]``: max_i ||D_phi(tau_i, s)|| for each row's assigned target s."""
        return self.max_deviation[self.assigned]

    @property
    def random_rows(self) -> slice:
        return slice(0, self.n_random)

    @cached_property
    def step1_accepted(self) -> torch.Tensor:
        """``[n_random]``: Step-2 acceptance of the rows started from N(0, sigma^2 I)."""
        return self.step2.accepted[self.random_rows]


# ----- shared per context ------------------------------------------------------------------------------
def cached(ctx: CheckContext, key: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per context (kept in ``ctx.shared`` under ``("composite", key)``), on one
    intra-op thread: the flows work on a few hundred rows at a time (see `intra_op_threads`)."""
    slot = ("composite", key)
    if slot not in ctx.shared:
        with intra_op_threads():
            ctx.shared[slot] = compute()
    return ctx.shared[slot]


def supports(ctx: CheckContext) -> SupportComparison:
    """Individual supports, their intersection and the joint support of every examined joint history."""
    histories = ctx.joint_histories
    return cached(ctx, "supports", lambda: compare_supports(ctx.model, histories.actions, histories.observations,
                                                            ctx.policy))


def composite_setups(ctx: CheckContext) -> list[CompositeSetup]:
    """All agents in a seeded random order, the joint support and its fixed points, per joint history."""
    return cached(ctx, "composite_setups", lambda: _setups(ctx, partial=False))


def composite_runs(ctx: CheckContext) -> list[CompositeRun]:
    """The composite flow over all agents on every examined joint history."""
    return cached(ctx, "composite_runs", lambda: _runs(ctx, composite_setups(ctx), seed_offset=0))


def partial_runs(ctx: CheckContext) -> list[CompositeRun]:
    """A partial composite flow over a seeded random ordered subset of k in [1, n-1] agents per joint history
    (none for one agent)."""
    return cached(ctx, "partial_runs", lambda: _runs(ctx, _setups(ctx, partial=True), seed_offset=1))


def _setups(ctx: CheckContext, partial: bool) -> list[CompositeSetup]:
    model, histories = ctx.model, ctx.joint_histories
    n = model.n_agents
    if partial and n < 2:
        return []
    comparison = supports(ctx)
    denoiser = cached(ctx, "denoiser64", lambda: float64_copy(ctx.denoiser))
    examined = min(len(histories), max(1, MAX_COMPOSITE_WORK // (n * ctx.budget.starts)))
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    rng = np.random.default_rng([ctx.seed, int(partial)])
    setups = []
    for b in range(examined):
        batch = history_batch(model, np.arange(n), histories.actions[b].T, histories.observations[b].T)
        maps = tuple(conditioned_all(denoiser, batch))
        if partial:
            order = tuple(int(i) for i in rng.permutation(n)[:int(rng.integers(1, n))])
            targets = np.flatnonzero(np.logical_and.reduce(comparison.individual[b, list(order)], axis=0))
        else:
            order = tuple(int(i) for i in rng.permutation(n))
            targets = np.flatnonzero(comparison.joint[b])
        target_states = states[torch.from_numpy(targets)]
        flows = [fixed_sigma_flow(maps[agent], target_states, ctx.sigma, ctx.budget.iterations, tol=FLOW_STEP)
                 for agent in order]
        setups.append(CompositeSetup(row=b, order=order, targets=targets, target_states=target_states,
                                     fixed=torch.stack([f.y for f in flows]),
                                     fixed_converged=torch.stack([f.converged for f in flows]), maps=maps,
                                     sigma=ctx.sigma))
    return setups


def _runs(ctx: CheckContext, setups: list[CompositeSetup], seed_offset: int) -> list[CompositeRun]:
    states = torch.from_numpy(np.ascontiguousarray(ctx.model.states, dtype=np.float64))
    generator = torch.Generator().manual_seed(ctx.seed + seed_offset)
    return [_run(ctx, setup, states, generator) for setup in setups]


def _run(ctx: CheckContext, setup: CompositeSetup, states: torch.Tensor, generator: torch.Generator) -> CompositeRun:
    sigma, budget, maps, order = ctx.sigma, ctx.budget, setup.maps, setup.order
    k = len(order)
    starts = torch.cat([draw_starts("prior-sigma", budget.starts, states, states.new_empty(0), sigma, generator),
                        setup.target_states])
    y, passes = starts, 0
    while True:
        result = composite_flow(maps, y, sigma, k, order)
        moved = (result.y - y).norm(dim=1)
        y, passes = result.y, passes + 1
        if bool((moved < FLOW_STEP).all()) or passes * k >= budget.iterations:
            break
    step2 = step2_checks(maps, result, sigma, 2.0 * setup.dbar + COMPOSITE_DISTANCE, flow_steps=budget.iterations,
                         tol=FLOW_STEP)
    fields = {f.name: getattr(setup, f.name) for f in dataclasses.fields(CompositeSetup)}
    return CompositeRun(**fields, n_random=budget.starts, starts=starts, flow=result, steps=passes * k,
                        orbit_converged=moved < FLOW_STEP, step2=step2)


# ----- convex-hull distances -------------------------------------------------------------------------------
def hull_distances(points: list[np.ndarray], vertices: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """Distance of every point of group g to conv(vertices[g]) (cvxpy with Clarabel), concatenated,
    and the solver's status (NaN distances when it returned no solution).

    ``points[g]`` is ``[p_g, d]`` and ``vertices[g]`` ``[m_g, d]``. One second-order-cone
    program minimises the sum over points of ||V_g^T w_p - z_p|| / c_g with w_p >= 0,
    sum w_p = 1; the points are independent, so each attains its own minimum. Each group is
    centred and scaled by its extent c_g first, so that the solver's tolerances (1e-8 by
    default) are relative to the group's own size, however small the deviations are. The
    distances returned are evaluated in the original units at the solver's weights clipped at
    0 and renormalised, i.e. at feasible weights: upper bounds on the true distances, also
    when Clarabel reports reduced accuracy ("optimal_inaccurate", its warning is silenced).
    """
    blocks, sizes, goals, raw_blocks, raw_goals = [], [], [], [], []
    for z, v in zip(points, vertices):
        centre = v.mean(axis=0)
        scale = max(float(np.abs(np.concatenate([z, v]) - centre).max()), np.finfo(np.float64).tiny)
        for p in range(z.shape[0]):
            blocks.append(sparse.csr_array((v - centre).T / scale))
            goals.append((z[p] - centre) / scale)
            raw_blocks.append(sparse.csr_array(v.T))
            raw_goals.append(z[p])
            sizes.append(v.shape[0])
    if not blocks:
        return np.zeros(0), "no points"
    d, count = points[0].shape[1], len(blocks)
    owner = np.repeat(np.arange(count), sizes)
    summing = sparse.csr_array((np.ones(owner.size), (owner, np.arange(owner.size))), shape=(count, owner.size))
    w = cp.Variable(owner.size)
    residual = cp.reshape(sparse.block_diag(blocks, format="csr") @ w - np.concatenate(goals), (count, d), order="C")
    problem = cp.Problem(cp.Minimize(cp.sum(cp.norm(residual, 2, axis=1))), [w >= 0, summing @ w == 1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError as error:
        return np.full(count, np.nan), f"solver error: {error}"
    if w.value is None:
        return np.full(count, np.nan), str(problem.status)
    weights = np.clip(w.value, 0.0, None)
    totals = np.bincount(owner, weights=weights, minlength=count)
    empty = totals[owner] == 0
    weights = np.where(empty, 1.0 / np.asarray(sizes)[owner], weights / np.where(empty, 1.0, totals[owner]))
    design = sparse.block_diag(raw_blocks, format="csr")
    return np.linalg.norm((design @ weights - np.concatenate(raw_goals)).reshape(count, d), axis=1), str(problem.status)


def distinct_orbits(run: CompositeRun, rows: torch.Tensor) -> torch.Tensor:
    """Rows (a subset of ``rows``) whose final iterates are pairwise further apart than COMPOSITE_DISTANCE."""
    if rows.numel() == 0:
        return rows
    _, labels = cluster(run.flow.y[rows], COMPOSITE_DISTANCE)
    first = torch.full((int(labels.max()) + 1,), rows.numel(), dtype=torch.int64)
    first.scatter_reduce_(0, labels, torch.arange(rows.numel()), reduce="amin")
    return rows[first]


# ----- counterexamples -------------------------------------------------------------------------------------
def describe_sequence(ctx: CheckContext, run: CompositeRun, row: int) -> dict:
    """One composite sequence in words: joint history, order, start, the limit orbit with the nearest
    model state of each point, the target it is judged against, and its Step-2 results."""
    model, histories = ctx.model, ctx.joint_histories
    example = describe_joint_history(model, histories.actions[run.row], histories.observations[run.row])
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    orbit = run.flow.path[1:, row]                                      # [k, d]
    dist = torch.cdist(orbit, states)
    nearest = dist.argmin(dim=1)
    t = int(run.assigned[row])
    example.update({
        "order": [model.agent_names[a] for a in run.order],
        "start": run.starts[row].tolist(),
        "started_at_target": row >= run.n_random,
        "orbit": [{"after_agent": model.agent_names[a], "point": orbit[j].tolist(),
                   "nearest_state": model.state_names[int(nearest[j])], "distance": float(dist[j, nearest[j]])}
                  for j, a in enumerate(run.order)],
        "final": run.flow.y[row].tolist(),
        "orbit_converged": bool(run.orbit_converged[row]),
        "composite_steps": run.steps,
        "candidate_states": [model.state_names[s] for s in run.targets],
        "target_state": model.state_names[int(run.targets[t])] if run.targets.size else None,
        "error": float(run.errors[row, t]) if run.targets.size else None,
        "max_deviation": float(run.max_deviation[t]) if run.targets.size else None,
        "deviations": {model.agent_names[a]: float(run.deviation[i, t]) for i, a in enumerate(run.order)}
        if run.targets.size else {},
        "step2": {"accepted": bool(run.step2.accepted[row]),
                  "spectral_radii": run.step2.spectral_radii[row].tolist(),
                  "movement": run.step2.movement[row].tolist(), "movement_bound": run.step2.bound},
    })
    true_state = histories.true_states[run.row]
    if true_state >= 0:
        example["true_state"] = model.state_names[int(true_state)]
    return example
