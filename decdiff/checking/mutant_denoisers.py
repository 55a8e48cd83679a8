"""The denoiser mutants: `SmoothExactDenoiser` (the exact f* as a smooth function of the float history
features, a base every check can run on), `FeatureMutant` with its deliberate defects (transforms of the
features, y and sigma), and the other bases (`narrow_mlp`, `BASES`).

What each defect breaks is in its docstring; the kill table is `decdiff.checking.mutation`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import numpy as np
import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.histories import HistoryBatch, HistoryEncoding
from decdiff.implementations.models.decpomdp import DecPOMDP

#: Log-likelihood given to observations a state cannot produce, in place of log 0 = -inf, so
#: that `SmoothExactDenoiser` is smooth in the history features. An excluded state s' then
#: weighs exp(-FLOOR + (||y - s||^2 - ||y - s'||^2) / (2 sigma^2)) relative to a consistent s; for
#: y within r = 1 of s and one-hot states (||s - s'|| = sqrt(2)) the bracket is at most
#: 2 sqrt(2) r - 2 = 0.83, so at sigma >= 0.1 the weight is below exp(-100 + 41) ~ 1e-26. A larger
#: floor would steepen the logits in tau: Theorem 5's perturbations of size h <= 1e-2 move them
#: by up to FLOOR * h = 1, still in the Taylor regime that check measures.
LOG_LIKELIHOOD_FLOOR = 100.0


class SmoothExactDenoiser:
    """f*(tau, y) = E[s | y, tau] (Eq. 2) as a smooth function of the history features tau.

    For a history of one observation at t = 0 (models with an initial observation, H = 1),
    p(s | tau_i) is proportional to p_0(s) O_i(o | s). With the features tau = [a | x] (one-hot
    agent a, one-hot observation x) this is softmax_s(log p_0(s) + a^T L_s x), L_s[i, o] =
    max(log O_i(o | s), -LOG_LIKELIHOOD_FLOOR), which equals f*'s weights on one-hot features
    (up to the floor) and extends them smoothly (bilinear logits) to all real tau:

        f(tau, y) = sum_s softmax_s(log p_0(s) + a^T L_s x + (y . s - ||s||^2 / 2) / sigma^2) s.

    It stands in for a perfectly trained, noise-conditional network: `capabilities` are those
    of `MLPDenoiser`, so the trained-denoiser checks run on it.
    """

    sigma: float | None = None
    capabilities = frozenset({"trained", "continuous_history", "differentiable"})
    smooth = True
    dtype = torch.float64

    def __init__(self, model: DecPOMDP, history_length: int = 1) -> None:
        if history_length != 1 or model.initial_observation is None:
            raise InputError("the smooth exact denoiser needs history length 1 and an observation at t = 0",
                             source=model.name, field="history_length")
        self.encoding = HistoryEncoding.for_model(model, history_length)
        n, width = model.n_agents, self.encoding.max_observations
        log_likelihood = np.full((model.n_states, n, width), -LOG_LIKELIHOOD_FLOOR)
        for i in range(n):
            table, _ = model.initial_observation.agent_marginal(i)           # [1, S, |Omega_i|]
            with np.errstate(divide="ignore"):
                log_likelihood[:, i, :table.shape[2]] = np.maximum(np.log(table[0]), -LOG_LIKELIHOOD_FLOOR)
        self.log_likelihood = torch.from_numpy(log_likelihood)                # [S, n, |Omega|]
        with np.errstate(divide="ignore"):
            self.log_prior = torch.from_numpy(np.log(model.initial))
        self.states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
        self.n_agents = n

    def features_of(self, histories: HistoryBatch) -> torch.Tensor:
        if histories.encoding != self.encoding:
            raise InputError(f"history encoding {histories.encoding} is not {self.encoding}", field="encoding")
        return histories.features

    def history_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, S]``: log p_0(s) + a^T L_s x."""
        agent, observation = features[:, :self.n_agents], features[:, self.n_agents:]
        observation = observation[:, :self.log_likelihood.shape[2]]
        return self.log_prior + torch.einsum("bi,sio,bo->bs", agent, self.log_likelihood, observation)

    def forward_features(self, features: torch.Tensor, y: torch.Tensor,
                         sigma: float | torch.Tensor | None = None) -> torch.Tensor:
        sigma = as_sigma(sigma, y.shape[0])
        inv_var = 1.0 / sigma[:, None] ** 2
        logits = self.history_logits(features.to(torch.float64)) + (
            y.to(torch.float64) @ self.states.T - 0.5 * (self.states ** 2).sum(dim=1)) * inv_var
        return torch.softmax(logits, dim=1) @ self.states

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.features_of(histories), y, sigma)


