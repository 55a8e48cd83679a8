"""What the fixed-point checks share: the agent histories examined, their fixed points, flow limits.

Which histories. The distinct agent histories tau_i of the context's joint histories. When
there are more than the budget allows, a seeded pool of ``SELECTION_POOL`` x the cap is
drawn, and histories are taken alternately from the pool's smallest posterior supports
(where Finding 1's premise, a single fixed point, arises) and in the pool's random order,
until ``budget.fixed_point_histories`` histories are chosen or the searched work
sum |S_G(tau)| x starts reaches ``budget.fixed_point_work`` (one history at least).

When a point "is" a consistent state (docs/claims.md#finite-sigma: at finite sigma the fixed points of f*
sit near the states, not on them). A point y matches consistent state s of tau when
||y - s|| <= tol(tau, s), with r_min and L(r_min) the certified location radius and
Jacobian bound of certify.py:

* exact denoiser, s certified at sigma: tol = r_min + FLOW_STEP / (1 - L(r_min)). The fixed
  point lies within r_min of s (proved); a flow stopped at step size FLOW_STEP under
  contraction L is within FLOW_STEP L / (1 - L) of it, and Newton's residual
  FIXED_POINT_RESIDUAL < FLOW_STEP places a refined point closer still;
* any other denoiser, or s not certified: tol = (r_min if certified else 0) +
  FIXED_POINT_DEVIATION_FRACTION x c, c the smallest distance between two distinct states
  of the model (the deviation D_phi a non-exact denoiser may have, Definition 4).

Everything is cached in ``ctx.shared``, so the checks of one context pay once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.analysis.jacobian_rank import float64_copy
from decdiff.implementations.denoisers.exact import mixture_weights
from decdiff.implementations.dynamics.certify import certify
from decdiff.implementations.dynamics.completeness import missable_basin_mass
from decdiff.implementations.dynamics.contraction import geometry
from decdiff.implementations.dynamics.fixed_points import (
    FixedPointSet,
    StartDistribution,
    cluster,
    draw_starts,
    fixed_points,
)
from decdiff.implementations.dynamics.flows import ConditionedDenoiser, fixed_sigma_flow
from decdiff.implementations.dynamics.isolation import isolation_gap
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import HistoryBatch, history_batch
from decdiff.properties.context import CheckContext
from decdiff.tolerances import (
    FIXED_POINT_DEVIATION_FRACTION,
    FIXED_POINT_RESIDUAL,
    FLOW_STEP,
    STABILITY_MARGIN,
)

#: The selection pool is this many times the history cap (posteriors are computed for the pool only).
SELECTION_POOL = 8
#: Pairs of stable fixed points whose midpoints seed the search for saddles (reported, not judged).
SADDLE_PAIRS = 8
#: Flows of f* (O(K d) per start and step, no Newton) start from this many times ``budget.starts``,
#: capped at EXACT_FLOW_WORK / K starts (K consistent states): Monte-Carlo intervals of basin masses
#: then resolve deviations of ~0.01 on small models (docs/claims.md#posterior-recovery's N(0, sigma^2 I) masses differ
#: from the posterior by 0.02-0.06). A network costs O(width^2) per row: its flows use ``budget.starts``.
EXACT_FLOW_STARTS_FACTOR = 64
EXACT_FLOW_WORK = 2**16
#: Theorem 2 ("nothing else is stable") and Finding 1 ("a single stable point") also search from
#: y ~ N(0, I), the composite experiments' starts, with budget.starts / EXPLORATION_DIVISOR starts:
#: p_sigma(y | tau) puts almost no mass where a wrong denoiser can have extra attractors (at
#: inconsistent states, or away from every state), so a search from it alone cannot see them.
EXPLORATION_DIVISOR = 4


def _shared(ctx: CheckContext, key: tuple, make: Callable[[], object]) -> object:
    """``ctx.shared[key]``, made on first use."""
    if key not in ctx.shared:
        ctx.shared[key] = make()
    return ctx.shared[key]


def is_exact(ctx: CheckContext) -> bool:
    """Whether the denoiser under test is the exact reference f* itself."""
    return ctx.denoiser is ctx.reference


def analysis_denoiser(ctx: CheckContext):
    """The denoiser the dynamics run on: f* itself, or a float64 copy of a network (Newton-accurate)."""
    return _shared(ctx, ("analysis_denoiser",), lambda: ctx.reference if is_exact(ctx) else float64_copy(ctx.denoiser))


def state_spacing(ctx: CheckContext) -> float:
    """c: the smallest distance between two distinct states of the model (inf for a single state)."""
    def make() -> float:
        states = torch.from_numpy(np.ascontiguousarray(ctx.model.states, dtype=np.float64))
        dist = torch.cdist(states, states)
        dist = dist[dist > 0]
        return float(dist.min()) if dist.numel() else np.inf
    return _shared(ctx, ("state_spacing",), make)


def deviation_tolerance(ctx: CheckContext) -> float:
    """FIXED_POINT_DEVIATION_FRACTION x c (c = 1 for a model with a single state)."""
    spacing = state_spacing(ctx)
    return FIXED_POINT_DEVIATION_FRACTION * (spacing if np.isfinite(spacing) else 1.0)


@dataclass(frozen=True, eq=False)
class ExaminedHistory:
    """One agent history, its exact posterior and the matching tolerance of each consistent state.

    Attributes:
        history: a length-1 `HistoryBatch`.
        posterior: ``[S]`` p(s | tau) (exact reference).
        consistent: ``[K]`` indices of the consistent states S_G(tau) (Definition 1).
        certified: ``[K]`` whether the contraction certificate holds at sigma (sigma below sigma_c).
        location_radius: ``[K]`` r_min (NaN where not certified).
        tolerance: ``[K]`` tol(tau, s) of the module docstring.
    """

    history: HistoryBatch
    posterior: np.ndarray
    consistent: np.ndarray
    certified: np.ndarray
    location_radius: np.ndarray
    tolerance: np.ndarray

    @property
    def key(self) -> bytes:
        return self.history.index_rows().tobytes()

    @property
    def agent(self) -> int:
        return int(self.history.agents[0])

    def match(self, states: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``points [P, d]``: nearest consistent state (position in `consistent`), distance, distance / tol."""
        if points.shape[0] == 0:
            empty = np.zeros(0)
            return empty.astype(np.int64), empty, empty
        dist = np.linalg.norm(points[:, None, :] - states[self.consistent][None, :, :], axis=-1)
        nearest = dist.argmin(axis=1)
        d = dist[np.arange(points.shape[0]), nearest]
        return nearest, d, d / self.tolerance[nearest]


