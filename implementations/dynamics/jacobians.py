"""Denoiser Jacobians J_f(y | tau) = d f(tau, y) / d y (Eq. 9), their eigenvalues and spectral radii.

Any `Denoiser` is differentiated row by row with ``torch.func.vmap(torch.func.jacrev(...))``:
the per-row function closes over that row's history (a `HistoryBatch` of length 1, a
constant under the transforms) and is batched over the rows that share a history, so
the denoiser sees the same ``[1, d]`` call it would see outside the transform. The exact
denoiser's closed form Cov_w[s] / sigma^2 (docs/claims.md#exact-denoiser) is used when a denoiser offers
a ``jacobian(histories, y, sigma)`` method.

For learned denoisers the Jacobian need not be symmetric, so "|lambda_max|" is read as
the spectral radius max_k |lambda_k| over the complex eigenvalues (docs/claims.md#notation).
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.denoisers.protocol import Denoiser, as_sigma
from decdiff.implementations.histories import HistoryBatch


def autograd_jacobian(denoiser: Denoiser, history: HistoryBatch, y: torch.Tensor,
                      sigma: torch.Tensor) -> torch.Tensor:
    """``[B, d, d]`` Jacobians of f(tau, .) at the rows of ``y [B, d]``, one history ``tau`` (length 1)."""

    def row(y_row: torch.Tensor, sigma_row: torch.Tensor) -> torch.Tensor:
        return denoiser(history, y_row[None], sigma_row[None])[0]

    # One plain call first: a denoiser that reads the history's index tensors as numpy
    # (the exact one deduplicates them) cannot do so on the transforms' wrapped tensors,
    # but caches what it read, keyed by the history object.
    denoiser(history, y[:1], sigma[:1])
    return torch.func.vmap(torch.func.jacrev(row))(y, sigma)


def denoiser_jacobian(denoiser: Denoiser, histories: HistoryBatch, y: torch.Tensor,
                      sigma: float | torch.Tensor) -> torch.Tensor:
    """``[B, d, d]``: J_f(y_b | tau_b) for every row; closed form when the denoiser has one."""
    sigma = as_sigma(sigma, y.shape[0], y.dtype)
    closed_form = getattr(denoiser, "jacobian", None)
    if closed_form is not None:
        return closed_form(histories, y, sigma)
    rows = histories.index_rows()
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    inverse = torch.from_numpy(inverse.reshape(-1))
    out = y.new_empty(y.shape[0], y.shape[1], y.shape[1])
    for group, row in enumerate(first):          # one vmap per distinct history
        members = inverse == group
        out[members] = autograd_jacobian(denoiser, histories[int(row)], y[members], sigma[members])
    return out


def eigenvalues(jacobians: torch.Tensor) -> torch.Tensor:
    """``[B, d]`` complex eigenvalues of ``[B, d, d]`` Jacobians."""
    return torch.linalg.eigvals(jacobians)


def spectral_radius(jacobians: torch.Tensor) -> torch.Tensor:
    """``[B]``: max_k |lambda_k(J_b)|, the paper's |lambda_max| (Eq. 11)."""
    return eigenvalues(jacobians).abs().amax(dim=-1)
