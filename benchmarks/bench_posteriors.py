"""Exact individual posteriors for sensor-grid:5x5:targets=2 (issue 2's figure; same as ``decdiff bench --only posteriors``).

25 agents x 10,000 sampled histories of length 5 (300 states) with the batched filter,
against the same filter run one history at a time, in one run.
Run: ``python benchmarks/bench_posteriors.py``.
"""

from __future__ import annotations

import torch

from decdiff.bench.hot_paths import bench_posteriors

if __name__ == "__main__":
    torch.set_num_threads(2)
    print(bench_posteriors().line())
