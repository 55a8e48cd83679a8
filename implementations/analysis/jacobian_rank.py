"""Jacobian rank and fixed-point sensitivity of a denoiser with a continuous history input.

Notation (docs/claims.md#notation): tau in R^|tau| are the float history features,
f(tau, y) the denoiser, J_y = d f / d y (Eq. 9) and J_tau = d f / d tau.

* **J_+** (Eq. 14): at a fixed point y* = f(tau, y*),

      J_+(y* | tau) = (I - J_y(tau, y*))^{-1} J_tau(tau, y*)          in R^{|s| x |tau|};

  its numerical rank counts singular values > tol * sigma_max (docs/claims.md#notation leaves the
  tolerance open: `decdiff.tolerances.JACOBIAN_RANK_RELATIVE`, with the ranks at several
  tolerances reported as its sensitivity).
* **Theorem 5** (Eq. 13): for tau' = tau + dtau the fixed point moves to y*' = y* + dy* with
  dy* ~ J_+ dtau, and the error is O(eps^2) where eps = ||J_y(tau', y*') - J_y(tau, y*)||_F;
  `fixed_point_shift` measures the actual shift (Newton continuation from y*) against the
  prediction at several perturbation sizes, and the log-log slopes of the error.
* **Corollary 5.1**: with an affine first layer W_tau tau + W_y y + b,
  dy* ~ U (I - Lambda)^{-1} Lambda U^{-1} W_y^+ W_tau dtau, where U Lambda U^{-1} = J_y (U^{-1} = U^T
  when J_y is symmetric, as the corollary assumes). Exact iff W_y W_y^+ = I, i.e. first-layer
  width h <= |s| (docs/claims.md#corollary-5-1).
* **Fixed points from states** (Definition 4): y* = phi_inf(tau)(s), the end of the Eq. (7)
  iteration started at the clean state s, refined by Newton; D_phi(tau, s) = s - y* (Eq. 12).
* **Spearman correlation** between rank and ||D_phi|| (Fig. 2(g)) with a Fisher-z interval
  (standard error sqrt(1.06 / (n - 3)), Fieller et al. 1957) or a percentile bootstrap.

Derivatives use ``torch.func.vmap(torch.func.jacrev(...))`` on the denoiser's
``forward_features(features, y, sigma)``, batched over rows. Fixed points reuse the flow and
Newton refinement of `decdiff.implementations.dynamics` on the augmented state z = [y; tau]
(the map z -> [f(tau, y); tau] keeps tau fixed), so rows with different histories are
iterated and refined together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.dynamics.fixed_points import newton_refine
from decdiff.implementations.dynamics.flows import fixed_sigma_flow
from decdiff.implementations.dynamics.jacobians import spectral_radius
from decdiff.tolerances import (
    FIXED_POINT_RESIDUAL,
    FLOW_STEP,
    JACOBIAN_RANK_RELATIVE,
    JACOBIAN_RANK_SWEEP,
)


# ----- derivatives ---------------------------------------------------------------------------------
def float64_copy(denoiser):
    """A float64 copy of the denoiser with frozen parameters (Newton reaches FIXED_POINT_RESIDUAL
    only in float64; frozen, so analysis results carry no autograd graph): its own ``as_dtype``, else the
    copy the probe made of a user's float32 torch module (`probes.float64_stand_in`), else itself."""
    as_dtype = getattr(denoiser, "as_dtype", None)
    if as_dtype is None:
        return getattr(denoiser, "float64_stand_in", None) or denoiser
    copy = as_dtype(torch.float64)
    for parameter in copy.parameters():
        parameter.requires_grad_(False)
    return copy


