"""The `Denoiser` protocol (ARCHITECTURE.md, "Contracts"), variance-exploding convention y = s + sigma z.

A denoiser maps a batch of histories, noisy states ``y [B, d]`` and noise levels
``sigma [B]`` to estimates of the clean state ``[B, d]``. A noise-blind denoiser (the
paper's f_theta has no sigma input) declares the level it was trained at in its
``sigma`` attribute and ignores the argument; a noise-conditional one has ``sigma = None``.
The score follows from any denoiser by Miyasawa/Tweedie (Eq. 3), computed here only.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from decdiff.implementations.histories import HistoryBatch


@runtime_checkable
class Denoiser(Protocol):
    """f(tau, y; sigma) ≈ E[s | y, tau] (Eq. 2)."""

    sigma: float | None

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor: ...


def as_sigma(sigma: float | torch.Tensor, batch: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A per-row noise level ``[B]`` from a scalar or a ``[B]`` tensor."""
    sigma = torch.as_tensor(sigma, dtype=dtype)
    return sigma.expand(batch).clone() if sigma.ndim == 0 else sigma.to(dtype)


def score(denoiser: Denoiser, histories: HistoryBatch, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
    """grad_y log p_sigma(y | tau) = (D(tau, y) - y) / sigma^2 (Eq. 3)."""
    sigma = as_sigma(sigma, y.shape[0], y.dtype)
    return (denoiser(histories, y, sigma) - y) / sigma[:, None] ** 2
