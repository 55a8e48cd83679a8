"""Denoising flows, batched over many starting points (float64, torch).

* Fixed-sigma iteration (Eq. 7, Definition 2): y^{(l+1)} = f(tau_i, y^{(l)}; sigma), for L steps
  or until ||y^{(l+1)} - y^{(l)}|| < tol.
* Annealed variance-exploding schedules sigma_0 > ... > sigma_N (geometric, as sigma(t) = c e^t
  of Eq. 4 sampled at equally spaced t):
  - the paper's Eq. 6 "jump" y <- f(tau, y; sigma_k) at every level;
  - the probability-flow ODE (Eq. 5) in sigma, dy/dsigma = (y - f(tau, y; sigma)) / sigma, with
    Euler steps y <- y + (1 - sigma_{k+1}/sigma_k)(f - y) (the DDIM step of docs/claims.md#posterior-recovery) or
    Heun's second-order correction.
* Composite flows (Definition 6): step l applies ONE agent's denoiser, agent
  i_{((l-1) mod n)+1} of the order [i_1, ..., i_n]; a partial composite flow is the same over a
  subset of the agents (Section 5.2).
* The Step-2 checks of the composite algorithm (docs/claims.md#composite-diffusion): (1) the spectral radius of the
  Jacobian applied to each of the last n iterates is < 1; (2) each participating agent's own
  fixed-sigma flow moves the last iterate by less than a bound. Acceptance rates come with a
  Wilson interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import torch
from scipy.stats import norm

from decdiff.implementations.denoisers.exact import (
    ExactDenoiser,
    mixture_jacobian,
    mixture_mean,
    mixture_weights,
)
from decdiff.implementations.denoisers.protocol import Denoiser, as_sigma
from decdiff.implementations.dynamics.jacobians import (
    autograd_jacobian,
    spectral_radius,
)
from decdiff.implementations.dynamics.second_moments import cheapest_sparse_table, dense_outer_products
from decdiff.implementations.histories import HistoryBatch

#: A denoiser conditioned on one history: (y [B, d], sigma [B]) -> [B, d].
NoisyMap = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class MixtureMap:
    """f*(y; sigma) = E_w[s] for explicit states ``[K, d]`` and weights ``[K]`` (docs/claims.md#exact-denoiser).

    The exact denoiser conditioned on one history is this map over the history's
    consistent states; tests use it directly for the paper's 1-D examples. Its Jacobian
    is symmetric (``symmetric``), so eigenvalues come from ``eigvalsh``.
    """

    symmetric = True

    def __init__(self, states: torch.Tensor, weights: torch.Tensor,
                 frame: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        """`frame`: ``(S [K, D], Q [D, d])`` when ``states`` are the coordinates Q^T s_k of states s_k of R^D
        in an orthonormal basis Q (the reduced coordinates of `reduced`, Q^T c = 0); the Jacobian may then
        sum the second moments over the nonzero entries of sparse s_k and project them (`jacobian`)."""
        support = weights > 0
        self.states = states.to(torch.float64)[support]
        self.log_weights = torch.log(weights.to(torch.float64)[support])
        self._outer = dense_outer_products(self.states)
        self._frame = None if frame is None else (frame[0].to(torch.float64)[support], frame[1].to(torch.float64))

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        return mixture_mean(self.log_weights, self.states, y, as_sigma(sigma, y.shape[0]))

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """``[B, d, d]``: Cov_w[s] / sigma^2 = (sum_k w_k s_k s_k^T - f* f*^T) / sigma^2.

        The second moments are one product with a table of outer products (`second_moments`):
        dense ``[K, d^2]`` (5x faster than the centred sum of `mixture_jacobian` at B = 500,
        K = 210, d = 25), else sparse, of the states or of the frame's states S projected,
        Cov_w[Q^T s] = Q^T Cov_w[s] Q (orthogonal: no larger in the spectral norm); the subtraction
        costs an absolute error of a few ulps of max_k ||s_k||^2 / sigma^2 (1e-15 at sigma =
        0.3). Without a table, the centred `mixture_jacobian`. Two targets on the 8x8 grid
        (K = 1770 states of R^64 with two ones, a hull of 59 dimensions): 4 sparse products
        per state and a projection instead of 59^2 products per state.
        """
        sigma = as_sigma(sigma, y.shape[0])
        if self._outer is None and self._sparse is None:
            return mixture_jacobian(self.log_weights, self.states, y, sigma)
        w = mixture_weights(self.log_weights, self.states, y, sigma)
        if self._outer is not None:
            states, second = self.states, w @ self._outer
        else:
            states, table = self._sparse
            second = torch.sparse.mm(table, w.T.contiguous()).T
        mean = w @ states
        cov = second.reshape(-1, mean.shape[1], mean.shape[1]) - mean[:, :, None] * mean[:, None, :]
        if states is not self.states:
            basis = self._frame[1]
            cov = basis.T @ cov @ basis
        return cov / (sigma * sigma)[:, None, None]

    @cached_property
    def _sparse(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(states, their sparse outer-product table) where no dense table fits, built at the first Jacobian."""
        if self._outer is not None:
            return None
        return cheapest_sparse_table(self.states, None if self._frame is None else self._frame[0])


class ConditionedDenoiser:
    """y, sigma -> f(tau, y; sigma) for ONE history tau, and its Jacobian (Eq. 9).

    For the exact denoiser the posterior of tau is computed once and the call goes to a
    `MixtureMap` over its support; any other denoiser is called with tau repeated to the
    batch size (one repeated batch kept per size) and differentiated by ``vmap(jacrev)``.
    """

    def __init__(self, denoiser: Denoiser, history: HistoryBatch) -> None:
        if len(history) != 1:
            raise ValueError(f"a conditioned denoiser takes one history, got {len(history)}")
        self.denoiser = denoiser
        self.history = history
        self._repeated: dict[int, HistoryBatch] = {}
        self.mixture = MixtureMap(denoiser.states, denoiser.posteriors(history)[0]) \
            if isinstance(denoiser, ExactDenoiser) else None
        self.symmetric = self.mixture is not None

    def _batch(self, size: int) -> HistoryBatch:
        if size not in self._repeated:
            self._repeated[size] = self.history.repeat_interleave(size)
        return self._repeated[size]

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        if self.mixture is not None:
            return self.mixture(y, sigma)
        if y.shape[0] == 0:                  # a user's denoiser need not accept an empty batch
            return y.to(torch.float64).clone()
        sigma = as_sigma(sigma, y.shape[0])
        with torch.no_grad():              # values only: a network's parameters may require grad
            return self.denoiser(self._batch(y.shape[0]), y, sigma).to(torch.float64)

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """``[B, d, d]``: closed form Cov_w[s]/sigma^2 for f*, ``vmap(jacrev)`` otherwise."""
        if self.mixture is not None:
            return self.mixture.jacobian(y, sigma)
        if y.shape[0] == 0:
            return y.new_zeros(0, y.shape[1], y.shape[1], dtype=torch.float64)
        sigma = as_sigma(sigma, y.shape[0])
        return autograd_jacobian(self.denoiser, self.history, y, sigma).to(torch.float64)


def conditioned_all(denoiser: Denoiser, histories: HistoryBatch) -> list[ConditionedDenoiser]:
    """One `ConditionedDenoiser` per row of ``histories``."""
    return [ConditionedDenoiser(denoiser, histories[k]) for k in range(len(histories))]


@dataclass(frozen=True)
class FlowResult:
    """The end of a batched flow.

    Attributes:
        y: ``[N, d]`` last iterates.
        steps: ``[N]`` steps each row took (rows stop once converged).
        converged: ``[N]`` whether ||Delta y|| < tol was reached (all False without a tol).
        path: ``[L + 1, N, d]`` every iterate (converged rows repeat their last), if asked for.
    """

    y: torch.Tensor
    steps: torch.Tensor
    converged: torch.Tensor
    path: torch.Tensor | None = None


def fixed_sigma_flow(f: NoisyMap, y0: torch.Tensor, sigma: float, steps: int, *, tol: float | None = None,
                     return_path: bool = False, taken: torch.Tensor | None = None) -> FlowResult:
    """phi_L(tau, .)(y0) for the fixed-sigma iteration y <- f(y; sigma) (Eq. 7, Definition 2).

    Only rows that have not converged are evaluated; with ``tol`` a row stops at the
    first step with ||y^{(l+1)} - y^{(l)}|| < tol. ``taken`` (``[N]``) continues an earlier
    flow: each row has ``steps`` minus the steps it already took left.
    """
    y = y0.to(torch.float64).clone()
    taken = torch.zeros(y.shape[0], dtype=torch.int64) if taken is None else taken.clone()
    converged = torch.zeros(y.shape[0], dtype=torch.bool)
    path = [y.clone()] if return_path else None
    for _ in range(steps - int(taken.min()) if taken.numel() else steps):
        active = torch.nonzero(~converged & (taken < steps)).flatten()
        if active.numel() == 0:
            if path is not None:
                path.extend([y.clone()] * (steps + 1 - len(path)))
            break
        new = f(y[active], sigma)
        if tol is not None:
            converged[active] = (new - y[active]).norm(dim=1) < tol
        y[active] = new
        taken[active] += 1
        if path is not None:
            path.append(y.clone())
    return FlowResult(y, taken, converged, torch.stack(path) if path is not None else None)


def geometric_schedule(sigma_max: float, sigma_min: float, steps: int) -> torch.Tensor:
    """``[steps + 1]`` levels sigma_k = sigma_max (sigma_min/sigma_max)^{k/steps} (sigma(t) = c e^t, Eq. 4)."""
    return torch.logspace(torch.log10(torch.tensor(sigma_max)).item(), torch.log10(torch.tensor(sigma_min)).item(),
                          steps + 1, dtype=torch.float64)


AnnealedMethod = Literal["jump", "euler", "heun"]


def _ode_step(f: NoisyMap, y: torch.Tensor, sigma: float, sigma_next: float, method: AnnealedMethod) -> torch.Tensor:
    """One step of dy/dsigma = (y - f(y; sigma))/sigma from sigma to sigma_next (Eq. 5)."""
    slope = (y - f(y, sigma)) / sigma
    euler = y + (sigma_next - sigma) * slope
    if method == "euler":
        return euler
    slope_next = (euler - f(euler, sigma_next)) / sigma_next
    return y + (sigma_next - sigma) * 0.5 * (slope + slope_next)


def annealed_flow(f: NoisyMap, y0: torch.Tensor, schedule: torch.Tensor, method: AnnealedMethod, *,
                  return_path: bool = False) -> FlowResult:
    """Run a decreasing noise schedule from ``y0`` (typically y0 ~ p_{sigma_0}).

    ``jump`` applies the paper's Eq. 6, y <- f(tau, y; sigma_k), at every level of the
    schedule (a full Tweedie jump each time); ``euler``/``heun`` integrate the
    probability-flow ODE from sigma_0 down to sigma_N.
    """
    levels = [float(s) for s in schedule]
    y = y0.to(torch.float64).clone()
    path = [y] if return_path else None
    if method == "jump":
        updates = [(s, None) for s in levels]
    else:
        updates = list(zip(levels[:-1], levels[1:]))
    for sigma, sigma_next in updates:
        y = f(y, sigma) if sigma_next is None else _ode_step(f, y, sigma, sigma_next, method)
        if path is not None:
            path.append(y)
    n = torch.full((y.shape[0],), len(updates), dtype=torch.int64)
    return FlowResult(y, n, torch.zeros(y.shape[0], dtype=torch.bool), torch.stack(path) if path is not None else None)


@dataclass(frozen=True)
class CompositeResult:
    """A composite (or partial composite) flow (Definition 6).

    Attributes:
        y: ``[N, d]`` last iterates y^{(L)}.
        path: ``[L + 1, N, d]`` iterates y^{(0)} .. y^{(L)}.
        applied: ``[L]`` row of the joint history applied at steps 1..L.
        order: the order [i_1, ..., i_k] as rows of the joint history.
    """

    y: torch.Tensor
    path: torch.Tensor
    applied: tuple[int, ...]
    order: tuple[int, ...]


def composite_flow(maps: Sequence[NoisyMap], y0: torch.Tensor, sigma: float, steps: int,
                   order: Sequence[int] | None = None) -> CompositeResult:
    """phi_L(tau_{i_1:k}, .)(y0): step l applies maps[i_{((l-1) mod k)+1}] (Definition 6, Section 5.2).

    ``maps`` holds one conditioned denoiser per participating agent (e.g.
    `conditioned_all(denoiser, joint_history)`); ``order`` is a permutation of any subset
    of their indices (all of them, in index order, by default).
    """
    order = tuple(range(len(maps))) if order is None else tuple(int(i) for i in order)
    applied = tuple(order[(ell - 1) % len(order)] for ell in range(1, steps + 1))
    y = y0.to(torch.float64)
    path = [y]
    for agent in applied:
        y = maps[agent](y, sigma)
        path.append(y)
    return CompositeResult(y, torch.stack(path), applied, order)


def proportion_intervals(successes: np.ndarray, trials: int, confidence: float = 0.95) -> np.ndarray:
    """``[..., 2]`` Wilson score intervals for binomial proportions k / n, vectorised over ``successes``.

    With p = k/n and z the two-sided normal quantile: centre (k + z^2/2) / (n + z^2),
    half-width z sqrt(n p (1 - p) + z^2/4) / (n + z^2) (what scipy's ``binomtest(...).proportion_ci(
    method="wilson")`` computes, one call per proportion).
    """
    k = np.asarray(successes, dtype=np.float64)
    if trials == 0:
        return np.stack(np.broadcast_arrays(np.zeros_like(k), np.ones_like(k)), axis=-1)
    z = float(norm.ppf(0.5 + 0.5 * confidence))
    p = k / trials
    denom = trials + z * z
    centre = (k + 0.5 * z * z) / denom
    half = z * np.sqrt(trials * p * (1.0 - p) + 0.25 * z * z) / denom
    return np.stack([np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)], axis=-1)


