"""Proof that every check can fail: deliberately broken denoisers and models, and the kill table.

Mutation testing of the checks (issue 8). Each **mutant** is a subject (model, denoiser)
with one deliberate defect, built from a **base** subject that the checks accept:

* ``smooth-exact``: `SmoothExactDenoiser`, the exact f* (Eq. 2) written as a smooth function
  of the float history features, so that it has a continuous history input and declares the
  capabilities of a (perfectly) trained network; every check can run on it and its mutants;
* ``narrow-mlp``: a briefly trained `MLPDenoiser` whose first layer is no wider than |s|, the
  case where Corollary 5.1's formula is exact;
* ``exact``: the `ExactDenoiser` of a model; model mutants change the model and keep f*.

A check is **killed** by a mutant when it fails on the mutant (a result ``violated``, or a
conclusion evaluated false) and does not fail on the mutant's base: the failure is the
defect's doing. `mutation_table` runs every registered check (`decdiff.registry.all_checks`)
on every base and mutant and returns the mutants x checks table and the kill rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import HistoryBatch, HistoryEncoding
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.properties.context import Budget, CheckContext
from decdiff.registry import all_checks, run_checks
from decdiff.results import CheckResult

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
#: exceeds the critical sigma d / 2 = 0.707 of two equally likely one-hot states (PAPER.md §6.2).
WRONG_SIGMA_FACTOR = 4.0
#: Amplitude of the slight perturbation delta * tanh(A tau + B y + c): 2% of a unit coordinate.
PERTURBATION = 0.02
#: The collinear-bias mutant's offsets: n - 1 agents at SHIFT + k * COLLINEAR_STEP, one at COLLINEAR_FAR
#: (PAPER.md §6.13's example). The step is far above COMPOSITE_DISTANCE = 1e-7, so the offsets stay
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


class _Constants:
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
    are collinear, so their hull is no simplex (Theorem 8's Jensen step fails, PAPER.md §6.13)."""
    n = _agents(mutant)
    t = torch.tensor([SHIFT + COLLINEAR_STEP * i for i in range(n - 1)] + [COLLINEAR_FAR], dtype=features.dtype)
    direction = torch.zeros(y.shape[1], dtype=y.dtype)
    direction[0] = 1.0
    return mutant.base.forward_features(features, y, sigma) + (features[:, :n] @ t)[:, None] * direction


# ----- model mutants --------------------------------------------------------------------------------
def correlated_observations(model: DecPOMDP) -> DecPOMDP:
    """`model` with every agent's reading shifted by one shared uniform offset r: o_i' = (o_i + r) mod K.

    Each agent's reading alone is then uniform noise (its marginal is 1/K whatever the
    state), while the joint reading keeps every difference o_i - o_j: observations are
    correlated across agents, the assumption (C1) of Theorems 3 and 4 fails (PAPER.md §6.6).
    Needs all agents to share one observation alphabet size K.
    """
    from dataclasses import replace

    from decdiff.implementations.models.decpomdp import JointObservation, JointSpace

    sizes = set(model.observation_sizes)
    if len(sizes) != 1:
        raise InputError("needs one observation alphabet size for all agents", source=model.name,
                         field="observations")
    if _depends_on_action(model):
        raise InputError("needs action-independent observations", source=model.name, field="observations")
    k = sizes.pop()
    space = JointSpace(model.observation_sizes)
    every = space.all_elements()                                            # [JO, n]

    def shared_offset(observation):
        table = np.stack([observation.likelihood(None, every, model.action_space)])   # [1, JO, S]
        table = np.moveaxis(table, 1, 2)                                              # [1, S, JO]
        shifted = sum(table[:, :, space.ravel((every - r) % k)] for r in range(k)) / k
        return JointObservation(table=shifted, space=space)

    return replace(model, name=f"{model.name}+correlated-observations",
                   observation=shared_offset(model.observation),
                   initial_observation=None if model.initial_observation is None
                   else shared_offset(model.initial_observation))


