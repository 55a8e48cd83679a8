"""The surrogate local linear regression (Definition 5) and Theorem 6's residual bound.

Samples are pairs (tau_k, s_k) (history features, state embedding), each with the Jacobian
J_k = J_f(tau_k, y*_k) at its fixed point and its deviation D_k = s_k - y*_k (Eq. 12).

* **epsilon-local sets** (Definition 5): M_eps(a) = {k : ||J_k - J_a||_F <= eps} around an
  anchor a (the anchor is a member).
* **Eq. (15)**, anchored, summed, no intercept:
      R_15(a) = min_W sum_{k in M} || W dtau_k - ds_k ||^2,  dtau_k = tau_a - tau_k, ds_k = s_a - s_k
              = sum ||ds_k||^2 - tr( C G^+ C^T ),  G = sum dtau dtau^T,  C = sum ds dtau^T.
* **Eq. (17)**, centred, averaged (regression with intercept through the sample mean):
      R_17(M) = Tr(Sigma_s) - Tr(Sigma_{s tau} Sigma_tau^+ Sigma_{tau s}),
  with E the average over M and the pseudo-inverse of Sigma_tau (singular for one-hot
  features, docs/claims.md#theorem-6). It is the mean squared residual of least squares with intercept.
* **Degeneracy** (docs/claims.md#theorem-6): when |M| <= |tau| + 1 (and the tau's are affinely
  independent) the fit is exact and R_17 = 0, so "D < R" cannot hold; such sets are
  flagged and counted, never dropped silently. |M| counts *distinct* samples: repeated
  copies of one (tau, s) pair (histories recur in sampled data) weigh in the averages of
  Eq. (17) as the data distribution does, but add no equation to the fit (a set of 16
  copies of one pair has R_17 = 0 as surely as a set of one). Sets whose R_17 is zero to
  round-off although they are not degenerate (s affine in tau on M) are counted as
  ``exact_fit``.
* **r(M)** = dim span{s_k : k in M} (Finding 3).
* **Theorem 6 comparisons**: for every member (tau, s) of a non-degenerate M,
  ||D||_2 < R_17(M) (the paper's Fig. 2(g) reading), ||D||_2 < sqrt(R_17) (same units) and
  ||D||_2^2 < R_17 (both squared), each as the fraction of (set, member) pairs bounded.

Everything is batched over anchors and epsilons with masks (weights 0/1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

#: Default epsilons of a sweep, as quantiles of the pairwise Jacobian distances ||J_k - J_a||_F.
EPSILON_QUANTILES = (0.05, 0.1, 0.25, 0.5, 1.0)

#: R_17 below this fraction of Tr(Sigma_s) is an exact fit (round-off of the trace
#: difference in Eq. (17) is ~1e-15 relative).
EXACT_FIT_RELATIVE = 1e-10


def centred_residual(tau: torch.Tensor, s: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (17) on ``tau [..., K, F]``, ``s [..., K, d]`` with 0/1 (or any non-negative) ``weights [..., K]``.

    E is the weighted average over the set; returns ``[...]`` R_17 = Tr Sigma_s - Tr(Sigma_st Sigma_t^+ Sigma_ts).
    """
    tau, s = tau.to(torch.float64), s.to(torch.float64)
    w = torch.ones(tau.shape[:-1], dtype=torch.float64) if weights is None else weights.to(torch.float64)
    p = w / w.sum(dim=-1, keepdim=True)
    ct = tau - (p[..., None] * tau).sum(dim=-2, keepdim=True)
    cs = s - (p[..., None] * s).sum(dim=-2, keepdim=True)
    sigma_s = torch.einsum("...k,...ki,...kj->...ij", p, cs, cs)
    sigma_st = torch.einsum("...k,...ki,...kj->...ij", p, cs, ct)
    sigma_t = torch.einsum("...k,...ki,...kj->...ij", p, ct, ct)
    explained = sigma_st @ torch.linalg.pinv(sigma_t) @ sigma_st.transpose(-1, -2)
    return sigma_s.diagonal(dim1=-2, dim2=-1).sum(-1) - explained.diagonal(dim1=-2, dim2=-1).sum(-1)


