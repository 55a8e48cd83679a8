"""Thread counts for the small batched computations of the dynamics package (torch and numpy's BLAS).

Fixed points are found one history at a time on batches of a few hundred rows, where
intra-op parallelism gains nothing and its synchronisation costs a lot on a shared
machine: the 25-agent summary of ``sensor-grid:5x5:targets=2`` took 42-64 s with 2 torch
threads and 3.1 s with 1 thread at load average ~7 on 2 cores (benchmarks/bench_fixed_points.py);
numpy's OpenBLAS is worse still: ``np.linalg.matrix_rank`` of a 1953 x 64 matrix (contraction.py)
took 127 ms with its 2 threads and 3.1 ms with 1 at load average 2.5.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache

import torch
from threadpoolctl import ThreadpoolController


@cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries of numpy and scipy (scipy's wheels carry their own OpenBLAS, loaded
    here first), found once: a controller's ``limit`` then costs microseconds, against ~0.4 ms
    for a fresh scan."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so that the controller finds it)

    return ThreadpoolController()


@contextmanager
def intra_op_threads(count: int = 1) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(count)`` and at most `count` BLAS threads, then restore both."""
    previous = torch.get_num_threads()
    with ExitStack() as stack:
        stack.enter_context(_blas().limit(limits=count, user_api="blas"))
        if previous != count:                     # re-setting costs milliseconds under load
            torch.set_num_threads(count)
            stack.callback(torch.set_num_threads, previous)
        yield
