"""Intra-op thread count for the small batched computations of the dynamics package.

Fixed points are found one history at a time on batches of a few hundred rows, where
torch's intra-op parallelism gains nothing and its synchronisation costs a lot on a
shared machine: the 25-agent summary of ``sensor-grid:5x5:targets=2`` took 42-64 s with
2 threads and 3.1 s with 1 thread at load average ~7 on 2 cores (benchmarks/bench_fixed_points.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def intra_op_threads(count: int = 1) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)`` and restore the previous setting."""
    previous = torch.get_num_threads()
    if previous == count:                     # re-setting costs milliseconds under load
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