def anchored_residual(tau: torch.Tensor, s: torch.Tensor, anchor_tau: torch.Tensor, anchor_s: torch.Tensor,
                      weights: torch.Tensor) -> torch.Tensor:
    """Eq. (15): ``[...]`` min_W sum_k w_k ||W (tau_a - tau_k) - (s_a - s_k)||^2, no intercept.

    Shapes: ``tau [..., K, F]``, ``s [..., K, d]``, ``anchor_tau [..., F]``, ``anchor_s [..., d]``, ``weights [..., K]``.
    """
    dt = anchor_tau.to(torch.float64)[..., None, :] - tau.to(torch.float64)
    ds = anchor_s.to(torch.float64)[..., None, :] - s.to(torch.float64)
    w = weights.to(torch.float64)
    gram = torch.einsum("...k,...ki,...kj->...ij", w, dt, dt)
    cross = torch.einsum("...k,...ki,...kj->...ij", w, ds, dt)
    total = (w * (ds ** 2).sum(-1)).sum(-1)
    explained = cross @ torch.linalg.pinv(gram) @ cross.transpose(-1, -2)
    return total - explained.diagonal(dim1=-2, dim2=-1).sum(-1)


def jacobian_distances(jacobians: torch.Tensor) -> torch.Tensor:
    """``[K, K]``: ||J_k - J_a||_F for all pairs."""
    flat = jacobians.flatten(1).to(torch.float64)
    return torch.cdist(flat, flat, compute_mode="donot_use_mm_for_euclid_dist")


def epsilon_sweep(distances: torch.Tensor, quantiles: Sequence[float] = EPSILON_QUANTILES) -> torch.Tensor:
    """``[E]`` epsilons at quantiles of the off-diagonal pairwise Jacobian distances."""
    k = distances.shape[0]
    off = distances[~torch.eye(k, dtype=torch.bool)]
    if off.numel() == 0:
        return torch.zeros(len(quantiles), dtype=torch.float64)
    return torch.quantile(off, torch.as_tensor(quantiles, dtype=torch.float64))


def local_sets(distances: torch.Tensor, epsilons: torch.Tensor, anchors: torch.Tensor | None = None) -> torch.Tensor:
    """``[E, A, K]`` masks of M_eps(a) = {k : ||J_k - J_a|| <= eps} for each epsilon and anchor."""
    rows = distances if anchors is None else distances[anchors]
    return rows[None, :, :] <= epsilons[:, None, None]


def span_dimension(s: torch.Tensor, masks: torch.Tensor, tol: float | None = None) -> torch.Tensor:
    """``[...]`` r(M) = dim span{s_k : k in M} (rank of the member rows)."""
    member_rows = s.to(torch.float64) * masks[..., None].to(torch.float64)
    return torch.linalg.matrix_rank(member_rows, atol=tol) if tol is not None else torch.linalg.matrix_rank(member_rows)


@dataclass(frozen=True)
class SurrogateSweep:
    """Theorem 6 / Definition 5 over a sweep of epsilons and all anchors.

    Attributes:
        epsilons: ``[E]``.
        set_size: ``[E, A]`` |M_eps(a)| counting repeats; ``distinct``: ``[E, A]`` distinct samples in it;
            ``degenerate``: ``[E, A]`` distinct <= |tau| + 1; ``exact_fit``: ``[E, A]`` not degenerate and
            R_17 <= EXACT_FIT_RELATIVE * Tr(Sigma_s) (s affine in tau on M).
        span: ``[E, A]`` r(M).
        r17: ``[E, A]`` Eq. (17); ``r15``: ``[E, A]`` Eq. (15).
        bounded: {"norm", "sqrt", "squared"} -> ``[E]`` fraction of (non-degenerate set, member)
            pairs with ||D|| < R, ||D|| < sqrt(R), ||D||^2 < R (NaN where no set is non-degenerate).
        worst_margin: ``[E]`` min over those pairs of R - ||D|| (the paper's reading).
        feature_dim: |tau|.
    """

    epsilons: torch.Tensor
    set_size: torch.Tensor
    distinct: torch.Tensor
    degenerate: torch.Tensor
    exact_fit: torch.Tensor
    span: torch.Tensor
    r17: torch.Tensor
    r15: torch.Tensor
    bounded: dict[str, torch.Tensor]
    worst_margin: torch.Tensor
    worst_pair: torch.Tensor
    feature_dim: int


