"""The hot paths `decdiff bench --scaling` found on the 8x8 grid, computed in bounded memory.

`_saddle_seeds` and `mixture_jacobian` work a block of rows at a time (one agent of the 8x8
grid otherwise took 3.7 GB and 10 s). Forcing tiny blocks here must give what the whole
batch gives: bitwise for the saddle seeds; to round-off for the Jacobian, whose products
then see other batch sizes.
"""

from __future__ import annotations

import pytest
import torch

from decdiff.implementations.denoisers import exact
from decdiff.implementations.denoisers.exact import mixture_weights
from decdiff.implementations.dynamics import fixed_points


def _all_pairs_seeds(stable: torch.Tensor, max_pairs: int) -> torch.Tensor:
    """The unblocked reference: every pair's distance at once."""
    m = stable.shape[0]
    if m < 2 or max_pairs <= 0:
        return stable[:0]
    i, j = torch.triu_indices(m, m, offset=1)
    keep = torch.argsort((stable[i] - stable[j]).norm(dim=1))[:max_pairs]
    return 0.5 * (stable[i[keep]] + stable[j[keep]])


@pytest.mark.parametrize("block_entries", [1, 50, 2**20])
@pytest.mark.parametrize("m, d", [(0, 3), (1, 3), (2, 1), (17, 4), (120, 9)])
def test_blocked_saddle_seeds_equal_the_all_pairs_computation(monkeypatch, block_entries, m, d):
    monkeypatch.setattr(fixed_points, "PAIR_BLOCK_ENTRIES", block_entries)
    gen = torch.Generator().manual_seed(m * 100 + d)
    stable = torch.round(2 * torch.rand(m, d, generator=gen, dtype=torch.float64))     # many tied distances
    for max_pairs in (0, 1, 7, 256):
        assert torch.equal(fixed_points._saddle_seeds(stable, max_pairs), _all_pairs_seeds(stable, max_pairs))


@pytest.mark.parametrize("per_row_weights", [False, True])
def test_chunked_mixture_jacobian_equals_the_whole_batch_covariance(monkeypatch, per_row_weights):
    gen = torch.Generator().manual_seed(3)
    states = torch.round(torch.rand(40, 6, generator=gen, dtype=torch.float64))
    batch = 37
    log_weights = torch.log(torch.rand((batch, 40) if per_row_weights else (40,), generator=gen,
                                       dtype=torch.float64))
    y = states[:batch] + 0.3 * torch.randn(batch, 6, generator=gen, dtype=torch.float64)
    sigma = torch.full((batch,), 0.3, dtype=torch.float64)
    w = mixture_weights(log_weights, states, y, sigma)
    centred = states[None] - (w @ states)[:, None, :]
    whole = torch.einsum("bk,bkd,bke->bde", w, centred, centred) / (sigma * sigma)[:, None, None]
    for entries in (1, 40 * 6 * 5, 2**23):                 # 1 row, 5 rows (a ragged last chunk), one chunk
        monkeypatch.setattr(exact, "JACOBIAN_CHUNK_ENTRIES", entries)
        torch.testing.assert_close(exact.mixture_jacobian(log_weights, states, y, sigma), whole,
                                   rtol=0, atol=1e-13)
    assert torch.equal(exact.mixture_jacobian(log_weights, states, y, sigma), whole)   # one chunk: same bits