def examine(ctx: CheckContext, histories: HistoryBatch, posteriors: np.ndarray) -> list[ExaminedHistory]:
    """`ExaminedHistory` for each row (certificates of every consistent state at ctx.sigma)."""
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    exact = is_exact(ctx)
    slack = deviation_tolerance(ctx)
    out = []
    for row in range(len(histories)):
        cache_key = ("examined", histories[row].index_rows().tobytes())
        if cache_key in ctx.shared:
            out.append(ctx.shared[cache_key])
            continue
        certificates = certify(states, posteriors[row], ctx.sigma)
        holds = np.array([c.holds for c in certificates])
        radius = np.array([c.location_radius for c in certificates])
        bound = np.array([c.jacobian_bound for c in certificates])
        with np.errstate(invalid="ignore", divide="ignore"):
            certified_tol = radius + FLOW_STEP / (1.0 - bound) if exact else radius + slack
        tolerance = np.where(holds, certified_tol, slack)
        item = ExaminedHistory(histories[row], posteriors[row], np.array([c.state for c in certificates]), holds,
                               radius, tolerance)
        ctx.shared[cache_key] = item
        out.append(item)
    return out


def agent_history_batch(ctx: CheckContext, rows: np.ndarray | None = None) -> HistoryBatch:
    """Every agent's history of the joint histories ``rows`` (all by default), joint-history-major."""
    joint = ctx.joint_histories
    rows = np.arange(len(joint)) if rows is None else rows
    n = ctx.model.n_agents
    actions, observations = joint.actions[rows], joint.observations[rows]
    return history_batch(ctx.model, np.tile(np.arange(n), len(rows)),
                         actions.transpose(0, 2, 1).reshape(len(rows) * n, -1),
                         observations.transpose(0, 2, 1).reshape(len(rows) * n, -1))