def _depends_on_action(model: DecPOMDP) -> bool:
    return any(model.observation.agent_marginal(i)[1] != "none" for i in range(model.n_agents))


# ----- bases, mutants and the table -----------------------------------------------------------------
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


@dataclass(frozen=True)
class Mutant:
    """One deliberate defect: a name, what is broken, the base it is applied to, and how to build it.

    ``make(model, base_denoiser, seed)`` returns the mutant's (model, denoiser).
    """

    name: str
    defect: str
    base: str
    make: Callable[[DecPOMDP, object, int], tuple[DecPOMDP, object]]


def _feature(name: str, transform: Transform, base: str = "smooth-exact") -> Mutant:
    def make(model: DecPOMDP, denoiser, seed: int):
        constants = _Constants(model, denoiser.encoding.dim, seed)
        return model, FeatureMutant(denoiser, transform, name, constants)

    return Mutant(name, " ".join((transform.__doc__ or "").split()), base, make)


def _model(name: str, mutate: Callable[[DecPOMDP], DecPOMDP]) -> Mutant:
    def make(model: DecPOMDP, denoiser, seed: int):
        mutated = mutate(model)
        return mutated, BASES["exact"](mutated, 0.0, seed)

    return Mutant(name, " ".join((mutate.__doc__ or "").split("\n\n")[0].split()), "exact", make)


MUTANTS: tuple[Mutant, ...] = (
    _feature("ignores-history", ignores_history),
    _feature("ignores-agent-id", ignores_agent_id),
    _feature("shifted", shifted),
    _feature("wrong-sigma", wrong_sigma),
    _feature("identity", identity),
    _feature("prior-mean", prior_mean),
    _feature("slightly-perturbed", perturbed),
    _feature("rare-histories-wrong", rare_histories_wrong),
    _feature("rank-growing-bias", rank_growing_bias),
    _feature("detached-history", detached_history),
    _feature("collinear-bias", collinear_bias),
    _feature("mlp-ignores-history", ignores_history, base="narrow-mlp"),
    _model("correlated-observations", correlated_observations),
)

#: The work each check may do on each subject of the table: sensor-ring with H = 1 has 4 joint
#: histories, all enumerated; 32 starts and 200 steps settle every flow of f* at sigma = 0.2
#: (its contraction factor near a consistent state is below 1e-4).
MUTATION_BUDGET = Budget(histories=8, starts=32, iterations=200)


def fails(results: list[CheckResult]) -> bool:
    """A check fails on a subject when a result is ``violated`` or its conclusion was evaluated false."""
    return any(r.verdict == "violated" or r.conclusion_holds is False for r in results)


@dataclass(frozen=True)
class Cell:
    """One check on one subject: its verdicts (one per result), whether it fails, or the error it raised."""

    verdicts: tuple[str, ...]
    fails: bool
    error: str | None = None

    @property
    def label(self) -> str:
        if self.error:
            return "error"
        return "/".join(sorted(set(self.verdicts))) + (" (conclusion false)" if self.fails and
                                                       "violated" not in self.verdicts else "")


def run_cell(ctx: CheckContext, check_id: str) -> Cell:
    """Run one check; an exception is recorded (a check that crashes on a subject is a finding, not a kill)."""
    try:
        results = run_checks(ctx, [check_id])
    except Exception as error:  # the table reports crashes per cell instead of stopping at the first
        return Cell((), False, f"{type(error).__name__}: {' '.join(str(error).split())[:200]}")
    return Cell(tuple(r.verdict for r in results), fails(results))