def _row_function(denoiser):
    def row(features: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return denoiser.forward_features(features[None], y[None], sigma[None])[0]

    return row


def feature_jacobians(denoiser, features: torch.Tensor, y: torch.Tensor,
                      sigma: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(J_y [B, d, d], J_tau [B, d, F])`` at every row, by vmap(jacrev) on ``forward_features``."""
    dtype = denoiser.dtype
    sigma = as_sigma(sigma, y.shape[0], dtype)
    j_tau, j_y = torch.func.vmap(torch.func.jacrev(_row_function(denoiser), argnums=(0, 1)))(
        features.to(dtype), y.to(dtype), sigma)
    return j_y, j_tau


def state_jacobian(denoiser, features: torch.Tensor, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """``[B, d, d]``: J_y = d f / d y (Eq. 9) at every row."""
    dtype = denoiser.dtype
    sigma = as_sigma(sigma, y.shape[0], dtype)
    return torch.func.vmap(torch.func.jacrev(_row_function(denoiser), argnums=1))(features.to(dtype), y.to(dtype),
                                                                                 sigma)


def j_plus(j_y: torch.Tensor, j_tau: torch.Tensor) -> torch.Tensor:
    """Eq. (14): ``[B, d, F]`` (I - J_y)^{-1} J_tau.

    Where I - J_y is singular (J_y has an eigenvalue 1: the fixed point is not isolated, e.g.
    the identity map) J_+ does not exist; those rows get the minimum-norm (pseudo-inverse)
    solution, and the checks report the spectral-radius assumption as failed.
    """
    eye = torch.eye(j_y.shape[-1], dtype=j_y.dtype)
    solution, info = torch.linalg.solve_ex(eye - j_y, j_tau)
    singular = info != 0
    if bool(singular.any()):
        solution[singular] = torch.linalg.pinv(eye - j_y[singular]) @ j_tau[singular]
    return solution


# ----- rank -------------------------------------------------------------------------------------------
def numerical_rank(matrices: torch.Tensor, relative_tolerance: float = JACOBIAN_RANK_RELATIVE) -> torch.Tensor:
    """``[B]``: number of singular values > relative_tolerance * sigma_max (0 for a zero matrix)."""
    singular = torch.linalg.svdvals(matrices)
    top = singular[..., :1]
    return ((singular > relative_tolerance * top) & (top > 0)).sum(dim=-1)


def rank_sensitivity(matrices: torch.Tensor,
                     tolerances: Sequence[float] = JACOBIAN_RANK_SWEEP) -> dict[float, torch.Tensor]:
    """The numerical ranks at each relative tolerance (how much the rank depends on the choice)."""
    return {float(t): numerical_rank(matrices, t) for t in tolerances}


# ----- fixed points from clean states ----------------------------------------------------------------
class FeatureAugmentedMap:
    """z = [y; tau] -> [f(tau, y); tau], with Jacobian diag(J_y, I).

    Its fixed points are (y*, tau) with y* = f(tau, y*); Newton's least-squares step on
    g(z) = [f - y; 0] with matrix diag(J_y - I, 0) leaves tau unchanged. This lets the
    dynamics package's batched flow and Newton refinement run rows with different (and
    continuous) histories together.
    """

    def __init__(self, denoiser, state_dim: int) -> None:
        self.denoiser = denoiser
        self.d = state_dim

    def __call__(self, z: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        y, tau = z[:, :self.d], z[:, self.d:]
        out = self.denoiser.forward_features(tau, y, as_sigma(sigma, z.shape[0], self.denoiser.dtype))
        return torch.cat([out.to(z.dtype), tau], dim=1)

    def jacobian(self, z: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        y, tau = z[:, :self.d], z[:, self.d:]
        full = torch.zeros(z.shape[0], z.shape[1], z.shape[1], dtype=z.dtype)
        full[:, :self.d, :self.d] = state_jacobian(self.denoiser, tau, y, sigma).to(z.dtype)
        full[:, self.d:, self.d:] = torch.eye(z.shape[1] - self.d, dtype=z.dtype)
        return full


@dataclass(frozen=True)
class StateFixedPoints:
    """y* = phi_inf(tau)(s) for B rows (tau_b, s_b), with the Jacobians at y*.

    Attributes:
        features: ``[B, F]`` tau; ``states``: ``[B, d]`` s; ``y``: ``[B, d]`` y*.
        residual: ``[B]`` ||f(tau, y*) - y*||; ``converged``: residual <= FIXED_POINT_RESIDUAL.
        j_y: ``[B, d, d]``; ``j_tau``: ``[B, d, F]``; ``j_plus``: ``[B, d, F]`` (Eq. 14).
        spectral_radius: ``[B]`` of J_y(tau, y*).
        deviation: ``[B, d]`` D_phi(tau, s) = s - y* (Eq. 12).
    """

    features: torch.Tensor
    states: torch.Tensor
    y: torch.Tensor
    residual: torch.Tensor
    converged: torch.Tensor
    j_y: torch.Tensor
    j_tau: torch.Tensor
    j_plus: torch.Tensor
    spectral_radius: torch.Tensor

    @property
    def deviation(self) -> torch.Tensor:
        return self.states - self.y

    @property
    def deviation_norm(self) -> torch.Tensor:
        return self.deviation.norm(dim=1)


def fixed_points_from_states(denoiser, features: torch.Tensor, states: torch.Tensor, sigma: float, *,
                             max_steps: int = 500) -> StateFixedPoints:
    """Definition 4's attractor phi_inf(tau_b)(s_b) for every row, refined, with Jacobians and J_+.

    `denoiser` should be float64 (`float64_copy`) for the residual to reach FIXED_POINT_RESIDUAL.
    """
    features = features.to(torch.float64)
    d = states.shape[1]
    f = FeatureAugmentedMap(denoiser, d)
    z0 = torch.cat([states.to(torch.float64), features], dim=1)
    flow = fixed_sigma_flow(f, z0, sigma, max_steps, tol=FLOW_STEP)
    z, residual = newton_refine(f, flow.y, sigma)
    y = z[:, :d]
    j_y, j_tau = feature_jacobians(denoiser, features, y, sigma)
    j_y, j_tau = j_y.to(torch.float64), j_tau.to(torch.float64)
    return StateFixedPoints(features, states.to(torch.float64), y, residual, residual <= FIXED_POINT_RESIDUAL,
                            j_y, j_tau, j_plus(j_y, j_tau), spectral_radius(j_y))


# ----- Theorem 5: fixed-point shift ----------------------------------------------------------------------
@dataclass(frozen=True)
class ShiftStudy:
    """Predicted (Eq. 13) against actual fixed-point shifts for tau' = tau + h v.

    Attributes:
        scales: ``[H]`` perturbation sizes h (||dtau|| = h for unit directions v).
        actual: ``[B, H, d]`` y*' - y*; ``predicted``: ``[B, H, d]`` J_+ dtau.
        error: ``[B, H]`` ||actual - predicted||; ``relative_error``: error / ||actual||.
        jacobian_change: ``[B, H]`` eps = ||J_y(tau', y*') - J_y(tau, y*)||_F.
        converged: ``[B, H]`` the Newton continuation reached FIXED_POINT_RESIDUAL.
        slope_scale, slope_epsilon: ``[B]`` least-squares slopes of log error against log h and
            against log eps (2 for an O(eps^2) error when eps ~ h), NaN with fewer than 2 usable sizes.
    """

    scales: torch.Tensor
    actual: torch.Tensor
    predicted: torch.Tensor
    error: torch.Tensor
    relative_error: torch.Tensor
    jacobian_change: torch.Tensor
    converged: torch.Tensor
    slope_scale: torch.Tensor
    slope_epsilon: torch.Tensor


def loglog_slope(x: torch.Tensor, y: torch.Tensor, usable: torch.Tensor) -> torch.Tensor:
    """``[B]`` least-squares slope of log y on log x over the usable entries of each row."""
    w = usable.to(torch.float64)
    lx = torch.where(usable, torch.log(x.clamp_min(1e-300)), torch.zeros_like(x))
    ly = torch.where(usable, torch.log(y.clamp_min(1e-300)), torch.zeros_like(y))
    n = w.sum(dim=1)
    mx, my = (lx * w).sum(dim=1) / n.clamp_min(1), (ly * w).sum(dim=1) / n.clamp_min(1)
    cov = (w * (lx - mx[:, None]) * (ly - my[:, None])).sum(dim=1)
    var = (w * (lx - mx[:, None]) ** 2).sum(dim=1)
    slope = cov / var
    return torch.where((n >= 2) & (var > 0), slope, torch.full_like(slope, float("nan")))


def fixed_point_shift(denoiser, points: StateFixedPoints, directions: torch.Tensor, scales: Sequence[float],
                      sigma: float, *, error_floor: float = 0.0) -> ShiftStudy:
    """Theorem 5 on every row: tau' = tau + h v for unit ``directions [B, F]`` and each h in `scales`.

    The perturbed fixed point y*' is Newton's continuation from y* (it is the fixed point
    the theorem follows). Errors at or below `error_floor` (round-off) are left out of the slopes.
    """
    scales_t = torch.as_tensor(scales, dtype=torch.float64)
    b, h, d = points.y.shape[0], scales_t.numel(), points.y.shape[1]
    v = directions.to(torch.float64) / directions.norm(dim=1, keepdim=True)
    dtau = scales_t[None, :, None] * v[:, None, :]                                       # [B, H, F]
    tau_new = (points.features[:, None, :] + dtau).reshape(b * h, -1)
    start = points.y[:, None, :].expand(b, h, d).reshape(b * h, d)
    z, residual = newton_refine(FeatureAugmentedMap(denoiser, d), torch.cat([start, tau_new], dim=1), sigma)
    y_new = z[:, :d]
    j_new = state_jacobian(denoiser, tau_new, y_new, sigma).to(torch.float64).reshape(b, h, d, d)
    actual = (y_new.reshape(b, h, d) - points.y[:, None, :])
    predicted = torch.einsum("bij,bhj->bhi", points.j_plus, dtau)
    error = (actual - predicted).norm(dim=2)
    eps = (j_new - points.j_y[:, None]).flatten(2).norm(dim=2)
    converged = (residual <= FIXED_POINT_RESIDUAL).reshape(b, h)
    usable = converged & (error > error_floor)
    scale_grid = scales_t[None, :].expand(b, h)
    return ShiftStudy(scales_t, actual, predicted, error, error / actual.norm(dim=2), eps, converged,
                      loglog_slope(scale_grid, error, usable), loglog_slope(eps, error, usable & (eps > 0)))


# ----- Corollary 5.1 ------------------------------------------------------------------------------------
def spectral_factor(j_y: torch.Tensor, symmetric: bool = False) -> torch.Tensor:
    """``[B, d, d]``: U (I - Lambda)^{-1} Lambda U^{-1} from the eigendecomposition of J_y.

    With ``symmetric`` the symmetric part's orthogonal eigendecomposition is used (U^{-1} = U^T,
    the corollary's literal form); otherwise the general one (complex in general; the product is real).
    """
    if symmetric:
        lam, u = torch.linalg.eigh(0.5 * (j_y + j_y.transpose(-1, -2)))
        return u @ torch.diag_embed(lam / (1 - lam)) @ u.transpose(-1, -2)
    lam, u = torch.linalg.eig(j_y)
    return (u @ torch.diag_embed(lam / (1 - lam)) @ torch.linalg.inv(u)).real


def corollary_5_1_matrix(j_y: torch.Tensor, w_tau: torch.Tensor, w_y: torch.Tensor,
                         symmetric: bool = False) -> torch.Tensor:
    """``[B, d, F]``: Corollary 5.1's U (I - Lambda)^{-1} Lambda U^T W_y^+ W_tau (pseudo-inverse W_y^+).

    For full row rank W_y (width h <= |s|) W_y^+ = W_y^T (W_y W_y^T)^{-1} as in the paper;
    for h > |s| that inverse does not exist and the pseudo-inverse is used (docs/claims.md#corollary-5-1).
    """
    w_tau, w_y = w_tau.detach().to(j_y.dtype), w_y.detach().to(j_y.dtype)
    return spectral_factor(j_y, symmetric) @ (torch.linalg.pinv(w_y) @ w_tau)


def relative_error(approx: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """``[B]``: ||approx - exact||_F / ||exact||_F per matrix."""
    return (approx - exact).flatten(1).norm(dim=1) / exact.flatten(1).norm(dim=1)


def symmetry_defect(j: torch.Tensor) -> torch.Tensor:
    """``[B]``: ||J - J^T||_F / ||J||_F (0 for a symmetric Jacobian)."""
    return (j - j.transpose(-1, -2)).flatten(1).norm(dim=1) / j.flatten(1).norm(dim=1).clamp_min(1e-300)


def min_symmetric_eigenvalue(j: torch.Tensor) -> torch.Tensor:
    """``[B]``: smallest eigenvalue of the symmetric part (>= 0 for a PSD Jacobian)."""
    return torch.linalg.eigvalsh(0.5 * (j + j.transpose(-1, -2)))[..., 0]


# ----- Fig. 2(g): rank against deviation ---------------------------------------------------------------------
@dataclass(frozen=True)
class Correlation:
    """Spearman's rho with a confidence interval (``method``: fisher-z or bootstrap); rho is NaN for a constant
    input."""

    rho: float
    low: float
    high: float
    n: int
    method: str
    confidence: float

    def below_zero(self) -> bool | None:
        """Finding 3's reading (rho < 0): True when the interval lies below 0, False above, None otherwise or
        undefined."""
        if np.isnan(self.rho):
            return None
        return True if self.high < 0 else (False if self.low > 0 else None)


def spearman_interval(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95, method: str = "fisher",
                      n_boot: int = 2000, seed: int = 0) -> Correlation:
    """Spearman correlation of x and y with a Fisher-z (SE sqrt(1.06/(n-3))) or percentile-bootstrap interval."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    nan = Correlation(float("nan"), float("nan"), float("nan"), n, method, confidence)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return nan
    rho = float(stats.spearmanr(x, y).statistic)
    if method == "fisher":
        z, se = np.arctanh(np.clip(rho, -0.999999, 0.999999)), np.sqrt(1.06 / (n - 3))
        q = stats.norm.ppf(0.5 + confidence / 2)
        return Correlation(rho, float(np.tanh(z - q * se)), float(np.tanh(z + q * se)), n, method, confidence)
    if method == "bootstrap":
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        rx, ry = stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1)
        rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
        denom = np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
        rhos = np.divide((rx * ry).sum(axis=1), denom, out=np.full(n_boot, np.nan), where=denom > 0)
        rhos = rhos[np.isfinite(rhos)]
        low, high = np.quantile(rhos, [0.5 - confidence / 2, 0.5 + confidence / 2])
        return Correlation(rho, float(low), float(high), n, method, confidence)
    raise ValueError(f"unknown interval method {method!r}")