def examined_histories(ctx: CheckContext) -> list[ExaminedHistory]:
    """The distinct agent histories the per-history checks examine (module docstring), cached."""
    def make() -> list[ExaminedHistory]:
        batch = agent_history_batch(ctx)
        _, first = np.unique(batch.index_rows(), axis=0, return_index=True)
        first = np.sort(first)
        cap = ctx.budget.fixed_point_histories
        rng = np.random.default_rng(ctx.seed)
        pool = first if first.size <= cap else rng.permutation(first)[:SELECTION_POOL * cap]
        pool_batch = batch[torch.from_numpy(pool)]
        posteriors = ctx.reference.posteriors(pool_batch).numpy()
        support = (posteriors > 0).sum(axis=1)
        by_support = np.argsort(support, kind="stable")
        chosen: list[int] = []
        work = 0
        for small, shuffled in zip(by_support, range(len(pool))):
            for candidate in (small, shuffled):
                if candidate in chosen or len(chosen) >= cap:
                    continue
                if chosen and work + support[candidate] * ctx.budget.starts > ctx.budget.fixed_point_work:
                    continue
                chosen.append(int(candidate))
                work += int(support[candidate]) * ctx.budget.starts
        chosen.sort()
        index = torch.from_numpy(np.asarray(chosen, dtype=np.int64))
        return examine(ctx, pool_batch[index], posteriors[chosen])
    return _shared(ctx, ("examined_histories",), make)


def joint_history_rows(ctx: CheckContext) -> np.ndarray:
    """Joint histories whose agents' fixed-point sets are intersected.

    In a seeded order, at most ``budget.fixed_point_histories`` of them, while the work
    sum over their agents of |S_G(tau_i)| x starts stays within ``budget.fixed_point_work``
    (one at least): an intersection costs a search for one agent and Newton solves for the rest.
    """
    def make() -> np.ndarray:
        count = len(ctx.joint_histories)
        order = np.random.default_rng(ctx.seed).permutation(count)
        chosen: list[int] = []
        work = 0
        for row in order[:ctx.budget.fixed_point_histories]:
            cost = ctx.budget.starts * sum(len(e.consistent) for e in joint_agent_histories(ctx, int(row)))
            if chosen and work + cost > ctx.budget.fixed_point_work:
                break
            chosen.append(int(row))
            work += cost
        return np.sort(np.asarray(chosen, dtype=np.int64))
    return _shared(ctx, ("joint_history_rows",), make)


def joint_agent_histories(ctx: CheckContext, row: int) -> list[ExaminedHistory]:
    """Each agent's history of joint history ``row``, examined (agent order)."""
    def make() -> list[ExaminedHistory]:
        batch = agent_history_batch(ctx, np.array([row]))
        return examine(ctx, batch, ctx.reference.posteriors(batch).numpy())
    return _shared(ctx, ("joint_agent_histories", int(row)), make)


def found_fixed_points(ctx: CheckContext, examined: ExaminedHistory) -> FixedPointSet:
    """All fixed points of f(tau, .; sigma) the search finds (starts from p_sigma(y | tau)), cached."""
    return _shared(ctx, ("fixed_points", examined.key), lambda: fixed_points(
        analysis_denoiser(ctx), ctx.model, examined.history, ctx.sigma, policy=ctx.policy, start="posterior",
        n_starts=ctx.budget.starts, seed=ctx.seed, max_steps=ctx.budget.iterations,
        max_saddle_pairs=SADDLE_PAIRS))


