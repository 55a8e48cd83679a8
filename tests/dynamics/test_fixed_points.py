"""Fixed points of f* against docs/claims.md#finite-sigma (the certified statements are in test_certify.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from decdiff.bench.discovery import CountingMap
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.continuation import continuation_sigma_c
from decdiff.implementations.dynamics.fixed_points import (
    draw_starts,
    find_fixed_points,
    fixed_points,
    flow_limits,
)
from decdiff.implementations.dynamics.flows import MixtureMap, fixed_sigma_flow
from decdiff.implementations.histories import history_batch
from decdiff.implementations.models.sensor_networks import sensor_grid, sensor_ring
from decdiff.tolerances import FIXED_POINT_DEDUP, FIXED_POINT_RESIDUAL

T = torch.float64


@pytest.mark.parametrize("sigma, distance, lam", [(0.3, 2.1e-5, 3.3e-4), (0.5, 3.0e-2, 0.166), (0.6, 0.135, 0.48)])
def test_paper_6_1_table(sigma, distance, lam):
    model = sensor_ring()                                  # CO ring: agent 3 (index 2) sees (0,0): {e1, e4}
    history = history_batch(model, [2], np.zeros((1, 0), int), [[0]])
    found = fixed_points(ExactDenoiser(model), model, history, sigma, n_starts=400)
    assert found.consistent.tolist() == [0, 3]
    near_e1 = [p for p in found.stable() if p.nearest_state == 0]
    assert len(near_e1) == 1 and len(found.stable()) == 2
    assert near_e1[0].distance == pytest.approx(distance, rel=0.03)
    assert near_e1[0].spectral_radius == pytest.approx(lam, rel=0.03)


def _line(weights):
    return torch.tensor([[0.0], [1.0]], dtype=T), torch.tensor(weights, dtype=T)


@pytest.mark.parametrize("sigma, attractors", [(0.45, [0.152, 0.848]), (0.55, [0.5]), (0.7, [0.5])])
def test_paper_6_2_one_dimensional(sigma, attractors):
    states, w = _line([0.5, 0.5])
    found = find_fixed_points(MixtureMap(states, w), sigma, states, w, n_starts=400)
    got = sorted(float(p.point[0]) for p in found.stable())
    assert got == pytest.approx(attractors, abs=1e-3)


@pytest.mark.parametrize("sigma, attractors", [(0.5, [[0.979, 0.021], [0.021, 0.979]]),
                                               (0.7, [[0.621, 0.379], [0.379, 0.621]]), (0.75, [[0.5, 0.5]])])
def test_paper_6_2_one_hot(sigma, attractors):
    states, w = torch.eye(2, dtype=T), torch.tensor([0.5, 0.5], dtype=T)
    found = find_fixed_points(MixtureMap(states, w), sigma, states, w, n_starts=400)
    got = sorted(p.point.tolist() for p in found.stable())
    assert np.allclose(got, sorted(attractors), atol=1e-3)


def test_paper_6_3_band_converges_against_the_argmax():
    states, w = _line([0.3, 0.7])
    f = MixtureMap(states, w)
    y0 = torch.tensor([[0.4611]], dtype=T)
    weights_at_y0 = torch.softmax(torch.log(w) - (y0 - states.T) ** 2 / (2 * 0.2**2), dim=1)
    assert int(weights_at_y0.argmax()) == 0                      # posterior argmax is state 0 ...
    end = fixed_sigma_flow(f, y0, 0.2, 2000, tol=1e-12).y
    assert float(end) == pytest.approx(1.0, abs=1e-3)             # ... yet the iteration converges to 1
    found = find_fixed_points(f, 0.2, states, w, n_starts=200)
    saddle = [p for p in found.unstable()]
    assert len(saddle) == 1 and float(saddle[0].point[0]) == pytest.approx(0.4596, abs=1e-4)


def test_above_sigma_c_the_minor_state_loses_its_attractor():
    states, w = _line([0.3, 0.7])
    sigma_c = float(continuation_sigma_c(states.numpy(), w.numpy())[0])
    below = find_fixed_points(MixtureMap(states, w), 0.98 * sigma_c, states, w, n_starts=300)
    above = find_fixed_points(MixtureMap(states, w), 1.02 * sigma_c, states, w, n_starts=300)
    assert sorted(p.nearest_state for p in below.stable()) == [0, 1]
    assert [p.nearest_state for p in above.stable()] == [1]


def _plain_limits(f, y0, sigma):
    flow = fixed_sigma_flow(f, y0, sigma, 100_000, tol=FIXED_POINT_RESIDUAL)
    assert bool(flow.converged.all())
    return flow.y


def test_flow_limits_match_plain_iteration_from_starts_beside_a_saddle():
    """Starts 1e-9 from the saddle of a balanced two-state line (sigma 0.45, saddle at 0.5)
    stop the coarse flow at once, at the saddle: they must not be taken as converged there,
    but go on, as plain iteration does, to the stable point on their side."""
    states, w = _line([0.5, 0.5])
    f = MixtureMap(states, w)
    beside = torch.tensor([[0.5 - 1e-9], [0.5 + 1e-9]], dtype=T)
    y0 = torch.cat([beside, torch.linspace(0.0, 0.3, 10, dtype=T)[:, None], torch.linspace(0.7, 1.0, 10, dtype=T)[:, None]])
    ends, converged = flow_limits(f, y0, 0.45, 2000)          # 22 rows, 3 coarse points: the shortcut is taken
    assert bool(converged.all())
    assert torch.allclose(ends, _plain_limits(f, y0, 0.45), atol=FIXED_POINT_DEDUP)
    assert ends[0, 0] < 0.2 and ends[1, 0] > 0.8


@pytest.mark.parametrize("relative", [0.3, 1e-4])
def test_flow_limits_match_plain_iteration_on_a_grid_history(relative):
    """Every limit of the shortcut (coarse flow, Newton on the distinct ends, certified
    distance) is plain iteration's limit, at the paper's sigma = 0.3 and just below sigma_c."""
    model = sensor_grid(3, 3, targets=2)
    posterior = torch.from_numpy(model.individual_posterior(0, np.zeros((1, 0), int), np.array([[1]]))[0])
    states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
    sigma_c = float(continuation_sigma_c(states.numpy(), posterior.numpy()).min())
    sigma = 0.3 if relative == 0.3 else sigma_c * (1 - relative)
    f = CountingMap(MixtureMap(states, posterior))
    y0 = draw_starts("posterior", 200, states, posterior, sigma, torch.Generator().manual_seed(0))
    ends, converged = flow_limits(f, y0, sigma, 100_000)
    assert bool(converged.all())
    assert f.jacobians < 200 / 2          # the shortcut: Jacobians at the few distinct points, not at every row
    assert float((ends - _plain_limits(f, y0, sigma)).norm(dim=1).max()) < FIXED_POINT_DEDUP
    assert float((f(ends, sigma) - ends).norm(dim=1).max()) <= FIXED_POINT_RESIDUAL


class _CloseAttractors:
    """f(y) = y - k y (y - a)(y - 2a) on the line: stable fixed points 0 and 2a (f' = 0 there)
    and a saddle at a, all within COARSE_MERGE (a = 2.5e-5), so the shortcut merges them."""

    a = 2.5e-5
    k = 1.0 / (2 * a * a)

    def __call__(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        return y - self.k * y * (y - self.a) * (y - 2 * self.a)

    def jacobian(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        a = self.a
        return (1 - self.k * (3 * y * y - 6 * a * y + 2 * a * a))[:, :, None]


def test_flow_limits_do_not_take_an_end_to_a_merged_neighbour():
    """Ends beside two attractors 5e-5 apart are refined as one point; the end that is not
    within its certified distance of the refined point goes on to its own attractor."""
    f = _CloseAttractors()
    y0 = torch.tensor([[1e-7], [2e-7], [3e-7], [2 * f.a + 1e-7]], dtype=T)
    ends, converged = flow_limits(f, y0, 0.0, 2000)            # 4 rows, 1 coarse point: the shortcut is taken
    assert bool(converged.all())
    assert torch.allclose(ends, _plain_limits(f, y0, 0.0), rtol=0, atol=1e-12)
    assert float(ends[3, 0]) == pytest.approx(2 * f.a, abs=1e-12)
