"""Completeness of fixed-point searches: the simplex centroid with a tiny basin is found, and each result says
whether its set is proved complete or only searched (with the basin mass it may have missed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from decdiff.implementations.dynamics import fixed_points
from decdiff.implementations.dynamics.completeness import centroid_seeds, completeness, missable_basin_mass
from decdiff.implementations.dynamics.fixed_points import find_fixed_points
from decdiff.implementations.dynamics.flows import MixtureMap

N = 8
STATES = torch.eye(N, dtype=torch.float64)                       # a regular simplex, D = sqrt(2)
POSTERIOR = torch.full((N,), 1.0 / N, dtype=torch.float64)
SIGMA = 1.01 * math.sqrt(2.0) / math.sqrt(2 * N)                # 0.3571: the centroid is (barely) stable


def _at_centroid(found):
    return [p for p in found.stable() if np.linalg.norm(p.point - np.full(N, 1.0 / N)) < 1e-9]


def test_the_simplex_centroid_is_a_stable_fixed_point_with_a_tiny_basin_and_is_found(monkeypatch):
    # Newton from random starts and saddle seeds off: only the iteration's limits and the centroid seeds remain
    options = {"n_starts": 512, "seed": 0, "newton_starts": 0, "max_saddle_pairs": 0}
    found = find_fixed_points(MixtureMap(STATES, POSTERIOR), SIGMA, STATES, POSTERIOR, **options)
    at_centroid = _at_centroid(found)
    assert len(at_centroid) == 1
    assert at_centroid[0].spectral_radius == pytest.approx(2.0 / (2 * N * SIGMA ** 2), rel=1e-9)   # 0.980
    assert at_centroid[0].basin_mass < 0.01                     # random starts (almost) never reach it
    monkeypatch.setattr(fixed_points, "centroid_seeds", lambda states, posterior, sigma: states[:0])
    assert _at_centroid(find_fixed_points(MixtureMap(STATES, POSTERIOR), SIGMA, STATES, POSTERIOR, **options)) == []


def test_centroid_seeds_are_single_linkage_clusters_at_sqrt_2k_sigma():
    torch.testing.assert_close(centroid_seeds(STATES, POSTERIOR, SIGMA), torch.full((1, N), 1.0 / N,
                                                                                    dtype=torch.float64))
    assert centroid_seeds(STATES, POSTERIOR, 0.3).shape[0] == 0          # sqrt(16) x 0.3 = 1.2 < sqrt(2)
    one = torch.zeros(N, dtype=torch.float64)
    one[2] = 1.0
    assert centroid_seeds(STATES, one, SIGMA).shape[0] == 0


def test_completeness_statements():
    assert completeness(True, 512)["proved_complete"] and "proved" in completeness(True, 512)["statement"]
    searched = completeness(False, 512)
    assert not searched["proved_complete"]
    assert searched["missable_basin_mass"] == pytest.approx(1 - 0.05 ** (1 / 512)) == missable_basin_mass(512)
    assert (1 - searched["missable_basin_mass"]) ** 512 == pytest.approx(0.05)


def test_the_fixed_point_summary_states_completeness():
    from decdiff import agent_histories, sample_trajectories
    from decdiff.implementations.dynamics.certify import fixed_point_summary
    from decdiff.implementations.models.registry import load_model

    model = load_model("sensor-ring")
    histories = agent_histories(model, sample_trajectories(model, 1, 1, seed=0))
    low, high = (fixed_point_summary(model, histories[:1], sigma, n_starts=64)[0] for sigma in (0.1, 2.0))
    assert low["isolated"] and low["completeness"]["proved_complete"]
    assert not high["isolated"] and not high["completeness"]["proved_complete"]
    assert high["completeness"]["missable_basin_mass"] == pytest.approx(missable_basin_mass(64))
