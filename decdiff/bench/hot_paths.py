"""The hot paths against the plain method each replaces: the exact denoiser f* (ns per (noisy state,
model state) pair, with the float64 matrix-multiply floor), batched posteriors against a per-history
loop, and Jacobians by ``vmap(jacrev)`` against a per-point loop.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from decdiff.bench.figures import BenchFigure, best_times
from decdiff.implementations.denoisers.exact import mixture_mean
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories


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
