"""Exact denoiser core: ns per (noisy state, model state) pair (issue 3's figure; ``decdiff bench --only exact-denoiser``).

B = 100,000 noisy states, the 5x5 grid's 300 states of dimension 25, float64, 2 threads,
against a plain one-softmax version and the machine's float64 matrix-multiply rate, in one run.
Run: ``python benchmarks/bench_exact_denoiser.py``.
"""

from __future__ import annotations

import torch

from decdiff.bench.hot_paths import bench_exact_denoiser

if __name__ == "__main__":
    torch.set_num_threads(2)
    print(bench_exact_denoiser().line())