def total_variance(s: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``[...]`` Tr(Sigma_s) of ``s [..., K, d]`` under ``weights [..., K]``."""
    p = weights.to(torch.float64) / weights.to(torch.float64).sum(dim=-1, keepdim=True)
    mean = (p[..., None] * s).sum(dim=-2, keepdim=True)
    return (p * ((s - mean) ** 2).sum(-1)).sum(-1)


def surrogate_sweep(tau: torch.Tensor, s: torch.Tensor, jacobians: torch.Tensor, deviation_norm: torch.Tensor,
                    epsilons: torch.Tensor | None = None, anchors: torch.Tensor | None = None,
                    pair_ids: torch.Tensor | None = None) -> SurrogateSweep:
    """Evaluate Definition 5 and Theorem 6 for every epsilon and anchor (module docstring).

    ``pair_ids [K]`` label repeated copies of one (tau, s) pair (default: all samples distinct).
    """
    distances = jacobian_distances(jacobians)
    epsilons = epsilon_sweep(distances) if epsilons is None else torch.as_tensor(epsilons, dtype=torch.float64)
    anchors = torch.arange(tau.shape[0]) if anchors is None else anchors
    masks = local_sets(distances, epsilons, anchors)                                  # [E, A, K]
    e, a, k = masks.shape
    w = masks.to(torch.float64)
    tau_b = tau.to(torch.float64).expand(e, a, *tau.shape)
    s_b = s.to(torch.float64).expand(e, a, *s.shape)
    r17 = centred_residual(tau_b, s_b, w)
    r15 = anchored_residual(tau_b, s_b, tau[anchors].expand(e, a, -1), s[anchors].expand(e, a, -1), w)
    size = masks.sum(-1)
    ids = torch.arange(k) if pair_ids is None else torch.unique(pair_ids, return_inverse=True)[1]
    one_hot = torch.nn.functional.one_hot(ids, int(ids.max()) + 1).to(torch.float64)      # [K, U]
    distinct = ((w @ one_hot) > 0).sum(-1)
    degenerate = distinct <= tau.shape[1] + 1
    exact_fit = ~degenerate & (r17 <= EXACT_FIT_RELATIVE * total_variance(s_b, w))
    pairs = masks & ~degenerate[..., None]                                            # members of usable sets
    dev = deviation_norm.to(torch.float64)[None, None, :]
    r = r17[..., None]
    tests = {"norm": dev < r, "sqrt": dev < r.clamp_min(0).sqrt(), "squared": dev ** 2 < r}
    count = pairs.sum(dim=(1, 2)).to(torch.float64)
    bounded = {name: torch.where(count > 0, (t & pairs).sum(dim=(1, 2)) / count, torch.full_like(count, float("nan")))
               for name, t in tests.items()}
    margin = torch.where(pairs, r - dev, torch.full_like(r - dev, float("inf")))
    flat = margin.flatten(1)
    worst = flat.min(dim=1)
    return SurrogateSweep(epsilons, size, distinct, degenerate, exact_fit, span_dimension(s, masks), r17, r15, bounded,
                          worst.values, torch.stack([worst.indices // k, worst.indices % k], dim=1), tau.shape[1])