Transform = Callable[["FeatureMutant", torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class FeatureMutant:
    """A denoiser with a continuous history input, changed by `transform` (one deliberate defect).

    ``transform(self, features, y, sigma)`` returns the mutant's output and may call
    ``self.base.forward_features``. The mutant keeps the base's declared attributes
    (capabilities, sigma, smoothness, first layer): a defect the declarations hide is what
    the checks must find.
    """

    def __init__(self, base, transform: Transform, name: str, constants: object = None) -> None:
        self.base = base
        self.transform = transform
        self.name = name
        self.constants = constants
        self.sigma = base.sigma
        self.capabilities = frozenset(getattr(base, "capabilities", ()))
        self.smooth = bool(getattr(base, "smooth", True))
        if hasattr(base, "first_layer"):
            self.first_layer = base.first_layer

    @property
    def dtype(self) -> torch.dtype:
        return self.base.dtype

    def as_dtype(self, dtype: torch.dtype) -> FeatureMutant:
        as_dtype = getattr(self.base, "as_dtype", None)
        return self if as_dtype is None else FeatureMutant(as_dtype(dtype), self.transform, self.name, self.constants)

    def parameters(self):
        parameters = getattr(self.base, "parameters", None)
        return iter(()) if parameters is None else parameters()

    def features_of(self, histories: HistoryBatch) -> torch.Tensor:
        return self.base.features_of(histories)

    def forward_features(self, features: torch.Tensor, y: torch.Tensor,
                         sigma: float | torch.Tensor | None = None) -> torch.Tensor:
        sigma = as_sigma(sigma, y.shape[0], self.dtype)
        return self.transform(self, features.to(self.dtype), y.to(self.dtype), sigma)

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.forward_features(self.features_of(histories), y, sigma).to(torch.float64)


# ----- the defects ----------------------------------------------------------------------------------
#: Size of the constant shift (per coordinate): 0.1 * sqrt(d) is a visible fraction of the distance
#: sqrt(2) between one-hot states, far above the deviations of f* at sigma <= 0.3 (~2e-5).
SHIFT = 0.1
#: The wrong-sigma mutant evaluates its base at this multiple of the requested sigma: 4 x 0.2 = 0.8
#: exceeds the critical sigma d / 2 = 0.707 of two equally likely one-hot states (docs/claims.md#critical-sigma).
WRONG_SIGMA_FACTOR = 4.0
#: Amplitude of the slight perturbation delta * tanh(A tau + B y + c): 2% of a unit coordinate.
PERTURBATION = 0.02
#: The collinear-bias mutant's offsets: n - 1 agents at SHIFT + k * COLLINEAR_STEP, one at COLLINEAR_FAR
#: (docs/claims.md#theorem-8's example). The step is far above COMPOSITE_DISTANCE = 1e-7, so the offsets stay
#: distinct fixed points, and far below COLLINEAR_FAR, so their hull is a long thin segment.
COLLINEAR_STEP = 1e-4
COLLINEAR_FAR = 1.0
#: Width of the smooth gate around the rare history's features (distinct one-hot feature
#: vectors are >= sqrt(2) apart, so the gate is exp(-2 / (2 * 0.1^2)) = e^-100 at any other history).
RARE_GATE_WIDTH = 0.1


def _agents(mutant: FeatureMutant) -> int:
    return mutant.base.encoding.n_agents


def _agent_mask(mutant: FeatureMutant, features: torch.Tensor) -> torch.Tensor:
    """``[F]``: 1 on the agent one-hot block of the features, 0 on the history slots."""
    mask = torch.zeros(features.shape[-1], dtype=features.dtype)
    mask[:_agents(mutant)] = 1.0
    return mask


def ignores_history(mutant, features, y, sigma):
    """The history slots are zeroed: only the agent id reaches the base (for f*: the prior, not the posterior)."""
    return mutant.base.forward_features(features * _agent_mask(mutant, features), y, sigma)


def ignores_agent_id(mutant, features, y, sigma):
    """The agent one-hot is replaced by 1/n for every agent: a shared network without agent identity (§6.7)."""
    id_mask = _agent_mask(mutant, features)
    pooled = features * (1.0 - id_mask) + id_mask / _agents(mutant)
    return mutant.base.forward_features(pooled, y, sigma)


def shifted(mutant, features, y, sigma):
    """f + SHIFT in every coordinate."""
    return mutant.base.forward_features(features, y, sigma) + SHIFT


def wrong_sigma(mutant, features, y, sigma):
    """The base evaluated at WRONG_SIGMA_FACTOR x sigma (a denoiser trained at the wrong noise level)."""
    return mutant.base.forward_features(features, y, sigma * WRONG_SIGMA_FACTOR)


def identity(mutant, features, y, sigma):
    """f(tau, y) = y: every point is a fixed point, with Jacobian I."""
    return y.clone()


class MutantConstants:
    """Model-dependent pieces of some defects, computed once per mutant (the random ones seeded)."""

    def __init__(self, model: DecPOMDP, feature_dim: int, seed: int) -> None:
        states = np.asarray(model.states, dtype=np.float64)
        self.model = model
        self.prior_mean = torch.from_numpy(model.initial @ states)
        generator = torch.Generator().manual_seed(seed)
        d = states.shape[1]
        self.a = torch.randn(d, feature_dim, generator=generator, dtype=torch.float64) / math.sqrt(feature_dim)
        self.b = torch.randn(d, d, generator=generator, dtype=torch.float64) / math.sqrt(d)
        self.c = torch.randn(d, generator=generator, dtype=torch.float64)

    @cached_property
    def rare(self) -> torch.Tensor:
        return torch.from_numpy(rare_history_features(self.model))


def rare_history_features(model: DecPOMDP) -> np.ndarray:
    """Features of the least probable reachable one-observation history (ties: the last agent and
    observation), p(o_i = o) = sum_s p_0(s) O_i(o | s)."""
    encoding = HistoryEncoding.for_model(model, 1)
    best, where = np.inf, None
    for i in range(model.n_agents):
        table, _ = model.initial_observation.agent_marginal(i)
        p = model.initial @ table[0]
        for o in np.flatnonzero(p > 0):
            if p[o] <= best:
                best, where = p[o], (i, int(o))
    features = encoding.encode(np.array([where[0]]), np.zeros((1, 0), dtype=np.int64), np.array([[where[1]]]),
                               np.array([1]), initial_observation=True)
    return features[0]


def prior_mean(mutant, features, y, sigma):
    """f = E_{p_0}[s] whatever the history and y: one fixed point, the prior mean."""
    return mutant.constants.prior_mean.to(y.dtype) + torch.zeros_like(y)      # y's batch shape, also under vmap


def perturbed(mutant, features, y, sigma):
    """f + PERTURBATION * tanh(A tau + B y + c) with seeded Gaussian A, B, c."""
    k = mutant.constants
    bump = torch.tanh(features @ k.a.T.to(y.dtype) + y @ k.b.T.to(y.dtype) + k.c.to(y.dtype))
    return mutant.base.forward_features(features, y, sigma) + PERTURBATION * bump


def rare_histories_wrong(mutant, features, y, sigma):
    """Exact except at the least probable history, where the history is ignored (smoothly gated)."""
    gate = torch.exp(-((features - mutant.constants.rare.to(features.dtype)) ** 2).sum(dim=1)
                     / (2 * RARE_GATE_WIDTH ** 2))[:, None]
    exact = mutant.base.forward_features(features, y, sigma)
    return exact + gate * (ignores_history(mutant, features, y, sigma) - exact)


def _agent_bias(mutant, features: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """b(tau), b_k = (sum_{i >= k} a_i)^2 over the agent one-hot a (zero beyond min(n, d))."""
    agent = features[:, :_agents(mutant)]
    tail = torch.flip(torch.cumsum(torch.flip(agent, dims=[1]), dim=1), dims=[1])    # sum_{i >= k} a_i
    m = min(agent.shape[1], y.shape[1])
    return torch.cat([tail[:, :m] ** 2, torch.zeros_like(y[:, m:])], dim=1)


def rank_growing_bias(mutant, features, y, sigma):
    """f + SHIFT * b(tau), b_k = (sum_{i >= k} a_i)^2 over the agent one-hot a: agent i gets min(i + 1, d)
    active terms, so both rank J_+ and the deviation grow with i (inverts Finding 3's correlation)."""
    return mutant.base.forward_features(features, y, sigma) + SHIFT * _agent_bias(mutant, features, y)


def detached_history(mutant, features, y, sigma):
    """As rank-growing-bias, but the bias's derivative in tau is cut (a stop-gradient on the history)."""
    return mutant.base.forward_features(features, y, sigma) + SHIFT * _agent_bias(mutant, features.detach(), y)


def collinear_bias(mutant, features, y, sigma):
    """f + t_i e_1 for agent i, t = (0.1, 0.1001, 0.1002, ..., 1.0): the agents' fixed points near a state
    are collinear, so their hull is no simplex (Theorem 8's Jensen step fails, docs/claims.md#theorem-8)."""
    n = _agents(mutant)
    t = torch.tensor([SHIFT + COLLINEAR_STEP * i for i in range(n - 1)] + [COLLINEAR_FAR], dtype=features.dtype)
    direction = torch.zeros(y.shape[1], dtype=y.dtype)
    direction[0] = 1.0
    return mutant.base.forward_features(features, y, sigma) + (features[:, :n] @ t)[:, None] * direction


def narrow_mlp(model: DecPOMDP, sigma: float, seed: int):
    """A briefly trained `MLPDenoiser` of first-layer width |s| (Corollary 5.1's formula is exact)."""
    from decdiff.implementations.training import TrainingConfig, train_denoiser

    key = (model.name, float(sigma), seed)
    if key not in _NARROW:
        config = TrainingConfig(history_length=1, sigma=sigma, samples=200, epochs=3, width=model.state_dim,
                                depth=2, seed=seed, threads=1)
        _NARROW[key] = train_denoiser(model, config)[0]
    return _NARROW[key]


_NARROW: dict[tuple, object] = {}

BASES: dict[str, Callable[[DecPOMDP, float, int], object]] = {
    "exact": lambda model, sigma, seed: ExactDenoiser(model),
    "smooth-exact": lambda model, sigma, seed: SmoothExactDenoiser(model),
    "narrow-mlp": narrow_mlp,
}
