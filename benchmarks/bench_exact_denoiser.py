"""Exact denoiser core: ns per (noisy state, model state) pair, against a plain one-softmax version.

B = 100,000 noisy states, 300 model states of dimension 25 (the 5x5 two-target grid's
multi-hot states), float64, torch.set_num_threads(2); goal <= 3 ns per pair. Both
implementations run in the same process; the best of 5 runs each is reported.
Run: ``python benchmarks/bench_exact_denoiser.py``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import mixture_mean
from decdiff.implementations.models.sensor_networks import sensor_grid

BATCH, SIGMA, REPEATS = 100_000, 0.3, 5


def plain_mean(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The textbook version: softmax(log pi - ||y - s||^2 / 2 sigma^2) @ S."""
    logits = log_weights - torch.cdist(y, states) ** 2 / (2 * sigma[:, None] ** 2)
    return torch.softmax(logits, dim=1) @ states


def best_time(fn) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.set_num_threads(2)
    states = torch.from_numpy(np.ascontiguousarray(sensor_grid(5, 5, targets=2).states, dtype=np.float64))
    gen = torch.Generator().manual_seed(0)
    log_weights = torch.log(torch.rand(states.shape[0], generator=gen, dtype=torch.float64))
    y = states[torch.randint(states.shape[0], (BATCH,), generator=gen)] + SIGMA * torch.randn(
        BATCH, states.shape[1], generator=gen, dtype=torch.float64)
    sigma = torch.full((BATCH,), SIGMA, dtype=torch.float64)
    pairs = BATCH * states.shape[0]
    fast = best_time(lambda: mixture_mean(log_weights, states, y, sigma)) / pairs * 1e9
    plain = best_time(lambda: plain_mean(log_weights, states, y, sigma)) / pairs * 1e9
    err = (mixture_mean(log_weights, states, y, sigma) - plain_mean(log_weights, states, y, sigma)).abs().max()
    print(f"exact denoiser core, B={BATCH}, {states.shape[0]} states of dim {states.shape[1]}, float64, 2 threads: "
          f"{fast:.2f} ns/pair (goal <= 3), plain one-softmax {plain:.2f} ns/pair, ratio {plain / fast:.1f}x; "
          f"max difference {float(err):.1e}")


if __name__ == "__main__":
    main()
