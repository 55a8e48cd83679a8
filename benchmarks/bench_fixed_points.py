"""Finding and certifying every agent's fixed points of f* for one joint history (issue 3's figure).

sensor-grid:5x5:targets=2 (300 states, 25 agents), one sampled joint history of length
H = 5, sigma = 0.3: for each agent, fixed points from 256 starts under p_sigma(y | tau)
plus Newton from every consistent state and saddle search, contraction certificates,
certified sigma_c bounds and isolation levels (`fixed_point_summary`). Goal: under 5 s.
The machine is shared, so the load average and the process CPU time are printed beside
the wall-clock time, and the certificates alone are timed too. Run:
``python benchmarks/bench_fixed_points.py``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.certify import certify_rows, fixed_point_summary
from decdiff.implementations.dynamics.contraction import geometry
from decdiff.implementations.dynamics.isolation import isolation_sigmas
from decdiff.implementations.dynamics.sigma_bounds import certified_sigma_bounds
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.sampling import sample_trajectories

LENGTH, SIGMA = 5, 0.3


def main() -> None:
    torch.set_num_threads(2)
    model = sensor_grid(5, 5, targets=2)
    histories = agent_histories(model, sample_trajectories(model, LENGTH, 1, seed=0))
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    summary = fixed_point_summary(model, histories, SIGMA)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    posteriors = ExactDenoiser(model).posteriors(histories).numpy()
    start = time.perf_counter()
    geo = geometry(np.asarray(model.states, dtype=np.float64), posteriors)
    certify_rows(geo, np.asarray(SIGMA))
    certified_sigma_bounds(geo)
    isolation_sigmas(geo)
    certificates_only = time.perf_counter() - start
    stable = sum(len(entry["fixed_points"]) for entry in summary)
    consistent = sum(len(entry["states"]) for entry in summary)
    certified = sum(s["certified"] for entry in summary for s in entry["states"])
    inside = sum(p["certified"] for entry in summary for p in entry["fixed_points"])
    spurious = sum(entry["spurious"] for entry in summary)
    missing = sum(len(entry["missing"]) for entry in summary)
    saddles = sum(entry["unstable_found"] for entry in summary)
    isolated = sum(entry["isolated"] for entry in summary)
    print(f"{model.name}, H={LENGTH}, sigma={SIGMA}: {model.n_agents} agents, {consistent} consistent states, "
          f"{certified} certified; {stable} stable fixed points found: {inside} inside their state's certified "
          f"radius, {spurious} spurious (no state's own), {missing} states without one; {saddles} unstable found; "
          f"{isolated} agents proved free of spurious attractors at this sigma")
    print(f"all agents: {elapsed:.2f} s wall, {cpu:.2f} s CPU (goal < 5 s); certificates, sigma_c bounds and "
          f"isolation levels alone: {certificates_only:.3f} s; load average {load:.2f} on {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
