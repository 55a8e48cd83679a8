"""Denoiser Jacobians J_f(y | tau) = d f(tau, y) / d y (Eq. 9), their eigenvalues and spectral radii.

Any `Denoiser` is differentiated row by row, by the first method that works on it (tried once
per denoiser, the choice kept in ``denoiser.jacobian_method``, each use counted in
``denoiser.jacobian_calls``):

1. ``torch.func``: ``vmap(jacrev(...))``; the per-row function closes over that row's history
   (a `HistoryBatch` of length 1, a constant under the transforms) and is batched over the
   rows that share a history, so the denoiser sees the ``[1, d]`` call it sees outside them.
   Exact to round-off and the fastest: one batched reverse pass.
2. ``autograd``: d reverse passes of ``torch.autograd.grad`` on the plain batched call (row b's
   output depends on row b's input only, so the gradient of sum_b f_b[k] is row k of every
   J_b). Works on denoisers that read history indices or call ``.item()`` on data that does not
   depend on y, which vmap cannot transform.
3. ``finite differences``: central differences in float64, all 2d shifted copies of the batch
   in one call, step h_b = eps^(1/3) max(1, ||y_b||_inf) (eps: the machine epsilon of the
   output dtype). The error per entry is at most h^2 M_3 / 6 + eps M_0 / h, M_k the largest
   k-th derivative of f near y_b: O(eps^(2/3)) relative, ~4e-11 in float64 and ~2e-5 in float32
   for M_3 of order 1. For denoisers computed outside torch (numpy), whose output carries no
   graph.

The exact denoiser's closed form Cov_w[s] / sigma^2 (docs/claims.md#exact-denoiser) is used when a denoiser
offers a ``jacobian(histories, y, sigma)`` method.

For learned denoisers the Jacobian need not be symmetric, so "|lambda_max|" is read as
the spectral radius max_k |lambda_k| over the complex eigenvalues (docs/claims.md#notation).
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.denoisers.protocol import Denoiser, as_sigma
from decdiff.implementations.histories import HistoryBatch

METHODS = ("torch.func", "autograd", "finite differences")


def _torch_func(denoiser: Denoiser, history: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    def row(y_row: torch.Tensor, sigma_row: torch.Tensor) -> torch.Tensor:
        return denoiser(history, y_row[None], sigma_row[None])[0]

    # One plain call first: a denoiser that reads the history's index tensors as numpy
    # (the exact one deduplicates them) cannot do so on the transforms' wrapped tensors,
    # but caches what it read, keyed by the history object.
    denoiser(history, y[:1], sigma[:1])
    return torch.func.vmap(torch.func.jacrev(row))(y, sigma)


def _autograd(denoiser: Denoiser, history: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        y_in = y.detach().clone().requires_grad_(True)
        out = denoiser(history.repeat_interleave(y.shape[0]), y_in, sigma)
        if not out.requires_grad:
            raise RuntimeError("the output carries no autograd graph")
        rows = [torch.autograd.grad(out[:, k].sum(), y_in, retain_graph=True, allow_unused=True)[0]
                for k in range(out.shape[1])]
    if any(r is None for r in rows):
        raise RuntimeError("the output does not depend on y through autograd")
    return torch.stack(rows, dim=1).detach()


def finite_difference_step(y: torch.Tensor, eps: float) -> torch.Tensor:
    """``[B]``: h_b = eps^(1/3) max(1, ||y_b||_inf), balancing truncation h^2 and round-off eps / h."""
    return eps ** (1.0 / 3.0) * y.abs().amax(dim=1).clamp(min=1.0)


def _finite_differences(denoiser: Denoiser, history: HistoryBatch, y: torch.Tensor,
                        sigma: torch.Tensor) -> torch.Tensor:
    b, d = y.shape
    y = y.to(torch.float64)
    eps = torch.finfo(denoiser(history, y[:1], sigma[:1]).dtype).eps
    h = finite_difference_step(y, eps)                                        # [B]
    shifts = torch.eye(d, dtype=torch.float64)[None] * h[:, None, None]     # [B, d(k), d]
    shifted = torch.cat([y[:, None, :] + shifts, y[:, None, :] - shifts], dim=1).reshape(-1, d)
    out = denoiser(history.repeat_interleave(shifted.shape[0]), shifted,
                   sigma.repeat_interleave(2 * d)).to(torch.float64).reshape(b, 2, d, d)
    return ((out[:, 0] - out[:, 1]) / (2.0 * h[:, None, None])).transpose(1, 2)    # J[b, i, k] = d f_i / d y_k


_BY_METHOD = dict(zip(METHODS, (_torch_func, _autograd, _finite_differences)))


def autograd_jacobian(denoiser: Denoiser, history: HistoryBatch, y: torch.Tensor,
                      sigma: torch.Tensor) -> torch.Tensor:
    """``[B, d, d]`` Jacobians of f(tau, .) at the rows of ``y [B, d]``, one history ``tau`` (length 1),
    by the first of `METHODS` that works on the denoiser (module docstring); the choice is kept."""
    method = getattr(denoiser, "jacobian_method", None)
    if method in _BY_METHOD:
        jac = _BY_METHOD[method](denoiser, history, y, sigma)
    else:
        for method in METHODS:
            try:
                jac = _BY_METHOD[method](denoiser, history, y, sigma)
                break
            except Exception:  # a method this denoiser cannot take: try the next one
                if method == METHODS[-1]:
                    raise
        _remember(denoiser, "jacobian_method", method)
    calls = getattr(denoiser, "jacobian_calls", None)
    if calls is None:
        calls = _remember(denoiser, "jacobian_calls", {})
    if calls is not None:
        calls[method] = calls.get(method, 0) + 1
    return jac.detach()         # values only: no graph back to a network's trainable parameters


def _remember(denoiser: Denoiser, name: str, value: object) -> object:
    """Set ``denoiser.name = value`` where the object allows it (else nothing is kept)."""
    try:
        setattr(denoiser, name, value)
    except (AttributeError, TypeError):
        return None
    return value


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
