"""Fixed-point discovery against plain Eq. 7 iteration from the same starts: on the exact denoiser
(at sigma = 0.3 and just below the smallest sigma_c) and on a trained width-1024 network, each with
the best ratio any method could reach (plain iteration's evaluations per start).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from decdiff.bench.figures import BenchFigure
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories


class CountingMap:
    """A map y -> f(y; sigma) with its Jacobian that counts the rows it evaluates (and says
    whether its Jacobian is symmetric, as the wrapped map does)."""

    def __init__(self, f) -> None:
        self.f, self.evaluations, self.jacobians = f, 0, 0
        self.symmetric = bool(getattr(f, "symmetric", False))

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        self.evaluations += y.shape[0]
        return self.f(y, sigma)

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        self.jacobians += y.shape[0]
        return self.f.jacobian(y, sigma)


def compare_discovery(make_map: Callable[[], Any], states: torch.Tensor, posterior: torch.Tensor, sigma: float, *,
                      n_starts: int, seed: int, max_steps: int, repeats: int = 1) -> dict[str, Any]:
    """The project's fixed-point search against plain Eq. 7 iteration from the same starts, in one run.

    Three methods, single-threaded like `find_fixed_points` itself, interleaved in `repeats`
    rounds (best time of each; evaluations and Jacobians counted in rows in the first):

    * ``stable``: what plain iteration finds, found the project's way: `find_fixed_points`
      without Newton from raw starts and without the saddle search (every start's limit,
      refined to FIXED_POINT_RESIDUAL, deduplicated, with eigenvalues and basin masses):
      the like-for-like method, whose ratio is the figure;
    * ``full``: the whole search, which also finds the saddles plain iteration cannot;
    * ``plain``: plain iteration from the same starts until every residual ||f(y) - y|| is at
      most FIXED_POINT_RESIDUAL (or `max_steps`).

    What bounds the ratio: any method must evaluate f at least once per start to certify
    its residual, so no method beats plain iteration by more than its evaluations per start
    (``best ratio any method``); plain iteration needs ln(r0 / tol) / ln(1 / rho) steps, few
    where the spectral radius rho at the fixed points is small.
    """
    from decdiff.implementations.dynamics.fixed_points import (
        draw_starts,
        find_fixed_points,
    )
    from decdiff.implementations.dynamics.flows import fixed_sigma_flow
    from decdiff.implementations.dynamics.threads import intra_op_threads
    from decdiff.tolerances import FIXED_POINT_DEDUP, FIXED_POINT_RESIDUAL

    starts = draw_starts("posterior", n_starts, states, posterior, sigma, torch.Generator().manual_seed(seed))
    search = dict(n_starts=n_starts, seed=seed, max_steps=max_steps)
    methods: dict[str, Callable[[Any], Any]] = {
        "stable": lambda f: find_fixed_points(f, sigma, states, posterior, newton_starts=0, max_saddle_pairs=0,
                                              **search),
        "full": lambda f: find_fixed_points(f, sigma, states, posterior, **search),
        "plain": lambda f: fixed_sigma_flow(f, starts, sigma, max_steps, tol=FIXED_POINT_RESIDUAL),
    }
    maps = {name: CountingMap(make_map()) for name in methods}
    seconds = dict.fromkeys(methods, float("inf"))
    results: dict[str, Any] = {}
    with intra_op_threads():
        make_map().jacobian(starts[:1], sigma)   # the first torch.func call imports torch._dynamo (~1 s): untimed
        for round_ in range(repeats):
            for name, method in methods.items():
                f = maps[name] if round_ == 0 else make_map()
                start = time.perf_counter()
                result = method(f)
                seconds[name] = min(seconds[name], time.perf_counter() - start)
                results.setdefault(name, result)
    stable, full, flow = results["stable"], results["full"], results["plain"]
    per_start = {name: (maps[name].evaluations / n_starts, maps[name].jacobians / n_starts) for name in methods}

    def share(found) -> str:
        """How many plain limits are among a search's points."""
        points = torch.from_numpy(np.array([p.point for p in found.points]).reshape(-1, states.shape[1]))
        ends = flow.y[flow.converged]
        matched = (torch.cdist(ends, points).amin(dim=1) < FIXED_POINT_DEDUP) if points.shape[0] else \
            torch.zeros(ends.shape[0], dtype=torch.bool)
        return f"{int(matched.sum())}/{ends.shape[0]}"

    return {
        "sigma": sigma, "starts": n_starts,
        "stable s": seconds["stable"], "full s": seconds["full"], "plain s": seconds["plain"],
        "time ratio": seconds["plain"] / seconds["stable"],
        "time ratio of the full search": seconds["plain"] / seconds["full"],
        "stable evaluations/start": per_start["stable"][0], "stable Jacobian rows/start": per_start["stable"][1],
        "full evaluations/start": per_start["full"][0], "full Jacobian rows/start": per_start["full"][1],
        "plain evaluations/start": per_start["plain"][0],
        "best ratio any method": per_start["plain"][0],
        "plain unconverged": int((~flow.converged).sum()), "plain slowest start steps": int(flow.steps.max()),
        "stable search unconverged": stable.unconverged,
        "plain limits among the stable search's points": share(stable),
        "plain limits among the full search's points": share(full),
        "stable points found": len(stable.stable()),
        "full search fixed points": len(full.points), "full search stable": len(full.stable()),
        "largest stable spectral radius": max((p.spectral_radius for p in full.stable()), default=0.0),
        "repeats": repeats,
    }


