"""Denoisers that are wrong in ways only a comparison with the exact f* can see (issue 16).

Each wraps the exact denoiser f*(tau, y) = E[s | y, tau] (Eq. 2) of any model, as a user's
``FILE.py:make`` would, and declares no capability. Their fixed points and basins stay
close to (or equal to) those of f*, inside the deviation the fixed-point checks admit
(FIXED_POINT_DEVIATION_FRACTION x the state spacing), so only `reference.agreement`
(properties/reference.py) kills them on every model; the ``wrong-policy`` one is
indistinguishable from f* on a model where actions change nothing (the sensor networks:
actions choose an area to scan and change only the reward), since the posterior does not
depend on the policy there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser, mixture_weights
from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import StationaryPolicy

#: The softmax of the posterior weights is taken at this multiple of sigma (and only there).
SOFTMAX_SIGMA_FACTOR = 1.1
#: Shrinkage towards the prior mean: (1 - SHRINKAGE) f* + SHRINKAGE E_{p_0}[s].
SHRINKAGE = 0.05
#: Beyond this norm of y the output is y itself (spectral radius exactly 1 there, which Theorem 2
#: does not judge); below it, f*.
IDENTITY_BEYOND = 1.8
#: The wrong behaviour policy of the other agents: their first action with this probability, the
#: rest spread uniformly (the reference assumes the uniform policy).
WRONG_POLICY_FIRST_ACTION = 0.9

ReferenceTransform = Callable[["ReferenceMutant", HistoryBatch, torch.Tensor, torch.Tensor], torch.Tensor]


class ReferenceMutant:
    """f* of `model` changed by `transform` (one deliberate defect); noise-conditional, no capabilities."""

    sigma: float | None = None

    def __init__(self, model: DecPOMDP, transform: ReferenceTransform, name: str) -> None:
        self.model = model
        self.exact = ExactDenoiser(model)
        self.transform = transform
        self.name = name
        self.states = self.exact.states
        self.prior_mean = torch.from_numpy(model.initial @ np.asarray(model.states, dtype=np.float64))

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.transform(self, histories, y.to(torch.float64), as_sigma(sigma, y.shape[0]))


def softmax_sigma(mutant: ReferenceMutant, histories, y, sigma):
    """Posterior weights computed at SOFTMAX_SIGMA_FACTOR x sigma inside the softmax only."""
    return mutant.exact(histories, y, sigma * SOFTMAX_SIGMA_FACTOR)


def prior_shrinkage(mutant: ReferenceMutant, histories, y, sigma):
    """(1 - SHRINKAGE) f* + SHRINKAGE E_{p_0}[s]: every fixed point moves towards the prior mean."""
    return (1.0 - SHRINKAGE) * mutant.exact(histories, y, sigma) + SHRINKAGE * mutant.prior_mean


def map_state(mutant: ReferenceMutant, histories, y, sigma):
    """The MAP state argmax_s p(s | y, tau) instead of the posterior mean (same fixed points and basins)."""
    prepared = mutant.exact.prepare(histories)
    weights = mixture_weights(prepared.log_weights(), mutant.states[prepared.support], y, sigma)
    return mutant.states[prepared.support][weights.argmax(dim=1)]


def identity_far(mutant: ReferenceMutant, histories, y, sigma):
    """f* where ||y|| <= IDENTITY_BEYOND, y itself beyond (a plateau of neutral fixed points)."""
    far = (y.norm(dim=1, keepdim=True) > IDENTITY_BEYOND).to(y.dtype)
    return far * y + (1.0 - far) * mutant.exact(histories, y, sigma)


def wrong_policy(model: DecPOMDP) -> StationaryPolicy:
    """Every agent plays its first action with probability WRONG_POLICY_FIRST_ACTION (uniform otherwise)."""
    def skewed(k: int) -> np.ndarray:
        if k == 1:
            return np.ones(1)
        return np.r_[WRONG_POLICY_FIRST_ACTION, np.full(k - 1, (1.0 - WRONG_POLICY_FIRST_ACTION) / (k - 1))]

    return StationaryPolicy(tuple(skewed(k) for k in model.action_sizes))


class WrongPolicyDenoiser(ReferenceMutant):
    """f* computed with the posterior under `wrong_policy` for the other agents' behaviour."""

    def __init__(self, model: DecPOMDP) -> None:
        super().__init__(model, lambda mutant, histories, y, sigma: mutant.exact(histories, y, sigma),
                         "wrong-policy")
        self.exact = ExactDenoiser(model, wrong_policy(model))


#: name -> (defect, builder from a model): the mutants of this module.
REFERENCE_MUTANTS: dict[str, tuple[str, Callable[[DecPOMDP], ReferenceMutant]]] = {
    "softmax-sigma-1.1": (" ".join(softmax_sigma.__doc__.split()),
                          lambda model: ReferenceMutant(model, softmax_sigma, "softmax-sigma-1.1")),
    "prior-shrinkage": (" ".join(prior_shrinkage.__doc__.split()),
                        lambda model: ReferenceMutant(model, prior_shrinkage, "prior-shrinkage")),
    "map-state": (" ".join(map_state.__doc__.split()), lambda model: ReferenceMutant(model, map_state, "map-state")),
    "identity-far": (" ".join(identity_far.__doc__.split()),
                     lambda model: ReferenceMutant(model, identity_far, "identity-far")),
    "wrong-policy": (" ".join(WrongPolicyDenoiser.__doc__.split()), WrongPolicyDenoiser),
}


def unseen_reason(name: str, model: DecPOMDP) -> str | None:
    """Why mutant `name` is indistinguishable from f* on `model` (None when it is not)."""
    if name == "wrong-policy" and not model.uses_joint_action:
        return (f"{model.name}: neither transitions nor observations depend on actions, so the posterior "
                "p(s | tau) is the same under every behaviour policy")
    return None
