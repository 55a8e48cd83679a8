"""Fixed-point discovery against plain Eq. 7 iteration (issue 9; `decdiff bench --only fixed-points fixed-points-trained`).

The exact denoiser on one agent of sensor-grid:5x5:targets=2 (H = 5) at sigma = 0.3 and just
below its smallest sigma_c, and a trained width-1024 network on the 3x3 grid (trained once,
cached under $XDG_CACHE_HOME/decdiff/bench), each from the same starts to the same residual,
single-threaded, in one run. Run: ``python benchmarks/bench_fixed_point_discovery.py``.
"""

from __future__ import annotations

import os

import torch

from decdiff.bench.discovery import bench_fixed_points, bench_trained_fixed_points

if __name__ == "__main__":
    torch.set_num_threads(2)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(bench_fixed_points().line())
    print(bench_trained_fixed_points().line())
