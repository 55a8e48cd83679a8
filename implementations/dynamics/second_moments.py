"""The second moments sum_k w_k s_k s_k^T behind the exact denoiser's Jacobian Cov_w[s] / sigma^2 (Eq. 9).

`MixtureMap` keeps a table of the states' outer products so that the second moments of a
batch of weights ``w [B, K]`` are one matrix product: dense ``[K, d^2]`` when it fits
OUTER_PRODUCT_LIMIT entries, else, for sparse states (the sensor grids' 0/1 target cells),
a sparse ``[d^2, K]`` table of the nonzero products alone, for the states themselves or, in
reduced coordinates z_k = Q^T s_k, for the original states s_k, whose covariance projects to
the reduced one (Cov_w[Q^T s] = Q^T Cov_w[s] Q), whichever costs least; else none, and the
centred sum of `mixture_jacobian` is used.
"""

from __future__ import annotations

import torch

#: Entries of the table of outer products s_k s_k^T kept for a Jacobian, dense ``[K, d^2]`` or, for
#: sparse states, only the nonzero ones (2^22 float64 = 32 MiB; K = 300 states of dimension 25 need
#: 187,500 dense; two targets on the 8x8 grid, K = 1770 and d = 64, need 7.2 million dense but 7,080
#: nonzero).
OUTER_PRODUCT_LIMIT = 2**22

#: What one product of a sparse table costs in products of a dense one, for choosing between them:
#: measured 12-118 (single thread, float64; ``torch.sparse.mm`` against a BLAS matmul, from 190 states
#: of R^20 to 1770 of R^64 with two nonzero entries each); the centred sum is slower than the BLAS
#: matmul, so 64 favours the dense and centred sums wherever the sparse one is not clearly cheaper.
SPARSE_PRODUCT_COST = 64


def dense_outer_products(states: torch.Tensor) -> torch.Tensor | None:
    """``[K, d^2]``: row k is vec(s_k s_k^T); None when the K d^2 entries exceed OUTER_PRODUCT_LIMIT."""
    k, d = states.shape
    return (states[:, :, None] * states[:, None, :]).flatten(1) if k * d * d <= OUTER_PRODUCT_LIMIT else None


def outer_product_count(states: torch.Tensor) -> int:
    """sum_k nnz(s_k)^2: the nonzero entries of the states' outer products."""
    nonzero = (states != 0).sum(1)
    return int((nonzero * nonzero).sum())


def sparse_outer_products(states: torch.Tensor) -> torch.Tensor:
    """The ``[d^2, K]`` sparse (COO) table whose column k is vec(s_k s_k^T), holding only the
    `outer_product_count` nonzero products.

    ``table @ w^T`` is then the second moments sum_k w_k s_k s_k^T of weights ``w [B, K]`` at
    B * sum_k nnz(s_k)^2 multiplications instead of B K d^2: 4 instead of 4096 per state and row
    for two targets on the 8x8 grid. Every product s_ki s_kj enters once, as in the dense table.
    """
    k, d = states.shape
    rows, cols = torch.nonzero(states, as_tuple=True)           # row-major: each state's entries together
    counts = torch.bincount(rows, minlength=k)
    per_entry = counts[rows]                                     # entry e pairs with the nnz of its state
    left = torch.repeat_interleave(torch.arange(rows.numel()), per_entry)
    first_of_state = torch.cumsum(counts, 0) - counts
    offset = torch.arange(left.numel()) - torch.repeat_interleave(torch.cumsum(per_entry, 0) - per_entry, per_entry)
    right = first_of_state[rows[left]] + offset
    state, i, j = rows[left], cols[left], cols[right]
    return torch.sparse_coo_tensor(torch.stack([i * d + j, state]), states[state, i] * states[state, j],
                                   (d * d, k), check_invariants=True).coalesce()


def cheapest_sparse_table(states: torch.Tensor,
                          original: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(S, `sparse_outer_products` of S) for the cheaper of ``states [K, d]`` and ``original [K, D]``
    (the same states in R^D, ``states`` their coordinates in an orthonormal basis, or None), counting
    dense multiplications per row: SPARSE_PRODUCT_COST per nonzero product, plus D^2 d + D d^2 for the
    projection onto the basis, against K d^2 for the centred sum. None when the centred sum is the
    cheapest, or no table fits OUTER_PRODUCT_LIMIT."""
    k, d = states.shape
    best, least = None, k * d * d
    for candidate in (states, original):
        if candidate is None:
            continue
        count = outer_product_count(candidate)
        projection = 0 if candidate is states else candidate.shape[1] ** 2 * d + candidate.shape[1] * d * d
        if count <= OUTER_PRODUCT_LIMIT and SPARSE_PRODUCT_COST * count + projection < least:
            best, least = candidate, SPARSE_PRODUCT_COST * count + projection
    return None if best is None else (best, sparse_outer_products(best))
