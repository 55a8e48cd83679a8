"""``decdiff bench``: the hot paths timed against the plain method each replaces, in one run.

These machines are noisy, so every figure is a ratio of two timings taken back to back
in the same process (best of `repeats` runs each where a run is short), and the absolute
figures are printed beside it. Each benchmark returns a `BenchFigure`; `run_benchmarks`
runs a selection, `bench_end_to_end` times whole commands in a subprocess and
`bench_scaling` measures how costs grow with the size of the model.

The goals are issue 9's: fixed-point discovery >= 10x plain Eq. 7 iteration (exact denoiser
and a trained width-1024 network), Jacobians by vmap/jacrev >= 20x a per-point loop, the
exact denoiser <= 3 ns per (noisy state, model state) pair, batched posteriors >= 50x a
per-history loop, the quick report from a cold cache < 5 min and the default test run
< 10 min on 2 cores; and issue 16's: `decdiff verify sensor-ring` on a wrapper around the exact
denoiser within 1.5x of its 11 s before, finite-difference Jacobians at most 3x torch.func.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from decdiff.bench.discovery import bench_fixed_points, bench_trained_fixed_points
from decdiff.bench.figures import BenchFigure
from decdiff.bench.hot_paths import (
    bench_exact_denoiser,
    bench_jacobians,
    bench_posteriors,
)
from decdiff.bench.user_denoisers import bench_finite_differences, bench_verify_wrapper

#: The benchmarks by name; each takes the cache folder (used by those that train a network).
BENCHMARKS: dict[str, Callable[[Path | None], BenchFigure]] = {
    "exact-denoiser": lambda cache: bench_exact_denoiser(),
    "fixed-points": lambda cache: bench_fixed_points(),
    "fixed-points-trained": lambda cache: bench_trained_fixed_points(cache=cache),
    "posteriors": lambda cache: bench_posteriors(),
    "jacobians": lambda cache: bench_jacobians(),
    "jacobians-1024": lambda cache: bench_jacobians(width=1024),
    "verify-wrapper": lambda cache: bench_verify_wrapper(),
    "jacobians-finite-differences": lambda cache: bench_finite_differences(),
}


def run_benchmarks(names: list[str] | None = None, progress: Callable[[str], None] = lambda _: None,
                   cache: Path | None = None) -> list[BenchFigure]:
    """Run the named benchmarks (all when `names` is None) in order; each returns its figure."""
    figures = []
    for name in list(BENCHMARKS) if names is None else names:
        progress(name)
        figures.append(BENCHMARKS[name](cache))
    return figures