def _discovery_figure(name: str, comparison: dict[str, Any], details: dict[str, Any]) -> BenchFigure:
    ratio = comparison["time ratio"]
    return BenchFigure(name, comparison["stable s"], "s", "plain Eq. 7 iteration", comparison["plain s"], ratio,
                       ">= 10x", ratio >= 10, details)


#: The near-critical noise level of the exact fixed-point benchmark: this far (relatively) below
#: the smallest sigma_c of the history's states, where that state's fixed point has a spectral
#: radius near 1 and plain iteration slows down (sigma_c by continuation, to SIGMA_BISECTION).
NEAR_CRITICAL = 1e-4


def bench_fixed_points(n_starts: int = 256, sigma: float = 0.3, seed: int = 0, max_steps: int = 200_000,
                       repeats: int = 3) -> BenchFigure:
    """Fixed points of f* for one agent of sensor-grid:5x5:targets=2 (H = 5): `compare_discovery`.

    At the paper's sigma = 0.3 (the figure) and at (1 - NEAR_CRITICAL) x the smallest
    sigma_c of the history's consistent states (continuation), where plain iteration is
    slowest short of a bifurcation.
    """
    from decdiff.implementations.dynamics.continuation import continuation_sigma_c
    from decdiff.implementations.dynamics.flows import MixtureMap
    from decdiff.implementations.histories import agent_histories

    model = sensor_grid(5, 5, targets=2)
    histories = agent_histories(model, sample_trajectories(model, 5, 1, seed=seed), agents=np.array([0]))
    posterior = torch.from_numpy(model.individual_posterior(0, *(histories.actions[:1].numpy(),
                                                                 histories.observations[:1].numpy()))[0])
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    sigma_c = float(continuation_sigma_c(states.numpy(), posterior.numpy()).min())
    compare = lambda level: compare_discovery(lambda: MixtureMap(states, posterior), states, posterior, level,
                                              n_starts=n_starts, seed=seed, max_steps=max_steps, repeats=repeats)
    paper, near = compare(sigma), compare(sigma_c * (1 - NEAR_CRITICAL))
    details = {"model": model.name, "consistent states": int((posterior > 0).sum()), **paper,
               "smallest sigma_c": sigma_c, "near critical": near}
    return _discovery_figure(f"fixed-point discovery, exact (sigma {sigma:g})", paper, details)


#: The trained network of the fixed-point benchmark: the quick suite's 3x3-grid denoiser
#: (QUICK_GRID_TRAINING: sigma = 0.3, 1000 trajectories, 60 epochs, seed 0) at width 1024.
TRAINED_MODEL = "sensor-grid:3x3:targets=2"


def bench_cache_dir() -> Path:
    """Where `decdiff bench` keeps its trained network: $XDG_CACHE_HOME/decdiff/bench (~/.cache by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "decdiff" / "bench"


def bench_trained_fixed_points(width: int = 1024, cache: Path | None = None, n_starts: int = 256, seed: int = 0,
                               max_steps: int = 20_000) -> BenchFigure:
    """`compare_discovery` on a trained width-`width` network (float64 copy) for one agent of the 3x3 grid.

    The network is trained once with the report's trainer (CPU, one thread, seeded) and
    cached under `cache` (default `bench_cache_dir`); the training seconds are reported when
    it was trained in this run. The agent is the one with the most consistent states in a
    sampled joint history (seed); sigma is the network's training sigma (it is noise-blind).
    """
    from dataclasses import replace

    from decdiff.implementations.analysis.jacobian_rank import float64_copy
    from decdiff.implementations.dynamics.flows import ConditionedDenoiser
    from decdiff.implementations.histories import agent_histories
    from decdiff.report.suites import QUICK_GRID_TRAINING
    from decdiff.report.training import TrainSpec, ensure_trained, load_trained

    spec = TrainSpec(TRAINED_MODEL, replace(QUICK_GRID_TRAINING, width=width))
    cache = bench_cache_dir() if cache is None else Path(cache)
    start = time.perf_counter()
    record, trained_now = ensure_trained(spec, cache)
    training_s = time.perf_counter() - start
    model, network = load_trained(spec, cache)
    network = float64_copy(network)
    histories = agent_histories(model, sample_trajectories(model, spec.config.history_length, 1, seed=seed))
    exact = ExactDenoiser(model)
    posteriors = exact.posteriors(histories)
    agent = int((posteriors > 0).sum(dim=1).argmax())
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    comparison = compare_discovery(lambda: ConditionedDenoiser(network, histories[agent]), states,
                                   posteriors[agent], spec.config.sigma, n_starts=n_starts, seed=seed,
                                   max_steps=max_steps)
    details = {"model": model.name, "width": width, "agent": agent,
               "consistent states": int((posteriors[agent] > 0).sum()), "checkpoint": str(spec.checkpoint(cache)),
               "trained in this run": trained_now, "training s" if trained_now else "load s": training_s,
               "MSE / Bayes MSE": record["mse_ratio"], "epochs": record["epochs"], **comparison}
    return _discovery_figure(f"fixed-point discovery, trained width {width}", comparison, details)
