"""`intra_op_threads` caps torch's threads and the BLAS libraries of numpy and scipy, and restores them."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_info

from decdiff.implementations.dynamics.threads import intra_op_threads


def _blas_threads() -> dict[str, int]:
    return {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


def test_the_block_runs_with_one_thread_everywhere_and_the_settings_come_back():
    torch.set_num_threads(2)
    before = _blas_threads()
    assert len(before) >= 2                  # numpy's and scipy's OpenBLAS
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
        assert set(_blas_threads().values()) == {1}
    assert torch.get_num_threads() == 2 and _blas_threads() == before