def proportion_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for one binomial proportion (`proportion_intervals`)."""
    low, high = proportion_intervals(np.asarray(successes), trials, confidence)
    return (float(low), float(high))


@dataclass(frozen=True)
class TerminalMasses:
    """Where the end points of a flow went: the mass of each consistent state (Eq. 8 as atoms).

    Attributes:
        states: ``[K]`` model indices of the consistent states.
        counts: ``[K]`` end points nearest to each; ``masses`` counts / n.
        intervals: ``[K, 2]`` Wilson intervals of the masses at ``confidence``.
        max_distance: the largest distance from an end point to its nearest state (how far
            from converged the flow ended).
    """

    states: np.ndarray
    counts: np.ndarray
    masses: np.ndarray
    intervals: np.ndarray
    confidence: float
    max_distance: float

    def contains(self, posterior: np.ndarray) -> np.ndarray:
        """``[K]``: whether each state's interval contains ``posterior[states]``."""
        p = np.asarray(posterior)[self.states]
        return (self.intervals[:, 0] <= p) & (p <= self.intervals[:, 1])


def terminal_masses(y: torch.Tensor, states: torch.Tensor, posterior: torch.Tensor,
                    confidence: float = 0.95) -> TerminalMasses:
    """Assign each end point ``y [N, d]`` to its nearest consistent state (posterior > 0) and count."""
    consistent = torch.nonzero(posterior > 0).flatten()
    dist = torch.cdist(y.to(torch.float64), states.to(torch.float64)[consistent])
    nearest = dist.argmin(dim=1)
    counts = torch.bincount(nearest, minlength=consistent.numel()).numpy()
    n = y.shape[0]
    return TerminalMasses(consistent.numpy(), counts, counts / n, proportion_intervals(counts, n, confidence),
                          confidence, float(dist.gather(1, nearest[:, None]).max()) if n else 0.0)