def explored_fixed_points(ctx: CheckContext, examined: ExaminedHistory) -> FixedPointSet:
    """Fixed points of f(tau, .; sigma) found from starts y ~ N(0, I) (see EXPLORATION_DIVISOR), cached."""
    return _shared(ctx, ("explored_fixed_points", examined.key), lambda: fixed_points(
        analysis_denoiser(ctx), ctx.model, examined.history, ctx.sigma, policy=ctx.policy, start="standard",
        n_starts=max(1, ctx.budget.starts // EXPLORATION_DIVISOR), seed=ctx.seed + 1,
        max_steps=ctx.budget.iterations, max_saddle_pairs=0))


def stable_points(ctx: CheckContext, examined: ExaminedHistory) -> np.ndarray:
    """``[M, d]`` stable fixed points of both searches (p_sigma(y | tau) and N(0, I) starts), deduplicated."""
    points = [p.point for p in found_fixed_points(ctx, examined).stable()]
    points += [p.point for p in explored_fixed_points(ctx, examined).stable()]
    if not points:
        return np.zeros((0, ctx.model.state_dim))
    representatives, _ = cluster(torch.from_numpy(np.array(points)))
    return representatives.numpy()


def search_completeness(ctx: CheckContext, examined: list[ExaminedHistory]) -> dict[str, object]:
    """How complete the stable sets of `stable_points` are: proved for the exact denoiser on the histories where
    sigma is below sigma_iso (every stable fixed point is then a certified one, isolation.py), elsewhere only
    searched, with the basin mass each start distribution may have missed (`missable_basin_mass`)."""
    proved = 0
    if is_exact(ctx) and examined:
        geo = geometry(np.ascontiguousarray(ctx.model.states, dtype=np.float64),
                       np.stack([e.posterior for e in examined]))
        proved = int((isolation_gap(geo, np.full(len(examined), float(ctx.sigma))) < 0.0).sum())
    posterior, normal = ctx.budget.starts, max(1, ctx.budget.starts // EXPLORATION_DIVISOR)
    record: dict[str, object] = {"histories": len(examined), "proved_complete": proved}
    if proved == len(examined):
        return record | {"statement": "proved complete: exact denoiser below sigma_iso on every history examined"}
    mass_posterior, mass_normal = missable_basin_mass(posterior), missable_basin_mass(normal)
    return record | {
        "missable_basin_mass": {"p_sigma": mass_posterior, "normal": mass_normal},
        "statement": f"searched, not proved, on {len(examined) - proved} of {len(examined)} histories: an "
                     f"attractor with basin mass below {mass_posterior:.3g} under p_sigma(y | tau) ({posterior} "
                     f"starts) and below {mass_normal:.3g} under N(0, I) ({normal} starts) could have been missed"}


@dataclass(frozen=True, eq=False)
class FlowLimits:
    """Where the fixed-sigma flow (Eq. 7) takes starts drawn from one start distribution.

    Attributes:
        starts, ends: ``[N, d]`` y^(0) and the last iterate (converged, or after budget.iterations steps).
        converged: ``[N]`` whether a step moved by less than FLOW_STEP.
        weights: ``[N, K]`` exact posterior weights w_k(y^(0)) = p(s_k | y^(0), tau) over the consistent states.
        nearest: ``[N]`` the consistent state nearest to each end (position in `consistent`);
        distance: ``[N]`` its distance; ``matched``: ``[N]`` distance <= its tolerance.
    """

    starts: torch.Tensor
    ends: torch.Tensor
    converged: torch.Tensor
    weights: torch.Tensor
    nearest: np.ndarray
    distance: np.ndarray
    matched: np.ndarray

    @property
    def argmax(self) -> np.ndarray:
        """``[N]`` argmax_k p(s_k | y^(0), tau) (position in `consistent`)."""
        return self.weights.argmax(dim=1).numpy()


def flow_starts(ctx: CheckContext, examined: ExaminedHistory) -> int:
    """Starts of one history's flows: ``budget.starts``, times EXACT_FLOW_STARTS_FACTOR for f* within the work cap."""
    if not is_exact(ctx):
        return ctx.budget.starts
    cap = EXACT_FLOW_WORK // len(examined.consistent)
    return max(ctx.budget.starts, min(EXACT_FLOW_STARTS_FACTOR * ctx.budget.starts, cap))


def flow_limits(ctx: CheckContext, examined: ExaminedHistory, start: StartDistribution) -> FlowLimits:
    """Run the denoiser's fixed-sigma flow from `flow_starts` starts of `start` (seeded), cached."""
    def make() -> FlowLimits:
        states = torch.from_numpy(np.ascontiguousarray(ctx.model.states, dtype=np.float64))
        posterior = torch.from_numpy(examined.posterior)
        generator = torch.Generator().manual_seed(ctx.seed)
        y0 = draw_starts(start, flow_starts(ctx, examined), states, posterior, ctx.sigma, generator)
        with intra_op_threads():
            flow = fixed_sigma_flow(ConditionedDenoiser(analysis_denoiser(ctx), examined.history), y0, ctx.sigma,
                                    ctx.budget.iterations, tol=FLOW_STEP)
        consistent = torch.from_numpy(examined.consistent)
        sigma = torch.full((y0.shape[0],), ctx.sigma, dtype=torch.float64)
        weights = mixture_weights(torch.log(posterior[consistent]), states[consistent], y0, sigma)
        nearest, distance, ratio = examined.match(states.numpy(), flow.y.numpy())
        return FlowLimits(y0, flow.y, flow.converged, weights, nearest, distance, ratio <= 1.0)
    return _shared(ctx, ("flow_limits", examined.key, start), make)


def certified_everywhere(examined: list[ExaminedHistory]) -> bool:
    """The certificate (sigma below sigma_c) holds for every consistent state of `examined`."""
    return all(bool(e.certified.all()) for e in examined)


def sigma_below_sigma_c(ctx: CheckContext) -> bool:
    """Assumption ``sigma_below_sigma_c``, one value per subject: the certificate holds for every consistent
    state of every agent history a check examines (`examined_histories` and the agents of `joint_history_rows`)."""
    def make() -> bool:
        joint = [e for row in joint_history_rows(ctx) for e in joint_agent_histories(ctx, int(row))]
        return certified_everywhere(examined_histories(ctx) + joint)
    return ctx.shared_assumption("sigma_below_sigma_c", make)


def history_description(ctx: CheckContext, examined: ExaminedHistory) -> dict[str, object]:
    """An agent history in words: agent, own actions and observations, consistent states and posterior."""
    model, h = ctx.model, examined.history
    agent = examined.agent
    return {"agent": agent,
            "actions": [model.action_names[agent][a] for a in h.actions[0].tolist() if a >= 0],
            "observations": [model.observation_names[agent][o] for o in h.observations[0].tolist() if o >= 0],
            "consistent_states": [model.state_names[s] for s in examined.consistent],
            "posterior": examined.posterior[examined.consistent].tolist(),
            "tolerance": examined.tolerance.tolist()}


def tolerance_record(ctx: CheckContext) -> dict[str, float]:
    """The tolerances behind the matching rule, for a result's ``tolerance`` field."""
    record = {"flow_step": FLOW_STEP, "fixed_point_residual": FIXED_POINT_RESIDUAL,
              "stability_margin": STABILITY_MARGIN}
    if not is_exact(ctx):
        record |= {"deviation_fraction": FIXED_POINT_DEVIATION_FRACTION, "deviation": deviation_tolerance(ctx)}
    return record
