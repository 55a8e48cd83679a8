"""The exact denoiser's Jacobian Cov_w[s] / sigma^2 from the nonzero entries of sparse states (and, in reduced
coordinates, from the frame's sparse states projected onto the hull) against the centred sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser, mixture_jacobian
from decdiff.implementations.dynamics import second_moments
from decdiff.implementations.dynamics.flows import ConditionedDenoiser, MixtureMap
from decdiff.implementations.dynamics.reduced import affine_hull, search_problem
from decdiff.implementations.dynamics.second_moments import (
    cheapest_sparse_table,
    outer_product_count,
    sparse_outer_products,
)
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.sampling import sample_trajectories
from decdiff.tolerances import mixture_jacobian_round_off

T = torch.float64


def _sparse_states(seed: int, k: int = 60, d: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """k states of R^d with 0 to 3 nonzero entries of either sign, random weights."""
    rng = np.random.default_rng(seed)
    states = np.zeros((k, d))
    for row in states:
        ones = rng.choice(d, rng.integers(0, 4), replace=False)
        row[ones] = rng.normal(size=ones.size) * 2.0
    return torch.from_numpy(states), torch.from_numpy(rng.dirichlet(np.ones(k)))


def _bound(states: torch.Tensor, sigma: float) -> float:
    """The second-moment form's round-off (`mixture_jacobian_round_off`) for these states."""
    return mixture_jacobian_round_off(float((states * states).sum(1).max()), sigma)


@pytest.mark.parametrize("seed", range(4))
def test_the_sparse_table_holds_every_outer_product(seed):
    states, _ = _sparse_states(seed)
    dense = (states[:, :, None] * states[:, None, :]).flatten(1)
    table = sparse_outer_products(states)
    assert table._nnz() == outer_product_count(states) == int(((states != 0).sum(1) ** 2).sum())
    assert torch.equal(table.to_dense(), dense.T)


@pytest.mark.parametrize("seed", range(4))
def test_the_jacobian_from_the_nonzero_entries_is_the_centred_covariance(seed, monkeypatch):
    states, weights = _sparse_states(seed)
    dense_misses = states.shape[0] * states.shape[1] ** 2 - 1
    monkeypatch.setattr(second_moments, "OUTER_PRODUCT_LIMIT", dense_misses)
    mixture = MixtureMap(states, weights)
    y = torch.randn(64, states.shape[1], dtype=T, generator=torch.Generator().manual_seed(seed)) * 2.0
    got = mixture.jacobian(y, 0.5)
    centred = mixture_jacobian(mixture.log_weights, mixture.states, y, torch.full((64,), 0.5, dtype=T))
    assert mixture._outer is None and mixture._sparse is not None
    assert (got - centred).abs().max() <= _bound(states, 0.5)
    monkeypatch.setattr(second_moments, "OUTER_PRODUCT_LIMIT", 1)                                   # neither fits
    assert torch.equal(MixtureMap(states, weights).jacobian(y, 0.5), centred)


@pytest.mark.parametrize("seed", range(3))
def test_reduced_coordinates_project_the_frames_sparse_covariance(seed, monkeypatch):
    """Two ones among 40 coordinates: 780 states in a hull of 39 dimensions; 4 sparse products per state and
    a projection cost less than 39^2 per state, so the frame's table is taken."""
    d = 40
    i, j = torch.triu_indices(d, d, offset=1)
    states = torch.zeros(i.numel(), d, dtype=T)
    states[torch.arange(i.numel()), i] = states[torch.arange(i.numel()), j] = 1.0
    weights = torch.from_numpy(np.random.default_rng(seed).dirichlet(np.ones(i.numel())))
    hull = affine_hull(states)
    reduced = hull.coordinates(states)
    y = torch.randn(32, hull.dimension, dtype=T, generator=torch.Generator().manual_seed(seed))
    plain = MixtureMap(reduced, weights).jacobian(y, 0.4)                                 # dense, in the hull
    monkeypatch.setattr(second_moments, "OUTER_PRODUCT_LIMIT", reduced.shape[0] * hull.dimension ** 2 - 1)
    framed = MixtureMap(reduced, weights, frame=(states, hull.basis))
    assert (framed.jacobian(y, 0.4) - plain).abs().max() <= _bound(states, 0.4)
    assert hull.dimension == d - 1 and framed._sparse[0] is framed._frame[0]              # the frame's table
    assert cheapest_sparse_table(reduced, None) is None                         # dense rows: centred


def test_an_8x8_grid_agent_takes_the_sparse_paths_and_agrees_with_the_centred_sum():
    """Two targets on the 8x8 grid: K = 1770 consistent states of R^64 (hull of 59 dimensions), both dense tables
    over the limit; in R^64 and in the hull the Jacobian agrees with the centred sum."""
    model = load_model("sensor-grid:8x8:targets=2")
    denoiser = ExactDenoiser(model)
    history = agent_histories(model, sample_trajectories(model, 2, 1, seed=0))[0]
    f = ConditionedDenoiser(denoiser, history)
    states, consistent = torch.as_tensor(model.states, dtype=T), f.mixture.states
    problem = search_problem(f, states, denoiser.posteriors(history)[0])
    hull, g = problem.hull, problem.map
    assert consistent.shape[0] * hull.dimension ** 2 > second_moments.OUTER_PRODUCT_LIMIT       # both dense tables miss
    y = consistent[:16] + 0.3 * torch.randn(16, states.shape[1], dtype=T, generator=torch.Generator().manual_seed(1))
    centred = mixture_jacobian(f.mixture.log_weights, consistent, y, torch.full((16,), 0.3, dtype=T))
    assert (f.jacobian(y, 0.3) - centred).abs().max() <= _bound(consistent, 0.3)
    projected = hull.basis.T @ centred @ hull.basis
    assert (g.jacobian(hull.coordinates(y), 0.3) - projected).abs().max() <= _bound(consistent, 0.3)
    assert f.mixture._sparse is not None and g._sparse is not None and g._sparse[0] is not g.states
