"""``decdiff bench``: the hot paths timed against the plain method each replaces, in one run.

These machines are noisy, so every figure is a ratio of two timings taken back to back
in the same process (best of `repeats` runs each), and the absolute figures are printed
beside it. Each benchmark returns a `BenchFigure`; `run_benchmarks` runs a selection.

The goals are issue 9's: fixed-point discovery >= 10x plain Eq. 7 iteration, Jacobians
by vmap/jacrev >= 20x a per-point loop, the exact denoiser <= 3 ns per (noisy state,
model state) pair, batched posteriors >= 50x a per-history loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import mixture_mean
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories


@dataclass(frozen=True)
class BenchFigure:
    """One measured figure and the plain method it is compared with, timed in the same run.

    ``ratio`` is baseline / value for times (how many times faster the project's method is);
    ``met`` says whether ``goal`` (a predicate on the figure, stated in words) holds.
    """

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    goal: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = "met" if self.met else "MISSED"
        extra = "; ".join(f"{k} {_fmt(v)}" for k, v in self.details.items())
        return (f"{self.name}: {_fmt(self.value)} {self.unit} against {self.baseline} {_fmt(self.baseline_value)} "
                f"{self.unit}, ratio {self.ratio:.1f}x; goal {self.goal}: {mark}" + (f" ({extra})" if extra else ""))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def best_times(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall-clock seconds of each function over `repeats` rounds, after one warm-up call each.

    The functions alternate within each round, so a burst of load on a shared machine
    slows all of them rather than one, and the ratio of the minima stays meaningful.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


# ----- exact denoiser ----------------------------------------------------------------------------------
def plain_mixture_mean(log_weights: torch.Tensor, states: torch.Tensor, y: torch.Tensor,
                       sigma: torch.Tensor) -> torch.Tensor:
    """The textbook f*: softmax(log pi - ||y - s||^2 / 2 sigma^2) @ S, one softmax over all rows."""
    logits = log_weights - torch.cdist(y, states) ** 2 / (2 * sigma[:, None] ** 2)
    return torch.softmax(logits, dim=1) @ states


def matmul_gflops(size: int = 1024, repeats: int = 5) -> float:
    """This machine's measured float64 matrix-multiply rate in GFLOP/s (2 n^3 flops per product)."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen, dtype=torch.float64)
    b = torch.randn(size, size, generator=gen, dtype=torch.float64)
    return 2 * size ** 3 / best_times([lambda: a @ b], repeats)[0] / 1e9


def bench_exact_denoiser(batch: int = 100_000, repeats: int = 5, seed: int = 0) -> BenchFigure:
    """ns per (noisy state, model state) pair of f* on the 5x5 grid's 300 states (d = 25), float64.

    The floor set by the machine's float64 matrix-multiply rate: the two products of
    `mixture_mean` take 2 (d + 1) + 2 (d + 1) flops per pair.
    """
    states = torch.from_numpy(np.ascontiguousarray(sensor_grid(5, 5, targets=2).states, dtype=np.float64))
    gen = torch.Generator().manual_seed(seed)
    log_weights = torch.log(torch.rand(states.shape[0], generator=gen, dtype=torch.float64))
    y = states[torch.randint(states.shape[0], (batch,), generator=gen)] + 0.3 * torch.randn(
        batch, states.shape[1], generator=gen, dtype=torch.float64)
    sigma = torch.full((batch,), 0.3, dtype=torch.float64)
    pairs = batch * states.shape[0]
    fast, plain = (t / pairs * 1e9 for t in best_times([lambda: mixture_mean(log_weights, states, y, sigma),
                                                          lambda: plain_mixture_mean(log_weights, states, y, sigma)],
                                                         repeats))
    difference = float((mixture_mean(log_weights, states, y, sigma)
                        - plain_mixture_mean(log_weights, states, y, sigma)).abs().max())
    gflops = matmul_gflops()
    floor = 4 * (states.shape[1] + 1) / gflops
    return BenchFigure("exact denoiser", fast, "ns/pair", "plain one-softmax", plain, plain / fast, "<= 3 ns/pair",
                       fast <= 3.0, {"pairs": pairs, "threads": torch.get_num_threads(), "matmul GFLOP/s": gflops,
                                     "matmul floor ns/pair": floor, "max difference": difference})


# ----- posteriors ------------------------------------------------------------------------------------
def bench_posteriors(histories: int = 10_000, loop_subset: int = 200, length: int = 5,
                     seed: int = 0) -> BenchFigure:
    """Individual posteriors of every agent of sensor-grid:5x5:targets=2: batched against a per-history loop.

    The batched filter deduplicates histories (on the observations alone here: a sensor's
    actions change nothing), so its figure depends on how often sampled histories repeat;
    the number of distinct ones is reported beside it.
    """
    model = sensor_grid(5, 5, targets=2)
    traj = sample_trajectories(model, length, histories, seed=seed)
    start = time.perf_counter()
    for agent in range(model.n_agents):
        model.individual_posterior(agent, *traj.agent_history(agent))
    batched_total = time.perf_counter() - start
    acts, obs = traj.agent_history(0)
    start = time.perf_counter()
    looped = np.stack([model.individual_posterior(0, acts[b], obs[b]) for b in range(loop_subset)])
    per_loop = (time.perf_counter() - start) / loop_subset
    if not np.allclose(looped, model.individual_posterior(0, acts[:loop_subset], obs[:loop_subset])):
        raise AssertionError("batched and looped posteriors differ")
    per_batched = batched_total / (model.n_agents * histories)
    distinct = int(np.unique(np.concatenate([acts, obs], axis=1), axis=0).shape[0])
    distinct_observations = int(np.unique(obs, axis=0).shape[0])
    return BenchFigure("posteriors", per_batched * 1e6, "us/history", "per-history loop", per_loop * 1e6,
                       per_loop / per_batched, ">= 50x", per_loop / per_batched >= 50,
                       {"all agents x histories s": batched_total, "goal total": "< 10 s",
                        "histories": model.n_agents * histories,
                        "distinct histories of agent 0": distinct,
                        "distinct observation sequences of agent 0": distinct_observations})


# ----- Jacobians -----------------------------------------------------------------------------------
def _untrained_mlp(model: DecPOMDP, encoding, width: int, seed: int):
    """A float64 MLP denoiser with PyTorch's default initialisation, seeded."""
    from decdiff.implementations.analysis.jacobian_rank import float64_copy
    from decdiff.implementations.denoisers.mlp import make_denoiser

    torch.manual_seed(seed)
    return float64_copy(make_denoiser(encoding, model.state_dim, sigma=0.3,
                                      initial_observation=model.has_initial_observation, width=width))


def bench_jacobians(points: int = 512, loop_subset: int = 64, width: int = 256, seed: int = 0) -> BenchFigure:
    """J_y of an MLP denoiser at many (history, y) rows: vmap(jacrev) against a per-point autograd loop.

    Batching turns each point's matrix-vector products into matrix products; once those run
    at the machine's float64 matrix-multiply rate, the ratio can grow no further: the floor
    2 (weights) (1 + d) flops per point is reported with the figure.
    """
    from decdiff.implementations.analysis.jacobian_rank import state_jacobian
    from decdiff.implementations.histories import agent_histories

    model = sensor_grid(3, 3, targets=2)
    histories = agent_histories(model, sample_trajectories(model, 2, points // model.n_agents + 1, seed=seed))
    net = _untrained_mlp(model, histories.encoding, width, seed)
    features = net.features_of(histories)[:points].to(torch.float64)
    gen = torch.Generator().manual_seed(seed)
    y = torch.randn(features.shape[0], model.state_dim, generator=gen, dtype=torch.float64)
    sigma = torch.full((features.shape[0],), 0.3, dtype=torch.float64)
    def loop() -> torch.Tensor:
        return torch.stack([torch.autograd.functional.jacobian(
            lambda row: net.forward_features(features[b:b + 1], row[None], sigma[b:b + 1])[0], y[b])
            for b in range(loop_subset)])

    batched, looped = best_times([lambda: state_jacobian(net, features, y, sigma), loop], 3)
    batched, looped = batched / features.shape[0], looped / loop_subset
    # jacrev costs one forward and d backward passes; each pass multiplies by every weight matrix
    weights = sum(p.numel() for name, p in net.named_parameters() if name.endswith("weight"))
    floor = 2 * weights * (1 + model.state_dim) / (matmul_gflops() * 1e9)
    difference = float((loop() - state_jacobian(net, features[:loop_subset], y[:loop_subset],
                                                sigma[:loop_subset])).abs().max())
    return BenchFigure(f"jacobians (width {width})", batched * 1e6, "us/point", "per-point loop", looped * 1e6, looped / batched,
                       ">= 20x", looped / batched >= 20,
                       {"points": features.shape[0], "width": width, "state dim": model.state_dim,
                        "matmul floor us/point": floor * 1e6, "best ratio the floor allows": looped / floor,
                        "max difference": difference})


# ----- fixed points ----------------------------------------------------------------------------------
class CountingMap:
    """A map y -> f(y; sigma) with its Jacobian that counts the rows it evaluates."""

    def __init__(self, f) -> None:
        self.f, self.evaluations, self.jacobians = f, 0, 0

    def __call__(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        self.evaluations += y.shape[0]
        return self.f(y, sigma)

    def jacobian(self, y: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        self.jacobians += y.shape[0]
        return self.f.jacobian(y, sigma)


def bench_fixed_points(n_starts: int = 256, sigmas: tuple[float, ...] = (0.3, 0.45), seed: int = 0,
                       max_steps: int = 200_000) -> BenchFigure:
    """Fixed points of f* for one agent of sensor-grid:5x5:targets=2 (H = 5), all starts to ||f(y) - y|| <= 1e-12.

    The project's method (`find_fixed_points`: Eq. 7 to a step of FLOW_STEP, then Newton,
    saddles, deduplication) against plain Eq. 7 iteration from the same starts until every
    residual is at most FIXED_POINT_RESIDUAL. Timed at the paper's sigma = 0.3 and at a
    larger sigma where the spectral radius at the fixed points approaches 1 and plain
    iteration slows down; the figure is the larger sigma's wall time. Denoiser evaluations
    per start (Jacobians counted as evaluations) are reported beside it: plain iteration
    needs few on average, but its slowest starts (near basin boundaries) take thousands
    of steps, and the batch waits for them; the project's method stops the flow after
    a bounded number of steps and lets Newton finish.
    """
    from decdiff.implementations.dynamics.fixed_points import draw_starts, find_fixed_points
    from decdiff.implementations.dynamics.flows import MixtureMap, fixed_sigma_flow
    from decdiff.implementations.histories import agent_histories
    from decdiff.tolerances import FIXED_POINT_RESIDUAL

    model = sensor_grid(5, 5, targets=2)
    histories = agent_histories(model, sample_trajectories(model, 5, 1, seed=seed), agents=np.array([0]))
    posterior = torch.from_numpy(model.individual_posterior(0, *(histories.actions[:1].numpy(),
                                                                 histories.observations[:1].numpy()))[0])
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    details: dict[str, Any] = {"consistent states": int((posterior > 0).sum()), "starts": n_starts}
    for sigma in sigmas:
        project, plain = CountingMap(MixtureMap(states, posterior)), CountingMap(MixtureMap(states, posterior))
        starts = draw_starts("posterior", n_starts, states, posterior, sigma, torch.Generator().manual_seed(seed))
        t0 = time.perf_counter()
        find_fixed_points(project, sigma, states, posterior, n_starts=n_starts, seed=seed)
        t1 = time.perf_counter()
        flow = fixed_sigma_flow(plain, starts, sigma, max_steps, tol=FIXED_POINT_RESIDUAL)
        t2 = time.perf_counter()
        details[f"sigma {sigma:g}"] = {
            "project evaluations/start": (project.evaluations + project.jacobians) / n_starts,
            "plain evaluations/start": plain.evaluations / n_starts,
            "project s": t1 - t0, "plain s": t2 - t1, "time ratio": (t2 - t1) / (t1 - t0),
            "plain unconverged": int((~flow.converged).sum()), "plain slowest start steps": int(flow.steps.max()),
        }
    last = details[f"sigma {sigmas[-1]:g}"]
    ratio = last["time ratio"]
    return BenchFigure(f"fixed-point discovery (sigma {sigmas[-1]:g})", last["project s"], "s",
                       "plain Eq. 7 iteration", last["plain s"], ratio, ">= 10x", ratio >= 10, details)


# ----- scaling --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalingSeries:
    """Seconds of one stage against one size axis, and the fitted exponent of t ~ c n^k."""

    stage: str
    axis: str
    sizes: list[int]
    seconds: list[float]
    exponent: float
    models: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fitted_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log t against log n."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _time_posteriors(model: DecPOMDP, length: int, histories: int, seed: int) -> float:
    traj = sample_trajectories(model, length, histories, seed=seed)
    start = time.perf_counter()
    for agent in range(model.n_agents):
        model.individual_posterior(agent, *traj.agent_history(agent))
    return time.perf_counter() - start


def _time_fixed_points(model: DecPOMDP, length: int, seed: int) -> float:
    from decdiff.implementations.dynamics.certify import fixed_point_summary
    from decdiff.implementations.histories import agent_histories

    histories = agent_histories(model, sample_trajectories(model, length, 1, seed=seed))
    start = time.perf_counter()
    fixed_point_summary(model, histories, 0.3, n_starts=64, seed=seed)
    return time.perf_counter() - start


def _time_checks(model: DecPOMDP, length: int, seed: int) -> float:
    from decdiff.implementations.denoisers.exact import ExactDenoiser
    from decdiff.properties.context import Budget, CheckContext
    from decdiff.registry import run_checks

    ctx = CheckContext(model=model, denoiser=ExactDenoiser(model), denoiser_label="exact", sigma=0.3,
                       history_length=length, seed=seed, budget=Budget(histories=8, starts=32))
    start = time.perf_counter()
    run_checks(ctx)
    return time.perf_counter() - start


#: The size axes: (axis name, [(size, model spec, history length)]). States: the one-agent cost
#: grows with the number of states (36 -> 2016); agents: one target, so states = agents too;
#: history length on the 5x5 grid.
SCALING_AXES: dict[str, list[tuple[int, str, int]]] = {
    "states": [(36, "sensor-grid:3x3:targets=2", 2), (120, "sensor-grid:4x4:targets=2", 2),
               (300, "sensor-grid:5x5:targets=2", 2), (2016, "sensor-grid:8x8:targets=2", 2)],
    "agents": [(4, "sensor-grid:2x2:targets=1", 2), (8, "sensor-grid:2x4:targets=1", 2),
               (16, "sensor-grid:4x4:targets=1", 2), (32, "sensor-grid:4x8:targets=1", 2),
               (64, "sensor-grid:8x8:targets=1", 2)],
    "history length": [(1, "sensor-grid:5x5:targets=2", 1), (2, "sensor-grid:5x5:targets=2", 2),
                       (5, "sensor-grid:5x5:targets=2", 5), (10, "sensor-grid:5x5:targets=2", 10)],
}


def bench_scaling(histories: int = 1000, seed: int = 0, stages: tuple[str, ...] = ("posteriors", "fixed points",
                                                                                     "checks"),
                  progress: Callable[[str], None] = lambda _: None) -> list[ScalingSeries]:
    """How the cost of posteriors (all agents, `histories` each), fixed points (all agents of one
    joint history) and the registry's checks (small budget) grows along each axis."""
    from decdiff.implementations.models.registry import load_model

    timers = {"posteriors": lambda m, h: _time_posteriors(m, h, histories, seed),
              "fixed points": lambda m, h: _time_fixed_points(m, h, seed),
              "checks": lambda m, h: _time_checks(m, h, seed)}
    series = []
    for axis, points in SCALING_AXES.items():
        for stage in stages:
            seconds = []
            for size, spec, length in points:
                progress(f"scaling {stage} / {axis} = {size}")
                seconds.append(timers[stage](load_model(spec), length))
            sizes = [p[0] for p in points]
            series.append(ScalingSeries(stage, axis, sizes, seconds, fitted_exponent(sizes, seconds),
                                        [p[1] for p in points]))
    return series


BENCHMARKS: dict[str, Callable[[], BenchFigure]] = {
    "exact-denoiser": bench_exact_denoiser,
    "fixed-points": bench_fixed_points,
    "posteriors": bench_posteriors,
    "jacobians": bench_jacobians,
    "jacobians-1024": lambda: bench_jacobians(width=1024),
}


def run_benchmarks(names: list[str] | None = None, progress: Callable[[str], None] = lambda _: None) -> list[BenchFigure]:
    """Run the named benchmarks (all by default) in order; each returns its figure."""
    figures = []
    for name in names or list(BENCHMARKS):
        progress(name)
        figures.append(BENCHMARKS[name]())
    return figures

