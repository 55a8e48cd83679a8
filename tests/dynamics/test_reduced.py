"""The exact denoiser in reduced coordinates (the affine hull of the consistent states) against R^d."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import find_fixed_points, fixed_points
from decdiff.implementations.dynamics.flows import ConditionedDenoiser, MixtureMap
from decdiff.implementations.dynamics.reduced import affine_hull, search_problem
from decdiff.implementations.histories import history_batch
from decdiff.implementations.models.sensor_networks import sensor_ring

T = torch.float64
AGREE = 1e-10


class FullMap:
    """The same map, hidden from `search_problem`: the search runs in all d dimensions."""

    symmetric = True

    def __init__(self, inner) -> None:
        self.inner = inner

    def __call__(self, y, sigma):
        return self.inner(y, sigma)

    def jacobian(self, y, sigma):
        return self.inner.jacobian(y, sigma)


def _one_hot(seed: int, d: int = 14, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """d one-hot states, k of them consistent with random weights (hull dimension k - 1 < d)."""
    rng = np.random.default_rng(seed)
    weights = np.zeros(d)
    weights[rng.choice(d, k, replace=False)] = rng.dirichlet(np.ones(k))
    return torch.eye(d, dtype=T), torch.from_numpy(weights)


def _multi_hot(seed: int, d: int = 10, k: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """k distinct 0/1 vectors of R^d with two or three ones, all consistent, shifted off the origin."""
    rng = np.random.default_rng(seed)
    rows = set()
    while len(rows) < k:
        rows.add(tuple(sorted(rng.choice(d, rng.integers(2, 4), replace=False).tolist())))
    states = np.zeros((k, d))
    for r, ones in enumerate(sorted(rows)):
        states[r, list(ones)] = 1.0
    return torch.from_numpy(states + 0.25), torch.from_numpy(rng.dirichlet(np.ones(k)))


def _pairs(reduced, full, tol: float = 1e-6) -> list[tuple]:
    """Points found by both searches (each reduced point with the full one within ``tol``)."""
    pairs = []
    for a in reduced:
        near = [b for b in full if np.linalg.norm(a.point - b.point) < tol]
        assert len(near) <= 1
        pairs.extend((a, b) for b in near)
    return pairs


def _assert_same(reduced, full) -> None:
    """Stable points: the same set. Unstable ones (searched from random starts, drawn in m and in d
    dimensions): those both found. Everything to 1e-10."""
    assert reduced.consistent.tolist() == full.consistent.tolist()
    np.testing.assert_array_equal(reduced.posterior, full.posterior)
    stable = _pairs(reduced.stable(), full.stable())
    assert len(stable) == len(reduced.stable()) == len(full.stable()) > 0
    unstable = _pairs(reduced.unstable(), full.unstable())
    assert len(unstable) >= min(len(reduced.unstable()), len(full.unstable())) // 2
    for a, b in stable + unstable:
        assert a.point.shape == b.point.shape
        np.testing.assert_allclose(a.point, b.point, rtol=0, atol=AGREE)
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=0, atol=AGREE)
        assert abs(a.spectral_radius - b.spectral_radius) <= AGREE
        assert abs(a.distance - b.distance) <= AGREE
        assert a.stable == b.stable
    for a, b in stable:
        assert a.nearest_state == b.nearest_state


@pytest.mark.parametrize("make, seed, sigma", [(_one_hot, 0, 0.3), (_one_hot, 1, 0.45), (_multi_hot, 2, 0.3),
                                               (_multi_hot, 3, 0.2)])
def test_fixed_points_in_the_hull_equal_those_in_full_coordinates(make, seed, sigma):
    states, w = make(seed)
    mixture = MixtureMap(states, w)
    problem = search_problem(mixture, states, w)
    assert problem.hull is not None and problem.hull.dimension < states.shape[1]
    reduced = find_fixed_points(mixture, sigma, states, w, n_starts=200, seed=seed)
    full = find_fixed_points(FullMap(mixture), sigma, states, w, n_starts=200, seed=seed)
    _assert_same(reduced, full)


@pytest.mark.parametrize("make, seed", [(_one_hot, 4), (_multi_hot, 5)])
def test_map_and_jacobian_in_the_hull_lift_to_full_coordinates(make, seed):
    states, w = make(seed)
    mixture = MixtureMap(states, w)
    problem = search_problem(mixture, states, w)
    hull = problem.hull
    basis = hull.basis
    assert torch.allclose(basis.T @ basis, torch.eye(hull.dimension, dtype=T), atol=AGREE)
    consistent = states[w > 0]
    assert hull.dimension == np.linalg.matrix_rank((consistent - consistent[:1]).numpy())
    assert torch.allclose(hull.lift(problem.states), states[w > 0], rtol=0, atol=AGREE)
    y = torch.randn(64, states.shape[1], generator=torch.Generator().manual_seed(seed), dtype=T)  # off the hull too
    sigma = torch.linspace(0.1, 1.0, 64, dtype=T)
    z = hull.coordinates(y)
    assert torch.allclose(hull.lift(problem.map(z, sigma)), mixture(y, sigma), rtol=0, atol=AGREE)
    assert torch.allclose(hull.lift_jacobian(problem.map.jacobian(z, sigma)), mixture.jacobian(y, sigma),
                          rtol=0, atol=AGREE)


def test_the_exact_denoiser_of_a_model_is_searched_in_its_hull():
    model = sensor_ring(noisy=True)                       # d = 4; agent 0 after one step: several states
    history = history_batch(model, [0], np.zeros((1, 0), int), [[0]])
    denoiser = ExactDenoiser(model)
    conditioned = ConditionedDenoiser(denoiser, history)
    posterior = denoiser.posteriors(history)[0]
    states = torch.from_numpy(np.asarray(model.states, dtype=np.float64))
    problem = search_problem(conditioned, states, posterior)
    assert problem.hull is not None and problem.hull.dimension == int((posterior > 0).sum()) - 1
    reduced = fixed_points(denoiser, model, history, 0.3, n_starts=128, seed=0)
    full = find_fixed_points(FullMap(conditioned), 0.3, states, posterior, n_starts=128, seed=0)
    _assert_same(reduced, full)


def test_other_denoisers_and_off_posterior_maps_keep_all_dimensions():
    model = sensor_ring(noisy=True)
    history = history_batch(model, [0], np.zeros((1, 0), int), [[0]])
    states = torch.from_numpy(np.asarray(model.states, dtype=np.float64))
    posterior = ExactDenoiser(model).posteriors(history)[0]

    def trained(histories, y, sigma):                    # any non-exact denoiser
        return 0.5 * y

    assert search_problem(ConditionedDenoiser(trained, history), states, posterior).hull is None
    other = torch.roll(posterior, 1)                     # a map over other states than the posterior's
    assert search_problem(MixtureMap(states, other), states, posterior).hull is None


def test_a_lone_state_gets_a_line_and_its_fixed_point_is_the_state():
    states, w = torch.eye(6, dtype=T), torch.tensor([0, 0, 1.0, 0, 0, 0], dtype=T)
    hull = affine_hull(states[2:3])
    assert hull.dimension == 1
    found = find_fixed_points(MixtureMap(states, w), 0.3, states, w, n_starts=16)
    assert [p.nearest_state for p in found.points] == [2]
    np.testing.assert_allclose(found.points[0].point, states[2].numpy(), atol=AGREE)
    assert found.points[0].eigenvalues.shape == (6,) and found.points[0].spectral_radius == 0.0