@dataclass(frozen=True)
class Step2Result:
    """The Step-2 condition checks of the composite algorithm (docs/claims.md#composite-diffusion) for N sequences.

    Attributes:
        spectral_radii: ``[N, k]`` spectral radius of the Jacobian applied to each of the
            last k iterates y^{(L-k+1)} .. y^{(L)} (the map of the agent whose step takes
            that iterate as input, so their product is the composite Jacobian on the orbit).
        jacobian_ok: ``[N]`` check (1): all of them < 1.
        movement: ``[N, k]`` ||phi_inf(tau_i)(y^{(L)}) - y^{(L)}|| for each participating agent i.
        flow_ok: ``[N]`` check (2): every movement < bound (and the individual flow converged).
        accepted: ``[N]`` both checks pass.
        acceptance_rate: accepted fraction; ``ci`` its Wilson interval.
    """

    spectral_radii: torch.Tensor
    jacobian_ok: torch.Tensor
    movement: torch.Tensor
    flow_ok: torch.Tensor
    accepted: torch.Tensor
    acceptance_rate: float
    ci: tuple[float, float]
    bound: float


def step2_checks(maps: Sequence[ConditionedDenoiser], result: CompositeResult, sigma: float, bound: float, *,
                 flow_steps: int = 500, tol: float = 1e-10) -> Step2Result:
    """Check (1) and (2) of Step 2 on every sequence of a composite flow.

    ``bound`` is the movement allowed in check (2) (the paper's 2 D_phi; docs/claims.md#composite-diffusion
    suggests 2 x the Theorem-6 bound, as D_phi needs the unknown true state).
    """
    k = len(result.order)
    steps = len(result.applied)
    if steps < k:
        raise ValueError(f"the Step-2 checks need at least {k} steps, got {steps}")
    radii = []
    for ell in range(steps - k + 1, steps + 1):            # iterates L-k+1 .. L
        nxt = result.order[ell % k]                           # agent applied to y^{(ell)}
        radii.append(spectral_radius(maps[nxt].jacobian(result.path[ell], sigma)))
    spectral_radii = torch.stack(radii, dim=1)
    last = result.y
    moves, done = [], []
    for agent in result.order:
        flow = fixed_sigma_flow(maps[agent], last, sigma, flow_steps, tol=tol)
        moves.append((flow.y - last).norm(dim=1))
        done.append(flow.converged)
    movement = torch.stack(moves, dim=1)
    jacobian_ok = (spectral_radii < 1.0).all(dim=1)
    flow_ok = ((movement < bound) & torch.stack(done, dim=1)).all(dim=1)
    accepted = jacobian_ok & flow_ok
    n_ok = int(accepted.sum())
    return Step2Result(spectral_radii, jacobian_ok, movement, flow_ok, accepted, n_ok / accepted.numel(),
                       proportion_interval(n_ok, accepted.numel()), bound)
