"""What the checks on a denoiser with continuous history input share: sampled pairs and their fixed points.

Finding 3, Theorem 5, Theorem 6 and Corollary 5.1 examine the fixed points
y*_k = phi_inf(tau_k)(s_k) (Definition 4) of sampled (history, state) pairs (tau_k, s_k),
found from the clean state s_k once per distinct pair (`sampled_fixed_points`, cached per
subject so the checks pay once). Each check is registered with `sampled_pairs_check` (it
needs the history as float features) and starts from `converged_pairs`: the samples and
the distinct pairs whose fixed point converged (residual <= FIXED_POINT_RESIDUAL), with
the assumptions the checks draw from them (`ConvergedPairs.found`, `ConvergedPairs.stable`:
spectral radius of J_y(y*) < 1 - STABILITY_MARGIN at every converged fixed point).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from decdiff.implementations.analysis.jacobian_rank import StateFixedPoints
from decdiff.implementations.analysis.samples import (
    SampledFixedPoints,
    sampled_fixed_points,
)
from decdiff.properties.context import CheckContext
from decdiff.properties.registration import register_check
from decdiff.tolerances import STABILITY_MARGIN


def sampled_pairs_check(check_id: str, claim: str, summary: str):
    """`register_check` for a check on sampled pairs: it runs on denoisers with continuous history input."""
    return register_check(check_id, claim, summary, requires=("continuous_history",))


def fixed_point_samples(ctx: CheckContext) -> SampledFixedPoints:
    """The sampled (history, state) pairs of the subject and their fixed points (shared by the checks)."""
    return sampled_fixed_points(ctx.denoiser, ctx.model, ctx.sigma, ctx.history_length, ctx.budget.histories,
                                seed=ctx.seed, policy=ctx.policy)


@dataclass(frozen=True, eq=False)
class ConvergedPairs:
    """The subject's sampled pairs and which of their U distinct pairs' fixed points converged.

    Attributes:
        samples: `fixed_point_samples` of the subject.
        keep: ``[U']`` the distinct pairs whose fixed point converged, in order.
    """

    samples: SampledFixedPoints
    keep: torch.Tensor

    @property
    def points(self) -> StateFixedPoints:
        """The fixed points of all U distinct pairs."""
        return self.samples.points

    def found(self, at_least: int = 1) -> bool:
        """At least ``at_least`` fixed points converged."""
        return bool(self.keep.numel() >= at_least)

    def stable(self) -> bool:
        """Every converged fixed point is stable: spectral radius of J_y(y*) < 1 - STABILITY_MARGIN."""
        return bool((self.points.spectral_radius[self.keep] < 1.0 - STABILITY_MARGIN).all())


def converged_pairs(ctx: CheckContext) -> ConvergedPairs:
    """The subject's sampled pairs with the distinct pairs whose fixed point converged."""
    samples = fixed_point_samples(ctx)
    return ConvergedPairs(samples, torch.nonzero(samples.points.converged).flatten())


def describe_pair(ctx: CheckContext, samples: SampledFixedPoints, distinct: int) -> dict:
    """One distinct (history, state) pair in words: agent, own actions and observations, state."""
    row = int(samples.unique[distinct])
    h = samples.histories[row]
    model = ctx.model
    agent = int(h.agents[0])
    obs = [model.observation_names[agent][o] for o in h.observations[0].tolist() if o >= 0]
    acts = [model.action_names[agent][a] for a in h.actions[0].tolist() if a >= 0]
    return {"agent": agent, "observations": obs, "actions": acts,
            "state": model.state_names[int(samples.state_index[row])],
            "fixed_point": samples.points.y[distinct].tolist()}
