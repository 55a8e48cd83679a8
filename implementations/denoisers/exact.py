"""The exact reference denoiser f*(tau, y) = E[s | y, tau] for a discrete posterior (Eq. 2).

With posterior weights pi_k = p(s_k | tau) over the model's states s_k in R^d and
y = s + sigma z,

    w_k(y) = softmax_k( log pi_k - ||y - s_k||^2 / (2 sigma^2) )
           = softmax_k( log pi_k + (y . s_k - ||s_k||^2 / 2) / sigma^2 )      (||y||^2 cancels)
    f*(y)  = sum_k w_k(y) s_k
    J(y)   = d f*/d y = Cov_w[s] / sigma^2 = (sum_k w_k s_k s_k^T - f* f*^T) / sigma^2

(docs/claims.md#exact-denoiser). Everything is float64 and in log space: states with zero posterior
weight have logit -inf and weight exactly 0, and sigma = 1e-3 gives finite answers.

Speed (issue 3): the logits of a chunk of rows are one matrix product with the
augmented matrices [y / sigma^2, -1 / (2 sigma^2)] and [s_k, ||s_k||^2]; the softmax is
shifted in place and exponentiated, and its normaliser comes out of the second matrix
product as an extra column of ones, so each (noisy state, model state) pair is touched
by two products, one max and one exp. Rows are processed in chunks that stay in cache.
States that no history of the batch supports are dropped before any of this.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.denoisers.protocol import as_sigma
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy

#: Rows per chunk of the mixture kernels: a [1024, K] float64 logit block stays in L2/L3
#: for the K of a few hundred that the benchmarks use (measured: 1024 is the fastest of
#: 128..4096 for K = 300, d = 25).
CHUNK_ROWS = 1024

#: Entries of the ``[rows, K, d]`` centred states of one chunk of `mixture_jacobian` (2^23 float64
#: = 64 MiB).
JACOBIAN_CHUNK_ENTRIES = 2**23


def mixture_logits(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor,
                   sigma: torch.Tensor) -> torch.Tensor:
    """``[B, K]``: log pi_k - ||y - s_k||^2 / (2 sigma^2), up to a per-row constant.

    ``log_weights`` is ``[B, K]``, or ``[K]`` when every row shares one posterior.
    """
    inv_var = (1.0 / (sigma * sigma))[:, None]
    augmented_y = torch.cat([y * inv_var, -0.5 * inv_var], dim=1)
    augmented_states = torch.cat([states, (states * states).sum(dim=1, keepdim=True)], dim=1)
    return torch.addmm(log_weights, augmented_y, augmented_states.T)


def mixture_weights(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor,
                    sigma: torch.Tensor) -> torch.Tensor:
    """``[B, K]``: w_k(y) = p(s_k | y, tau)."""
    return torch.softmax(mixture_logits(log_weights, states, y, sigma), dim=1)


def _mean_chunk(log_weights: torch.Tensor, states: torch.Tensor, states_one: torch.Tensor, y: torch.Tensor,
                sigma: torch.Tensor) -> torch.Tensor:
    logits = mixture_logits(log_weights, states, y, sigma)
    # The shift cancels in the ratio below, so it carries no gradient (detach); exp is out of
    # place so that autograd and torch.func keep the logits they saved.
    unnormalised = torch.exp(logits.sub_(logits.amax(dim=1, keepdim=True).detach()))
    moments = unnormalised @ states_one                      # [B, d + 1]: sum_k e_k s_k and sum_k e_k
    return moments[:, :-1] / moments[:, -1:]


def mixture_mean(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor,
                 sigma: torch.Tensor) -> torch.Tensor:
    """``[B, d]``: f*(y) = E_w[s] (Eq. 2), chunked over rows (see the module docstring).

    Differentiable and usable under ``torch.func`` transforms (the in-place steps act
    on intermediates only).
    """
    states_one = torch.cat([states, torch.ones_like(states[:, :1])], dim=1)
    shared = log_weights.ndim == 1
    chunks = [_mean_chunk(log_weights if shared else log_weights[a:a + CHUNK_ROWS], states, states_one,
                          y[a:a + CHUNK_ROWS], sigma[a:a + CHUNK_ROWS])
              for a in range(0, max(y.shape[0], 1), CHUNK_ROWS)]
    return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


def mixture_jacobian(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor,
                     sigma: torch.Tensor) -> torch.Tensor:
    """``[B, d, d]``: Cov_w[s] / sigma^2 (Eq. 9 for f*), symmetric positive semidefinite.

    Computed as ``sum_k w_k (s_k - f*)(s_k - f*)^T`` (centred, so no cancellation), for a
    chunk of rows at a time whose ``[rows, K, d]`` centred states hold at most
    JACOBIAN_CHUNK_ENTRIES entries: all 1,800 rows of an 8x8-grid agent (K = 1770, d = 64)
    at once took 1.6 GB and 3-7x the time (decdiff bench --scaling). A batch that fits one
    chunk gives the same bits as before; split into chunks, entries move by at most a few
    ulps (the products see other batch sizes).
    """
    w = mixture_weights(log_weights, states, y, sigma)
    rows = max(1, JACOBIAN_CHUNK_ENTRIES // max(1, states.shape[0] * states.shape[1]))
    covs = []
    for a in range(0, max(w.shape[0], 1), rows):
        chunk = w[a:a + rows]
        centred = states[None, :, :] - (chunk @ states)[:, None, :]            # [rows, K, d]
        covs.append(torch.einsum("bk,bkd,bke->bde", chunk, centred, centred))
    cov = covs[0] if len(covs) == 1 else torch.cat(covs)
    return cov / (sigma * sigma)[:, None, None]


@dataclass(frozen=True)
class PreparedPosteriors:
    """The log-posteriors of a batch, ready for the mixture kernels.

    Attributes:
        support: ``[K']`` indices of the model states some history of the batch supports.
        log_table: ``[U, K']`` log p(s | tau) of the U distinct histories (-inf off support).
        inverse: ``[B]`` row of `log_table` for each history of the batch.
    """

    support: torch.Tensor
    log_table: torch.Tensor
    inverse: torch.Tensor

    def log_weights(self) -> torch.Tensor:
        """``[K']`` when the batch holds one distinct history, else ``[B, K']``."""
        return self.log_table[0] if self.log_table.shape[0] == 1 else self.log_table[self.inverse]


class ExactDenoiser:
    """f*(tau_i, y; sigma) from the model's exact individual posteriors (noise-conditional).

    Posteriors are computed once per distinct history (deduplicated within a batch and
    cached across calls), and the prepared log-posteriors of a batch are kept for as
    long as the batch object lives, so a flow that calls the denoiser many times on the
    same `HistoryBatch` pays for the deduplication once.
    """

    sigma: float | None = None

    def __init__(self, model: DecPOMDP, policy: Policy | None = None) -> None:
        self.model = model
        self.policy = policy
        self.states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
        self._cache: dict[bytes, np.ndarray] = {}
        self._prepared: weakref.WeakKeyDictionary[HistoryBatch, PreparedPosteriors] = weakref.WeakKeyDictionary()

    def _unique_posteriors(self, histories: HistoryBatch) -> tuple[np.ndarray, np.ndarray]:
        """``[U, S]`` posteriors of the distinct histories and the ``[B]`` inverse index."""
        rows = histories.index_rows()
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        missing = [r for r in range(unique.shape[0]) if unique[r].tobytes() not in self._cache]
        if missing:
            self._fill(unique[missing], action_width=int(histories.actions.shape[1]))
        return np.stack([self._cache[u.tobytes()] for u in unique]), inverse.reshape(-1)

    def posteriors(self, histories: HistoryBatch) -> torch.Tensor:
        """``[B, S]``: p(s | tau_b) for every history in the batch."""
        table, inverse = self._unique_posteriors(histories)
        return torch.from_numpy(table[inverse])

    def _fill(self, unique: np.ndarray, action_width: int) -> None:
        """Run the filter for histories not seen yet, grouped by (agent, length).

        Rows are `HistoryBatch.index_rows`: agent, length, padded actions, padded observations.
        """
        for key in np.unique(unique[:, :2], axis=0):
            group = unique[np.all(unique[:, :2] == key, axis=1)]
            agent, length = int(key[0]), int(key[1])
            n_actions, _ = self.model.history_shape(length)
            actions = group[:, 2:2 + n_actions]
            observations = group[:, 2 + action_width:2 + action_width + length]
            post = self.model.individual_posterior(agent, actions, observations, policy=self.policy)
            for row, p in zip(group, post):
                self._cache[row.tobytes()] = p

    def log_posteriors(self, histories: HistoryBatch) -> torch.Tensor:
        """``[B, S]``: log p(s | tau_b), -inf where the posterior is zero."""
        return torch.log(self.posteriors(histories))

    def prepare(self, histories: HistoryBatch) -> PreparedPosteriors:
        """The batch's log-posteriors restricted to their joint support (cached per batch object)."""
        prepared = self._prepared.get(histories)
        if prepared is None:
            table, inverse = self._unique_posteriors(histories)
            support = np.flatnonzero((table > 0).any(axis=0))
            with np.errstate(divide="ignore"):
                log_table = np.log(table[:, support])
            prepared = PreparedPosteriors(torch.from_numpy(support), torch.from_numpy(log_table),
                                          torch.from_numpy(inverse))
            self._prepared[histories] = prepared
        return prepared

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        sigma = as_sigma(sigma, y.shape[0])
        prepared = self.prepare(histories)
        return mixture_mean(prepared.log_weights(), self.states[prepared.support], y.to(torch.float64), sigma)

    def jacobian(self, histories: HistoryBatch, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """Closed-form ``[B, d, d]`` Jacobian d f*/d y = Cov[s | y, tau] / sigma^2."""
        sigma = as_sigma(sigma, y.shape[0])
        prepared = self.prepare(histories)
        return mixture_jacobian(prepared.log_weights(), self.states[prepared.support], y.to(torch.float64), sigma)
