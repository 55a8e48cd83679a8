"""How the cost of posteriors, fixed points and checks grows with states, agents and history length:
the plans (`SCALING_PLANS`), the measurement (`bench_scaling`, one series per (axis, stage) with the
fitted exponent k of t ~ c n^k) and its JSON for the report's timings (`scaling_data`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.sampling import sample_trajectories


@dataclass(frozen=True)
class ScalingSeries:
    """Seconds of one stage against one size axis, and the fitted exponent of t ~ c n^k.

    ``models`` and ``history_lengths`` give the model spec and H of each size.
    """

    stage: str
    axis: str
    sizes: list[int]
    seconds: list[float]
    exponent: float
    models: list[str]
    history_lengths: list[int]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fitted_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log t against log n."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


@dataclass(frozen=True)
class ScalingPlan:
    """What `bench_scaling` measures: the size axes and the work per stage.

    Attributes:
        axes: axis name -> [(size, model spec, history length)].
        histories: sampled histories per agent for the posterior stage.
        starts: starts per agent for the fixed-point stage (`fixed_point_summary`, all agents
            of one sampled joint history).
        check_budget: the checks' `Budget` fields (the rest default) for the check stage (every
            registered check on the exact denoiser at sigma = 0.3).
    """

    axes: dict[str, list[tuple[int, str, int]]]
    histories: int
    starts: int
    check_budget: dict[str, int]


#: The paper size: states 36 -> 2016 (two targets on 3x3 .. 8x8 grids, so the number of agents
#: grows too: 9 .. 64), agents 4 -> 64 (one target, so states = agents), history length 1 -> 10
#: on the 5x5 grid.
PAPER_SCALING = ScalingPlan(
    axes={"states": [(36, "sensor-grid:3x3:targets=2", 2), (120, "sensor-grid:4x4:targets=2", 2),
                     (300, "sensor-grid:5x5:targets=2", 2), (2016, "sensor-grid:8x8:targets=2", 2)],
          "agents": [(4, "sensor-grid:2x2:targets=1", 2), (8, "sensor-grid:2x4:targets=1", 2),
                     (16, "sensor-grid:4x4:targets=1", 2), (32, "sensor-grid:4x8:targets=1", 2),
                     (64, "sensor-grid:8x8:targets=1", 2)],
          "history length": [(h, "sensor-grid:5x5:targets=2", h) for h in (1, 2, 5, 10)]},
    histories=1000, starts=64, check_budget={"histories": 8, "starts": 32})

#: The quick size (< 30 s on 2 cores): states 36 -> 300, agents 4 -> 32, history length on the
#: 3x3 grid, less work per point.
QUICK_SCALING = ScalingPlan(
    axes={"states": PAPER_SCALING.axes["states"][:3],
          "agents": PAPER_SCALING.axes["agents"][:4],
          "history length": [(h, "sensor-grid:3x3:targets=2", h) for h in (1, 2, 5, 10)]},
    histories=200, starts=16, check_budget={"histories": 1, "starts": 8, "fixed_point_histories": 2})

SCALING_PLANS: dict[str, ScalingPlan] = {"quick": QUICK_SCALING, "paper": PAPER_SCALING}
ScalingSize = Literal["quick", "paper"]


def _time_posteriors(model: DecPOMDP, length: int, plan: ScalingPlan, seed: int) -> float:
    traj = sample_trajectories(model, length, plan.histories, seed=seed)
    start = time.perf_counter()
    for agent in range(model.n_agents):
        model.individual_posterior(agent, *traj.agent_history(agent))
    return time.perf_counter() - start


def _time_fixed_points(model: DecPOMDP, length: int, plan: ScalingPlan, seed: int) -> float:
    from decdiff.implementations.dynamics.certify import fixed_point_summary
    from decdiff.implementations.histories import agent_histories

    histories = agent_histories(model, sample_trajectories(model, length, 1, seed=seed))
    start = time.perf_counter()
    fixed_point_summary(model, histories, 0.3, n_starts=plan.starts, seed=seed)
    return time.perf_counter() - start


def _time_checks(model: DecPOMDP, length: int, plan: ScalingPlan, seed: int) -> float:
    from decdiff.properties.context import Budget, CheckContext
    from decdiff.properties.registration import run_checks

    ctx = CheckContext(model=model, denoiser=ExactDenoiser(model), denoiser_label="exact", sigma=0.3,
                       history_length=length, seed=seed, budget=Budget(**plan.check_budget))
    start = time.perf_counter()
    run_checks(ctx)
    return time.perf_counter() - start


SCALING_STAGES: dict[str, Callable[[DecPOMDP, int, ScalingPlan, int], float]] = {
    "posteriors": _time_posteriors, "fixed points": _time_fixed_points, "checks": _time_checks}


#: A scaling point that took less than this many seconds is timed again (best of SCALING_REPEATS),
#: so that short timings are not one scheduler hiccup on a shared machine.
SCALING_REPEAT_BELOW_S = 0.5
SCALING_REPEATS = 3


def bench_scaling(size: ScalingSize = "paper", seed: int = 0, stages: tuple[str, ...] | None = None,
                  progress: Callable[[str], None] = lambda _: None) -> list[ScalingSeries]:
    """How the cost of posteriors, fixed points and checks (`stages`, all by default) grows along each
    axis of the plan `size` (`ScalingPlan` says what each stage does); one series per (axis, stage).

    Each stage first runs once untimed on the plan's first point (imports, registry discovery
    and caches would otherwise land in the first timing and bend the fitted exponent); a point
    under SCALING_REPEAT_BELOW_S is timed SCALING_REPEATS times and the best time kept.
    """
    from decdiff.implementations.models.registry import load_model

    plan = SCALING_PLANS[size]
    stages = tuple(SCALING_STAGES) if stages is None else stages
    _, first_spec, first_length = next(iter(plan.axes.values()))[0]
    for stage in stages:
        progress(f"scaling {stage}: warm-up")
        SCALING_STAGES[stage](load_model(first_spec), first_length, plan, seed)
    series = []
    for axis, points in plan.axes.items():
        for stage in stages:
            seconds = []
            for size_value, spec, length in points:
                progress(f"scaling {stage} / {axis} = {size_value}")
                model = load_model(spec)
                best = SCALING_STAGES[stage](model, length, plan, seed)
                for _ in range(SCALING_REPEATS - 1 if best < SCALING_REPEAT_BELOW_S else 0):
                    best = min(best, SCALING_STAGES[stage](model, length, plan, seed))
                seconds.append(best)
            sizes = [p[0] for p in points]
            series.append(ScalingSeries(stage, axis, sizes, seconds, fitted_exponent(sizes, seconds),
                                        [p[1] for p in points], [p[2] for p in points]))
    return series


def scaling_data(size: ScalingSize = "quick", seed: int = 0) -> dict[str, Any]:
    """Measure the scaling plan `size` (``"quick"``: < 30 s on 2 cores; ``"paper"``: states up to 2016).

    Returns ``{"size", "seed", "threads", "load_average": [before, after], "plan": {...},
    "series": [{"stage", "axis", "sizes", "seconds", "exponent", "models", "history_lengths"}]}``.
    """
    import torch

    plan = SCALING_PLANS[size]
    before = os.getloadavg()[0]
    series = bench_scaling(size, seed=seed)
    return {"size": size, "seed": seed, "threads": torch.get_num_threads(),
            "load_average": [before, os.getloadavg()[0]],
            "plan": {"histories per agent (posteriors)": plan.histories,
                     "starts per agent (fixed points)": plan.starts,
                     "check budget": plan.check_budget},
            "series": [s.to_json() for s in series]}