@dataclass(frozen=True)
class MutationTable:
    """Every registered check on every base and mutant, and which mutants kill which checks."""

    subject: dict
    checks: tuple[str, ...]
    mutants: tuple[Mutant, ...]
    bases: dict[str, dict[str, Cell]]
    cells: dict[str, dict[str, Cell]]

    def killed(self, mutant: Mutant, check: str) -> bool:
        """The check fails on the mutant and not on its base."""
        return self.cells[mutant.name][check].fails and not self.bases[mutant.base][check].fails

    def killers(self, check: str) -> list[str]:
        return [m.name for m in self.mutants if self.killed(m, check)]

    @property
    def unkilled(self) -> list[str]:
        return [c for c in self.checks if not self.killers(c)]

    @property
    def kill_rate(self) -> float:
        return 1.0 - len(self.unkilled) / len(self.checks) if self.checks else 0.0

    @property
    def errors(self) -> dict[str, str]:
        """``"subject / check" -> error`` for every cell that raised."""
        rows = {f"base {b}": row for b, row in self.bases.items()} | self.cells
        return {f"{name} / {check}": cell.error for name, row in rows.items() for check, cell in row.items()
                if cell.error}

    def to_json(self) -> dict:
        return {"subject": self.subject, "checks": list(self.checks), "kill_rate": self.kill_rate,
                "unkilled": self.unkilled, "errors": self.errors,
                "killers": {c: self.killers(c) for c in self.checks},
                "bases": {b: {c: cell.label for c, cell in row.items()} for b, row in self.bases.items()},
                "mutants": [{"name": m.name, "base": m.base, "defect": m.defect,
                             "cells": {c: {"verdict": cell.label, "killed": self.killed(m, c)}
                                       for c, cell in self.cells[m.name].items()}} for m in self.mutants]}

    def to_markdown(self) -> str:
        """The mutants x checks table (K: killed; x: fails, but its base fails too; .: not failing; E: error)."""
        def mark(m: Mutant, c: str) -> str:
            cell = self.cells[m.name][c]
            return "E" if cell.error else "K" if self.killed(m, c) else "x" if cell.fails else "."

        lines = ["| mutant | base | " + " | ".join(self.checks) + " |",
                 "|---|---|" + "---|" * len(self.checks)]
        lines += [f"| {m.name} | {m.base} | " + " | ".join(mark(m, c) for c in self.checks) + " |"
                  for m in self.mutants]
        lines.append(f"\nkill rate {self.kill_rate:.0%} ({len(self.checks) - len(self.unkilled)} of "
                     f"{len(self.checks)} checks killed)" + (f"; not killed: {', '.join(self.unkilled)}"
                                                            if self.unkilled else ""))
        return "\n".join(lines)


def mutation_table(model: str = "sensor-ring", *, sigma: float = 0.2, history_length: int = 1, seed: int = 0,
                   budget: Budget = MUTATION_BUDGET, mutants: tuple[Mutant, ...] = MUTANTS,
                   progress: Callable[[str], None] | None = None) -> MutationTable:
    """Run every registered check on every base and mutant of `model` (module docstring)."""
    from decdiff.implementations.models.registry import load_model

    base_model = load_model(model)
    checks = tuple(c.id for c in all_checks())

    def row(name: str, subject_model: DecPOMDP, denoiser) -> dict[str, Cell]:
        if progress is not None:
            progress(name)
        ctx = CheckContext(model=subject_model, denoiser=denoiser, denoiser_label=name, sigma=sigma,
                           history_length=history_length, seed=seed, budget=budget)
        return {c: run_cell(ctx, c) for c in checks}

    with intra_op_threads(1):          # small batches: one thread costs ~5x less CPU on a shared machine
        base_denoisers = {b: BASES[b](base_model, sigma, seed) for b in sorted({m.base for m in mutants})}
        bases = {b: row(f"base {b}", base_model, d) for b, d in base_denoisers.items()}
        cells = {}
        for m in mutants:
            subject_model, denoiser = m.make(base_model, base_denoisers[m.base], seed)
            cells[m.name] = row(m.name, subject_model, denoiser)
    subject = {"model": base_model.name, "sigma": sigma, "history_length": history_length, "seed": seed,
               "budget": {"histories": budget.histories, "starts": budget.starts, "iterations": budget.iterations}}
    return MutationTable(subject, checks, tuple(mutants), bases, cells)
