"""Certified fixed points of f* (certify.py, contraction.py, sigma_bounds.py, isolation.py): the contraction
certificate checked numerically, the exact two-state sigma_c against continuation and theory's closed form,
the many-state certified bound, the isolation level below which nothing else is stable, and the loss of
attractors above sigma_c."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.certify import certify_rows
from decdiff.implementations.dynamics.continuation import continuation_sigma_c
from decdiff.implementations.dynamics.contraction import geometry, image_bound
from decdiff.implementations.dynamics.fixed_points import find_fixed_points
from decdiff.implementations.dynamics.flows import MixtureMap, fixed_sigma_flow
from decdiff.implementations.dynamics.isolation import isolation_gap, isolation_sigmas
from decdiff.implementations.dynamics.sigma_bounds import (
    certified_sigma_bounds,
    exact_sigma_c,
)
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.sensor_networks import sensor_grid
from decdiff.implementations.models.strategies import models
from decdiff.implementations.sampling import sample_trajectories
from decdiff.theory.critical_sigma import critical_sigma
from decdiff.tolerances import (
    CONTINUATION_RELATIVE,
    FIXED_POINT_RESIDUAL,
    FLOW_STEP,
    OWN_STATE_MARGIN,
    SIGMA_BISECTION,
    mixture_jacobian_round_off,
)

T = torch.float64


@st.composite
def point_mixtures(draw: st.DrawFn, max_states: int = 6, dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian points in R^dim (all distances distinct) with Dirichlet(0.7) weights (some tiny)."""
    count = draw(st.integers(2, max_states))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.normal(size=(count, dim)), rng.dirichlet(np.full(count, 0.7))


