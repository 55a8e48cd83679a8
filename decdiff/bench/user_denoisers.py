"""Costs of checking a user's denoiser (issue 16): the whole `decdiff verify sensor-ring` on a plain wrapper
around the exact denoiser, and finite-difference Jacobians against torch.func ones on the ring models.

Goals: the wrapper's verify run within 1.5x of the 11 s it took before the reference checks and
the Jacobian fallbacks existed (quiet machine; the exact denoiser's own run is timed beside it, and
the load average is printed, since this machine is shared); finite differences at most 3x the
cost of torch.func.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from decdiff.bench.figures import BenchFigure, best_times
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.jacobians import autograd_jacobian
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.sampling import sample_trajectories

#: `decdiff verify sensor-ring --denoiser FILE.py:FACTORY` with an exact wrapper took this long before issue 16.
VERIFY_BEFORE_S = 11.0
VERIFY_GOAL_FACTOR = 1.5
FINITE_DIFFERENCE_GOAL = 3.0
RING_MODELS = ("sensor-ring", "sensor-ring-noisy")


class ExactWrapper:
    """The exact denoiser behind a plain callable, as a user's ``FILE.py:make`` would return it."""

    sigma = None

    def __init__(self, model) -> None:
        self.exact = ExactDenoiser(model)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma)


def bench_verify_wrapper() -> BenchFigure:
    """Seconds of every check on sensor-ring (sigma 0.3, H = 1, default budget) for the wrapper, and for f*."""
    from decdiff.checking.registry import check_denoiser

    model = load_model("sensor-ring")
    load = os.getloadavg()[0]
    wrapper, exact = best_times([lambda: check_denoiser(ExactWrapper(model), model, sigma=0.3, history_length=1),
                                 lambda: check_denoiser(ExactDenoiser(model), model, sigma=0.3, history_length=1)],
                                repeats=1)
    goal = VERIFY_GOAL_FACTOR * VERIFY_BEFORE_S
    return BenchFigure("verify sensor-ring, exact wrapper", wrapper, "s", "the exact denoiser itself", exact,
                       goal / wrapper, f"< {goal:g} s ({VERIFY_GOAL_FACTOR:g} x {VERIFY_BEFORE_S:g} s)", wrapper < goal,
                       {"load average": load, "cores": os.cpu_count()})


def bench_finite_differences(rows: int = 256) -> BenchFigure:
    """Seconds of ``rows`` Jacobians of the wrapper by finite differences against torch.func, worst ring model."""
    ratios, times = [], {}
    for name in RING_MODELS:
        model = load_model(name)
        history = agent_histories(model, sample_trajectories(model, 1, 1, seed=0))[0]
        y = torch.from_numpy(np.asarray(model.states, dtype=np.float64))[
            torch.arange(rows) % model.n_states] + 0.3 * torch.randn(rows, model.state_dim, dtype=torch.float64,
                                                                     generator=torch.Generator().manual_seed(0))
        sigma = torch.full((rows,), 0.3, dtype=torch.float64)
        by_method = {}
        for method in ("torch.func", "finite differences"):
            denoiser = ExactWrapper(model)
            denoiser.jacobian_method = method
            by_method[method] = lambda d=denoiser, h=history, y=y, s=sigma: autograd_jacobian(d, h, y, s)
        func, fd = best_times(list(by_method.values()), repeats=5)
        ratios.append(fd / func)
        times[name] = (func, fd)
    worst = int(np.argmax(ratios))
    func, fd = times[RING_MODELS[worst]]
    return BenchFigure(f"Jacobians by finite differences ({RING_MODELS[worst]}, {rows} rows)", fd, "s", "torch.func",
                       func, func / fd, f"<= {FINITE_DIFFERENCE_GOAL:g}x torch.func",
                       max(ratios) <= FINITE_DIFFERENCE_GOAL,
                       {f"{m} fd/func": r for m, r in zip(RING_MODELS, ratios)} | {"load average": os.getloadavg()[0]})
