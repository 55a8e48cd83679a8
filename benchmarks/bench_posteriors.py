"""Exact individual posteriors for sensor-grid:5x5:targets=2 (issue 2's figure).

Times 25 agents x 10,000 sampled histories of length 5 (300 states) with the batched
filter, and the same filter run one history at a time on a subset, so that the speed-up
is a ratio measured in one run. Run: ``python benchmarks/bench_posteriors.py``.
"""

from __future__ import annotations

import time

import numpy as np

from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories

HISTORIES, LENGTH, LOOP_SUBSET = 10_000, 5, 200


def main() -> None:
    model = sensor_grid(5, 5, targets=2)
    traj = sample_trajectories(model, LENGTH, HISTORIES, seed=0)
    start = time.perf_counter()
    for agent in range(model.n_agents):
        acts, obs = traj.agent_history(agent)
        posteriors = model.individual_posterior(agent, acts, obs)
    batched = time.perf_counter() - start
    acts, obs = traj.agent_history(0)
    start = time.perf_counter()
    looped = np.stack([model.individual_posterior(0, acts[b], obs[b]) for b in range(LOOP_SUBSET)])
    per_history_loop = (time.perf_counter() - start) / LOOP_SUBSET
    assert np.allclose(looped, model.individual_posterior(0, acts[:LOOP_SUBSET], obs[:LOOP_SUBSET]))
    per_history_batched = batched / (model.n_agents * HISTORIES)
    print(f"individual posteriors, {model.name}, {model.n_agents} agents x {HISTORIES} histories of length "
          f"{LENGTH}, {model.n_states} states: {batched:.2f} s (goal < 10 s); last batch sums to "
          f"{posteriors.sum(axis=1).mean():.15f}")
    print(f"batched against a per-history loop: {per_history_loop / per_history_batched:.0f}x faster "
          f"({per_history_batched * 1e6:.1f} us against {per_history_loop * 1e6:.1f} us per history)")


if __name__ == "__main__":
    main()
