"""Finding and certifying every agent's fixed points of f* for one joint history (issue 3's figure).

sensor-grid:5x5:targets=2 (300 states, 25 agents), one sampled joint history of length
H = 5, sigma = 0.3: for each agent, fixed points from 256 starts under p_sigma(y | tau)
plus Newton from every consistent state and saddle search, contraction certificates and
sigma_c bounds (`fixed_point_summary`). Goal: under 5 s. Run:
``python benchmarks/bench_fixed_points.py``.
"""

from __future__ import annotations

import time

import torch

from decdiff.implementations.dynamics.certify import fixed_point_summary
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories

LENGTH, SIGMA = 5, 0.3


def main() -> None:
    torch.set_num_threads(2)
    model = sensor_grid(5, 5, targets=2)
    histories = agent_histories(model, sample_trajectories(model, LENGTH, 1, seed=0))
    start = time.perf_counter()
    summary = fixed_point_summary(model, histories, SIGMA)
    elapsed = time.perf_counter() - start
    stable = sum(len(entry["fixed_points"]) for entry in summary)
    consistent = sum(len(entry["states"]) for entry in summary)
    certified = sum(s["certified"] for entry in summary for s in entry["states"])
    saddles = sum(entry["unstable_found"] for entry in summary)
    print(f"{model.name}, H={LENGTH}, sigma={SIGMA}: {model.n_agents} agents, {consistent} consistent states, "
          f"{stable} stable fixed points, {certified} certified, {saddles} unstable found: "
          f"{elapsed:.2f} s (goal < 5 s)")


if __name__ == "__main__":
    main()
