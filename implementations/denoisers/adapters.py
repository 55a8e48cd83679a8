"""Adapters that turn other parameterisations into the `Denoiser` protocol (VE, y = s + sigma z).

Following k-diffusion's wrappers (Karras et al. 2022 preconditioning), a model ``F`` that
takes a scaled input and sigma becomes a denoiser D(y) = c_skip y + c_out F(c_in y, sigma):

* epsilon-prediction, F ≈ z:                 D = y - sigma F(y, sigma)            (c_skip 1, c_out -sigma)
* residual-prediction, F ≈ y - s = sigma z:  D = y - F(y, sigma)
* v-prediction with data scale sigma_data:   c_skip = sd^2/(sigma^2 + sd^2), c_out = -sigma sd/sqrt(sigma^2 + sd^2),
                                             c_in = 1/sqrt(sigma^2 + sd^2)
* a noise-blind model (the paper's f_theta) is already a denoiser; `FixedSigma` records
  the sigma it was trained at;
* a VP/DDPM epsilon-prediction model with a discrete schedule (`DDPMEpsilonDenoiser`):
  sigma^2 = (1 - abar_t) / abar_t.

``F`` is any callable ``(histories, y, sigma [B]) -> [B, d]``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.histories import HistoryBatch

ModelFunction = Callable[[HistoryBatch, torch.Tensor, torch.Tensor], torch.Tensor]


class _Preconditioned:
    """D(y) = c_skip(sigma) y + c_out(sigma) F(c_in(sigma) y, sigma), noise-conditional."""

    sigma: float | None = None

    def __init__(self, model: ModelFunction) -> None:
        self.model = model

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = as_sigma(sigma, y.shape[0], y.dtype)
        c_skip, c_out, c_in = (c[:, None] for c in self.coefficients(sigma))
        return c_skip * y + c_out * self.model(histories, c_in * y, sigma)


class EpsilonDenoiser(_Preconditioned):
    """F predicts the standard normal noise z."""

    def coefficients(self, sigma):
        one = torch.ones_like(sigma)
        return one, -sigma, one


class ResidualDenoiser(_Preconditioned):
    """F predicts the noise component y - s = sigma z."""

    def coefficients(self, sigma):
        one = torch.ones_like(sigma)
        return one, -one, one


class VDenoiser(_Preconditioned):
    """F predicts v (k-diffusion's VDenoiser) for data of scale `sigma_data`."""

    def __init__(self, model: ModelFunction, sigma_data: float = 1.0) -> None:
        super().__init__(model)
        self.sigma_data = sigma_data

    def coefficients(self, sigma):
        sd2 = self.sigma_data**2
        norm = torch.sqrt(sigma**2 + sd2)
        return sd2 / (sigma**2 + sd2), -sigma * self.sigma_data / norm, 1.0 / norm


class FixedSigma:
    """A noise-blind denoiser F(tau, y) trained at one sigma (the paper's f_theta): D = F."""

    def __init__(self, model: Callable[[HistoryBatch, torch.Tensor], torch.Tensor], sigma: float) -> None:
        self.model = model
        self.sigma = sigma

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.model(histories, y)


class DDPMEpsilonDenoiser:
    """A VP/DDPM epsilon-prediction model as the VE denoiser decdiff checks.

    The model was trained on x_t = sqrt(abar_t) s + sqrt(1 - abar_t) eps at discrete timesteps t,
    with the schedule ``alphas_cumprod`` (abar_0 > abar_1 > ...; diffusers' ``scheduler.alphas_cumprod``).
    Since sqrt(abar) (s + sigma z) = sqrt(abar) s + sqrt(1 - abar) z when sigma^2 = (1 - abar) / abar,
    the VE input y = s + sigma z is the VP input x = y / sqrt(1 + sigma^2) (abar = 1 / (1 + sigma^2)),
    and D(y) = y - sigma eps_hat(x, t). The timestep given to the model is the t whose
    sigma_t = sqrt((1 - abar_t) / abar_t) is nearest to sigma in log sigma (``timestep="nearest"``),
    or the fractional t interpolated linearly in log sigma between its neighbours
    (``timestep="interpolate"``, for models that accept a float timestep).

    ``model(histories, x [B, d], t [B]) -> eps_hat [B, d]``.
    A network that approximates the exact eps-model is wrapped with ``trained=True``, which declares the
    capability ``trained`` so the reference checks judge it as an approximation, not to round-off.
    """

    sigma: float | None = None

    def __init__(self, model: Callable[[HistoryBatch, torch.Tensor, torch.Tensor], torch.Tensor],
                 alphas_cumprod: torch.Tensor, timestep: str = "nearest", *, trained: bool = False) -> None:
        if timestep not in ("nearest", "interpolate"):
            raise ValueError(f"timestep must be 'nearest' or 'interpolate', got {timestep!r}")
        abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64)
        self.model = model
        self.timestep = timestep
        self.capabilities = frozenset({"trained"}) if trained else frozenset()
        self.log_sigmas = 0.5 * torch.log((1.0 - abar) / abar)         # increasing in t

    def timesteps(self, sigma: torch.Tensor) -> torch.Tensor:
        """``[B]`` the model's timestep for each sigma (module docstring)."""
        log_sigma = torch.log(sigma.to(torch.float64))
        if self.timestep == "nearest":
            return (log_sigma[:, None] - self.log_sigmas[None, :]).abs().argmin(dim=1)
        steps = torch.arange(self.log_sigmas.numel(), dtype=torch.float64)
        return torch.from_numpy(np.interp(log_sigma.numpy(), self.log_sigmas.numpy(), steps.numpy()))

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        sigma = as_sigma(sigma, y.shape[0], y.dtype)
        x = y / torch.sqrt(1.0 + sigma ** 2)[:, None]
        return y - sigma[:, None] * self.model(histories, x, self.timesteps(sigma))
