"""The intersection of the agents' stable fixed-point sets for one joint history, up to tolerance.

Theorems 3 and 4 in fixed-point form at finite sigma: the sets F_phi(tau_i) of different
agents near one state do not coincide exactly (docs/claims.md#finite-sigma), so membership is up to the
tolerances of fixed_point_sets. For joint history (tau_1, ..., tau_n):

1. the source agent a is the one with the fewest consistent states; its stable fixed points,
   found by the full search, are the candidates (a point of the intersection lies in
   F_phi(tau_a) in particular);
2. a candidate y matched to state s (||y - s|| <= tol(tau_a, s)) is shared when every other
   agent j has a stable fixed point z within tol(tau_j, s) of s (the deviation tolerance
   when s is not consistent with tau_j); z is found by damped Newton (fixed_points.py)
   started at y and at s, stable meaning spectral radius < 1 - STABILITY_MARGIN;
3. a candidate matched to no state is shared when every other agent has a stable fixed
   point within the deviation tolerance of it (reported as an unmatched element).

The result names the states whose fixed points all agents share and the unmatched shared points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.dynamics.fixed_points import newton_refine
from decdiff.implementations.dynamics.flows import ConditionedDenoiser
from decdiff.implementations.dynamics.jacobians import spectral_radius
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.supports import compare_supports
from decdiff.properties.common import describe_joint_history, state_set
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    ExaminedHistory,
    analysis_denoiser,
    certified_everywhere,
    deviation_tolerance,
    found_fixed_points,
    joint_agent_histories,
    joint_history_rows,
)
from decdiff.tolerances import FIXED_POINT_RESIDUAL, STABILITY_MARGIN


@dataclass(frozen=True)
class SharedFixedPoints:
    """The intersection for one joint history.

    Attributes:
        row: the joint history's row in ``ctx.joint_histories``.
        states: ``[S]`` bool, states whose fixed points every agent shares.
        unmatched: shared points near no consistent state of the source agent.
        joint_support: ``[S]`` bool, p(s | joint history) > 0.
        true_state: the sampled true state, or -1 (enumerated histories).
        source_agent: the agent whose fixed points were the candidates.
        certified: the certificate holds for every agent's consistent states (sigma below sigma_c).
    """

    row: int
    states: np.ndarray
    unmatched: tuple[tuple[float, ...], ...]
    joint_support: np.ndarray
    true_state: int
    source_agent: int
    certified: bool


def _confirmed(ctx: CheckContext, other: ExaminedHistory, seeds: np.ndarray, targets: np.ndarray,
               radius: np.ndarray) -> np.ndarray:
    """``[C]``: agent `other` has a stable fixed point within ``radius[c]`` of ``targets[c]``.

    Newton starts from both rows of ``seeds [2, C, d]``; either may find it.
    """
    f = ConditionedDenoiser(analysis_denoiser(ctx), other.history)
    count = seeds.shape[1]
    with intra_op_threads():
        z, residual = newton_refine(f, torch.from_numpy(seeds.reshape(2 * count, -1)), ctx.sigma)
        stable = spectral_radius(f.jacobian(z, ctx.sigma)) < 1.0 - STABILITY_MARGIN
    close = (z - torch.from_numpy(np.tile(targets, (2, 1)))).norm(dim=1) <= torch.from_numpy(np.tile(radius, 2))
    ok = (residual <= FIXED_POINT_RESIDUAL) & stable & close
    return ok.reshape(2, count).any(dim=0).numpy()


def shared_fixed_points(ctx: CheckContext, row: int) -> SharedFixedPoints:
    """The intersection of the module docstring for joint history ``row`` (cached)."""
    key = ("shared_fixed_points", int(row))
    if key in ctx.shared:
        return ctx.shared[key]
    model = ctx.model
    states = np.ascontiguousarray(model.states, dtype=np.float64)
    agents = joint_agent_histories(ctx, row)
    source = int(np.argmin([len(e.consistent) for e in agents]))
    candidates = np.array([p.point for p in found_fixed_points(ctx, agents[source]).stable()])
    candidates = candidates.reshape(-1, states.shape[1])
    nearest, _, ratio = agents[source].match(states, candidates)
    matched = ratio <= 1.0
    state_of = np.where(matched, agents[source].consistent[nearest] if len(nearest) else nearest, -1)
    targets = np.where(matched[:, None], states[np.maximum(state_of, 0)], candidates)
    shared = np.ones(candidates.shape[0], dtype=bool)
    slack = deviation_tolerance(ctx)
    for j, other in enumerate(agents):
        if j == source or not shared.any():
            continue
        tol = np.full(candidates.shape[0], slack)
        position = {int(s): k for k, s in enumerate(other.consistent)}
        for c in np.flatnonzero(matched):
            if int(state_of[c]) in position:
                tol[c] = other.tolerance[position[int(state_of[c])]]
        rows = np.flatnonzero(shared)
        seeds = np.stack([candidates[rows], targets[rows]])
        shared[rows] = _confirmed(ctx, other, seeds, targets[rows], tol[rows])
    in_intersection = np.zeros(model.n_states, dtype=bool)
    in_intersection[state_of[shared & matched]] = True
    joint = ctx.joint_histories
    support = compare_supports(model, joint.actions[row:row + 1], joint.observations[row:row + 1], ctx.policy).joint[0]
    result = SharedFixedPoints(int(row), in_intersection, tuple(tuple(p) for p in candidates[shared & ~matched]),
                               support, int(joint.true_states[row]), source, certified_everywhere(agents))
    ctx.shared[key] = result
    return result


def all_shared_fixed_points(ctx: CheckContext) -> list[SharedFixedPoints]:
    """`shared_fixed_points` for every joint history of `joint_history_rows`."""
    return [shared_fixed_points(ctx, int(row)) for row in joint_history_rows(ctx)]


def describe_intersection(ctx: CheckContext, shared: SharedFixedPoints) -> dict:
    """One joint history with the shared fixed points as states, the joint support and the true state."""
    joint = ctx.joint_histories
    record = describe_joint_history(ctx.model, joint.actions[shared.row], joint.observations[shared.row])
    record["intersection"] = state_set(ctx.model, shared.states)
    record["unmatched_shared_points"] = [list(p) for p in shared.unmatched]
    record["joint_support"] = state_set(ctx.model, shared.joint_support)
    record["source_agent"] = shared.source_agent
    if shared.true_state >= 0:
        record["true_state"] = ctx.model.state_names[shared.true_state]
    return record
