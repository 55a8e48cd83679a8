"""Run the dynamics tests single-threaded: their batches are small (tens to thousands of rows),
where torch's intra-op threads only add synchronisation, which on this shared 2-core machine
made single tests 10-100x slower at load ~6 (see implementations/dynamics/threads.py)."""

import pytest

from decdiff.implementations.dynamics.threads import intra_op_threads


@pytest.fixture(autouse=True)
def _single_thread():
    with intra_op_threads(1):
        yield