@st.composite
def model_mixtures(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """One-hot states and the posterior of the most ambiguous agent of a random model's joint history."""
    model = draw(models(max_agents=2, max_states=5))
    histories = agent_histories(model, sample_trajectories(model, 2, 1, seed=draw(st.integers(0, 100))))
    posteriors = ExactDenoiser(model).posteriors(histories).numpy()
    return np.asarray(model.states, dtype=np.float64), posteriors[int(np.argmax((posteriors > 0).sum(axis=1)))]


mixtures = st.one_of(point_mixtures(), model_mixtures())


def _consistent(states: np.ndarray, weights: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    keep = weights > 0
    return torch.from_numpy(states[keep]), torch.from_numpy(weights[keep])


def _ball(center: np.ndarray, radius: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points of the closed ball: half uniform inside, half on the sphere (where the bounds are tightest)."""
    direction = rng.normal(size=(n, center.size))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    scale = np.where(np.arange(n) % 2 == 0, 1.0, rng.uniform(size=n) ** (1.0 / center.size))
    return center + radius * scale[:, None] * direction


@settings(max_examples=25)
@given(mixture=mixtures, sigma_fraction=st.floats(0.05, 0.6), seed=st.integers(0, 100))
def test_contraction_certificate_holds_numerically(mixture, sigma_fraction, seed):
    """Where certified: f* maps B(s, r) into B(s, M(r)) and ||J||_2 <= L(r) on sampled points of the ball
    (r = r_min and just below r_max); the fixed point found from s lies within r_min, its spectral radius is
    at most L(r_min), and it is the only fixed point found within r_max."""
    states, weights = mixture
    pts, w = _consistent(states, weights)
    assume(len(w) >= 2)
    geo = geometry(states, weights)
    sigma = sigma_fraction * float(geo.dist[np.isfinite(geo.log_ratio)].max())
    cert = certify_rows(geo, np.asarray(sigma))
    assume(cert["holds"].any())
    f = MixtureMap(pts, w)
    found = find_fixed_points(f, sigma, pts, w, n_starts=200, seed=seed)
    rng = np.random.default_rng(seed)
    round_off = mixture_jacobian_round_off(float((pts ** 2).sum(dim=1).max()), sigma)
    for row in np.flatnonzero(cert["holds"]):
        s = pts[row].numpy()
        r_min, r_max, lip = (cert[k][row] for k in ("location_radius", "uniqueness_radius", "jacobian_bound"))
        for r in (r_min, r_max * (1 - 1e-6)):
            y = torch.from_numpy(_ball(s, r, 64, rng))
            m_r, l_r = image_bound(geo, np.array([row]), np.array([1 / sigma**2]), np.array([r]))
            assert float((f(y, sigma) - pts[row]).norm(dim=1).max()) <= m_r[0] * (1 + 1e-12) + round_off
            assert float(torch.linalg.matrix_norm(f.jacobian(y, sigma), ord=2).max()) <= l_r[0] + round_off
            assert m_r[0] <= r * (1 + 1e-9) and l_r[0] < 1.0
        near = [p for p in found.points if np.linalg.norm(p.point - s) < r_max]
        assert len(near) == 1 and near[0].stable
        assert near[0].distance <= r_min + FIXED_POINT_RESIDUAL / (1.0 - lip)
        assert near[0].spectral_radius <= lip + round_off


@settings(max_examples=15)
@given(distance=st.floats(0.2, 3.0), log_ratio=st.floats(-9.0, 0.0))
def test_two_state_sigma_c_exact_continuation_and_certified(distance, log_ratio):
    """The minor state's sigma_c: continuation = theory's closed form critical_sigma(d, r) (saddle-node) to
    CONTINUATION_RELATIVE; the certified bound lies below it; a strictly major state never loses its attractor."""
    ratio = float(np.exp(log_ratio))
    states = np.array([[0.0, 0.0], [distance, 0.0]])
    weights = np.array([ratio, 1.0]) / (1.0 + ratio)
    exact = critical_sigma(distance, ratio)
    geo = geometry(states, weights)
    assert exact_sigma_c(geo)[0] == pytest.approx(exact, rel=1e-14)
    continued = continuation_sigma_c(states, weights)
    bound = certified_sigma_bounds(geo)
    assert continued[0] == pytest.approx(exact, rel=CONTINUATION_RELATIVE)
    assert bound[0] <= exact * (1 + SIGMA_BISECTION)
    assert bound[0] >= 0.5 * exact                                       # the certificate is not vacuous
    assert np.isinf(exact_sigma_c(geo)[1]) == (ratio < 1.0)
    if ratio < 1.0 - 1e-3:                  # else the major branch ends within OWN_STATE_MARGIN of the midpoint
        assert np.isinf(continued[1])


@settings(max_examples=20)
@given(mixture=mixtures)
def test_many_state_certified_bound_is_below_continuation_and_certified_below(mixture):
    """sigma_b <= the continuation sigma_c of each state, and the certificate holds at every sampled sigma
    in (0, sigma_b] (lemmas 6-7: it is proved on the whole interval, not only at grid points)."""
    states, weights = mixture
    assume(int((weights > 0).sum()) >= 3)
    geo = geometry(states, weights)
    bound = certified_sigma_bounds(geo)
    continued = continuation_sigma_c(states, weights)
    assert (bound <= continued * (1 + CONTINUATION_RELATIVE)).all()
    finite = np.where(np.isfinite(bound), bound, 10.0 * geo.dist.max())
    grid = finite[None, :] * np.geomspace(1e-2, 1.0, 25)[:, None]
    rows = np.broadcast_to(np.arange(len(bound)), grid.shape).ravel()
    assert certify_rows(geo, grid.ravel(), rows)["holds"].all()


@settings(max_examples=20)
@given(mixture=mixtures, fraction=st.floats(0.3, 1.0), seed=st.integers(0, 100))
def test_below_isolation_sigma_exactly_one_stable_fixed_point_per_state(mixture, fraction, seed):
    """Below sigma_iso (<= every certified sigma_c): the stable fixed points are exactly one per consistent
    state, each within its certified location radius, and nothing else is stable."""
    states, weights = mixture
    pts, w = _consistent(states, weights)
    geo = geometry(states, weights)
    sigma_iso = float(isolation_sigmas(geo)[0])
    assume(np.isfinite(sigma_iso))
    assert sigma_iso <= certified_sigma_bounds(geo).min() * (1 + SIGMA_BISECTION)
    sigma = fraction * sigma_iso
    assert isolation_gap(geo, np.array([sigma]))[0] < 0.0
    cert = certify_rows(geo, np.asarray(sigma))
    found = find_fixed_points(MixtureMap(pts, w), sigma, pts, w, n_starts=300, seed=seed)
    stable = found.stable()
    assert sorted(p.nearest_state for p in stable) == list(range(len(w)))
    for p in stable:
        row = p.nearest_state
        assert p.distance <= cert["location_radius"][row] + FIXED_POINT_RESIDUAL / (1 - cert["jacobian_bound"][row])


@settings(max_examples=8)
@given(mixture=point_mixtures(max_states=4))
def test_above_sigma_c_the_attractor_merges_or_vanishes(mixture):
    """For each state with a finite continuation sigma_c: at 0.95 sigma_c a stable fixed point of its own is
    found; at 1.05 sigma_c the plain iteration from the state itself ends at a point that is not its own."""
    states, weights = mixture
    pts, w = _consistent(states, weights)
    continued = continuation_sigma_c(states, weights)
    f = MixtureMap(pts, w)
    for row in np.flatnonzero(np.isfinite(continued)):
        below = find_fixed_points(f, 0.95 * continued[row], pts, w, n_starts=100)
        assert any(p.nearest_state == row for p in below.stable())
        end = fixed_sigma_flow(f, pts[row:row + 1], 1.05 * float(continued[row]), 20000, tol=FLOW_STEP).y
        dist = torch.cdist(end, pts)[0]
        others = torch.cat([dist[:row], dist[row + 1:]]).min()
        assert not bool(dist[row] < others * (1 - OWN_STATE_MARGIN))


def test_many_equidistant_states_have_a_spurious_stable_centroid_above_isolation_sigma():
    """n = 16 equally likely one-hot states: the centroid c is a fixed point with J = (I - 11^T/n) / (n sigma^2),
    so it is stable for sigma > 1/sqrt(n) = 0.25, while every vertex stays certified. sigma_iso must lie below
    0.25. Its basin is tiny (N(0, I) starts never find it), so it is checked from a perturbed centroid."""
    n = 16
    pts, w = torch.eye(n, dtype=T), torch.full((n,), 1.0 / n, dtype=T)
    geo = geometry(pts.numpy(), w.numpy())
    assert isolation_sigmas(geo)[0] < 1.0 / np.sqrt(n)
    f = MixtureMap(pts, w)
    centroid = torch.full((1, n), 1.0 / n, dtype=T)
    start = centroid + 1e-3 * torch.randn(1, n, generator=torch.Generator().manual_seed(0), dtype=T)
    for sigma, stable in ((0.3, True), (0.2, False)):
        assert certify_rows(geo, np.asarray(sigma))["holds"].all()
        assert float((f(centroid, sigma) - centroid).norm()) <= FIXED_POINT_RESIDUAL
        eig = torch.linalg.eigvalsh(f.jacobian(centroid, sigma))[0]
        assert float(eig.max()) == pytest.approx(1.0 / (n * sigma**2), rel=1e-9)
        end = fixed_sigma_flow(f, start, sigma, 500, tol=FLOW_STEP).y
        assert (float((end - centroid).norm()) < 1e-9) == stable
    assert not bool(isolation_gap(geo, np.array([0.3]))[0] < 0.0)


def test_grid_extra_and_missing_stable_points_are_explained():
    """The 5x5 grid benchmark (H = 5, sigma = 0.3, seed 0) found 3770 stable fixed points for 3738 consistent
    states. Agent 3: its extra stable points are spurious centroids (one target known, the other spread over
    the areas it cannot exclude; basin mass 0 under p_sigma), possible since 0.3 > its sigma_iso; agent 2's
    states without an attractor are uncertified ones, exactly those whose sigma_c (continuation) is below 0.3."""
    model = sensor_grid(5, 5, targets=2)
    histories = agent_histories(model, sample_trajectories(model, 5, 1, seed=0))
    posteriors = ExactDenoiser(model).posteriors(histories).numpy()
    states = np.asarray(model.states, dtype=np.float64)
    sigma = 0.3
    geo = geometry(states, posteriors[[2, 3]])
    assert (isolation_sigmas(geo) < sigma).all()
    pts, w = torch.from_numpy(states), torch.from_numpy(posteriors[3])
    found = find_fixed_points(MixtureMap(pts, w), sigma, pts, w, n_starts=256, seed=0)
    cap = 0.5 * np.sqrt(2.0)                                             # half the least distance of 2-hot states
    spurious = [p for p in found.stable() if p.distance >= cap]
    assert spurious and all(p.basin_count == 0 for p in spurious)
    for p in spurious:
        assert np.sort(p.point)[-1] > 0.99 and np.sort(p.point)[-2] < 0.2   # one area certain, one spread
    own = {p.nearest_state for p in found.stable() if p.distance < cap}
    assert own == set(np.flatnonzero(posteriors[3] > 0))
    pts, w = torch.from_numpy(states), torch.from_numpy(posteriors[2])
    found = find_fixed_points(MixtureMap(pts, w), sigma, pts, w, n_starts=256, seed=0)
    own = {p.nearest_state for p in found.stable() if p.distance < cap}
    consistent = np.flatnonzero(posteriors[2] > 0)
    missing = {k for k, s in enumerate(consistent) if s not in own}
    uncertified = np.flatnonzero(~certify_rows(geometry(states, posteriors[2]), np.asarray(sigma))["holds"])
    assert missing and missing <= set(uncertified.tolist())             # certified states keep theirs (proved)
    lost = continuation_sigma_c(states, posteriors[2], targets=uncertified)
    assert set(uncertified[lost < sigma].tolist()) == missing
