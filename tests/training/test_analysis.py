"""The analyses behind Theorem 5, Corollary 5.1, Finding 3 and Theorem 6, on networks with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from decdiff.implementations.analysis.jacobian_rank import (
    Correlation,
    FeatureAugmentedMap,
    corollary_5_1_matrix,
    feature_jacobians,
    fixed_point_shift,
    fixed_points_from_states,
    j_plus,
    numerical_rank,
    rank_sensitivity,
    relative_error,
    spearman_interval,
)
from decdiff.implementations.analysis.surrogate import (
    anchored_residual,
    centred_residual,
    surrogate_sweep,
)
from decdiff.implementations.denoisers.mlp import Architecture, MLPDenoiser
from decdiff.implementations.dynamics.fixed_points import newton_refine
from decdiff.implementations.histories import HistoryEncoding

#: |tau| = 2 + 2 * 2 = 6 features, as in docs/claims.md#corollary-5-1 (|s| = 8, |tau| = 6).
ENCODING_6 = HistoryEncoding(n_agents=2, max_observations=2, max_actions=0, horizon=2)


def random_network(width: int, *, state_dim: int = 8, depth: int = 1, activation: str = "tanh", seed: int = 0,
                   output_scale: float = 1.0) -> MLPDenoiser:
    """A float64 MLP with PyTorch's default initialisation (seeded), last layer scaled by `output_scale`."""
    torch.manual_seed(seed)
    net = MLPDenoiser(Architecture(feature_dim=ENCODING_6.dim, state_dim=state_dim, width=width, depth=depth,
                                   activation=activation, dtype="float64"), ENCODING_6, sigma=0.3,
                      initial_observation=False)
    with torch.no_grad():
        net.net[-1].weight.mul_(output_scale)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@pytest.mark.parametrize("width, exact", [(4, True), (8, True), (64, False), (1024, False)])
def test_corollary_5_1_is_exact_iff_width_at_most_state_dim(width, exact):
    net = random_network(width, seed=width)
    generator = torch.Generator().manual_seed(1)
    tau = torch.rand(32, 6, generator=generator, dtype=torch.float64)
    y = torch.randn(32, 8, generator=generator, dtype=torch.float64)
    j_y, j_tau = feature_jacobians(net, tau, y, 0.3)
    w_tau, w_y, _ = net.first_layer()
    error = relative_error(corollary_5_1_matrix(j_y, w_tau, w_y), j_plus(j_y, j_tau))
    print(f"\nwidth {width}: max relative error {float(error.max()):.3g}, median {float(error.median()):.3g}")
    if exact:
        assert float(error.max()) < 1e-10
    else:
        assert float(error.min()) > 0.5  # docs/claims.md#corollary-5-1: 0.87 (h=64), 1.00 (h=1024)


def _contractive_network(seed=0):
    return random_network(32, state_dim=4, depth=2, activation="silu", seed=seed, output_scale=0.5)


def _fixed_points(net, n=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    tau = torch.rand(n, 6, generator=generator, dtype=torch.float64)
    s = torch.eye(4, dtype=torch.float64)[torch.arange(n) % 4]
    points = fixed_points_from_states(net, tau, s, 0.3)
    assert bool(points.converged.all()) and bool((points.spectral_radius < 1).all())
    return points


def test_j_plus_matches_central_finite_differences_of_the_fixed_point():
    net = _contractive_network()
    points = _fixed_points(net)
    f = FeatureAugmentedMap(net, 4)
    h = 1e-5
    n, feats = points.features.shape
    basis = torch.eye(feats, dtype=torch.float64)
    tau_plus = (points.features[:, None] + h * basis[None]).reshape(-1, feats)
    tau_minus = (points.features[:, None] - h * basis[None]).reshape(-1, feats)
    start = points.y.repeat_interleave(feats, dim=0)
    y_plus, _ = newton_refine(f, torch.cat([start, tau_plus], 1), 0.3)
    y_minus, _ = newton_refine(f, torch.cat([start, tau_minus], 1), 0.3)
    fd = ((y_plus[:, :4] - y_minus[:, :4]) / (2 * h)).reshape(n, feats, 4).transpose(1, 2)
    assert float(relative_error(fd, points.j_plus).max()) < 1e-6


def test_jacobian_agrees_with_the_dynamics_package():
    from decdiff.implementations.dynamics.jacobians import denoiser_jacobian
    from decdiff.implementations.histories import history_batch
    from decdiff.implementations.models.registry import load_model

    model = load_model("sensor-ring")
    encoding = HistoryEncoding.for_model(model, 1)
    torch.manual_seed(0)
    net = MLPDenoiser(Architecture(feature_dim=encoding.dim, state_dim=4, width=16, depth=2, dtype="float64"),
                      encoding, sigma=0.3, initial_observation=True)
    batch = history_batch(model, np.arange(4), np.zeros((4, 0)), np.array([[0], [1], [2], [3]]))
    y = torch.randn(4, 4, dtype=torch.float64)
    ours, _ = feature_jacobians(net, batch.features, y, 0.3)
    theirs = denoiser_jacobian(net, batch, y, 0.3)
    assert torch.allclose(ours.detach(), theirs.detach(), atol=1e-12)


def test_theorem5_error_is_second_order():
    net = _contractive_network(seed=2)
    points = _fixed_points(net, seed=2)
    generator = torch.Generator().manual_seed(3)
    directions = torch.randn(points.y.shape[0], 6, generator=generator, dtype=torch.float64)
    study = fixed_point_shift(net, points, directions, (1e-2, 3e-3, 1e-3, 3e-4), 0.3, error_floor=1e-11)
    print(f"\nslopes vs h: median {float(study.slope_scale.median()):.3f}, range "
          f"[{float(study.slope_scale.min()):.3f}, {float(study.slope_scale.max()):.3f}]; vs eps: median "
          f"{float(study.slope_epsilon.median()):.3f}")
    assert bool(study.converged.all())
    assert abs(float(study.slope_scale.median()) - 2) < 0.05
    assert float(study.slope_scale.min()) > 1.8 and float(study.slope_epsilon.min()) > 1.8
    # a first-order-wrong prediction (J_y left out) has slope 1: the measurement can tell
    wrong = points.__class__(**{**points.__dict__, "j_plus": points.j_tau})
    bad = fixed_point_shift(net, wrong, directions, (1e-2, 3e-3, 1e-3, 3e-4), 0.3, error_floor=1e-11)
    assert abs(float(bad.slope_scale.median()) - 1) < 0.1


def test_numerical_rank_and_its_sensitivity():
    matrices = torch.diag_embed(torch.tensor([[1.0, 1e-2, 1e-5, 0.0], [2.0, 1.0, 0.5, 1e-3]], dtype=torch.float64))
    assert numerical_rank(matrices, 1e-3).tolist() == [2, 3]
    sweep = rank_sensitivity(matrices, (1e-1, 1e-6))
    assert sweep[1e-1].tolist() == [1, 3] and sweep[1e-6].tolist() == [3, 4]
    assert numerical_rank(torch.zeros(1, 3, 3, dtype=torch.float64)).tolist() == [0]


def test_spearman_interval():
    x = np.arange(20.0)
    down = spearman_interval(x, -x ** 3)
    assert down.rho == pytest.approx(-1.0) and down.high < 0
    noise = np.random.default_rng(0).normal(size=200)
    null = spearman_interval(np.random.default_rng(1).normal(size=200), noise, method="bootstrap", n_boot=500)
    assert null.low < 0 < null.high
    assert np.isnan(spearman_interval(np.ones(10), x[:10]).rho)


def _ols_with_intercept(tau, s):
    design = np.hstack([tau, np.ones((tau.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(design, s, rcond=None)
    return float(((s - design @ coef) ** 2).sum(1).mean())


def test_eq17_equals_least_squares_with_intercept():
    rng = np.random.default_rng(0)
    tau, s = rng.normal(size=(50, 6)), rng.normal(size=(50, 4))
    assert float(centred_residual(torch.from_numpy(tau), torch.from_numpy(s))) == pytest.approx(
        _ols_with_intercept(tau, s), rel=1e-10)
    # one-hot-like features: Sigma_tau singular, the pseudo-inverse still gives the least-squares residual
    onehot = np.eye(5)[rng.integers(0, 5, 60)]
    tau2 = np.hstack([onehot, onehot[:, :1]])
    s2 = rng.normal(size=(60, 3))
    assert float(centred_residual(torch.from_numpy(tau2), torch.from_numpy(s2))) == pytest.approx(
        _ols_with_intercept(tau2, s2), rel=1e-9)
    # a 0/1 mask is the same as the subset
    mask = torch.from_numpy(rng.random(50) < 0.6)
    assert float(centred_residual(torch.from_numpy(tau), torch.from_numpy(s), mask)) == pytest.approx(
        _ols_with_intercept(tau[mask.numpy()], s[mask.numpy()]), rel=1e-10)


def test_eq15_equals_least_squares_without_intercept_anchored():
    rng = np.random.default_rng(1)
    tau, s = rng.normal(size=(30, 5)), rng.normal(size=(30, 3))
    dt, ds = tau[0] - tau, s[0] - s
    coef, *_ = np.linalg.lstsq(dt, ds, rcond=None)
    expected = float(((ds - dt @ coef) ** 2).sum())
    got = anchored_residual(torch.from_numpy(tau), torch.from_numpy(s), torch.from_numpy(tau[0]),
                            torch.from_numpy(s[0]), torch.ones(30, dtype=torch.float64))
    assert float(got) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("k", [2, 4, 7])
def test_eq17_is_zero_for_at_most_dim_tau_plus_1_samples(k):
    rng = np.random.default_rng(k)
    tau, s = rng.normal(size=(k, 6)), rng.normal(size=(k, 4))
    r = float(centred_residual(torch.from_numpy(tau), torch.from_numpy(s)))
    total = float(np.trace(np.cov(s.T, bias=True)))
    assert abs(r) <= 1e-12 * total                             # exact fit: R_hat = 0 (docs/claims.md#theorem-6)
    tau8, s8 = rng.normal(size=(12, 6)), rng.normal(size=(12, 4))
    assert float(centred_residual(torch.from_numpy(tau8), torch.from_numpy(s8))) > 1e-3


def test_surrogate_sweep_flags_degenerate_sets_and_counts_bounds():
    rng = np.random.default_rng(2)
    k, f = 40, 3
    tau = torch.from_numpy(rng.normal(size=(k, f)))
    s = torch.from_numpy(rng.normal(size=(k, 2)))
    # Jacobians on a line: J_k = c_k * I, so ||J_k - J_a||_F = sqrt(2) |c_k - c_a|
    c = torch.from_numpy(np.sort(rng.random(k)))
    jac = c[:, None, None] * torch.eye(2, dtype=torch.float64)
    dev = torch.full((k,), 0.01, dtype=torch.float64)
    sweep = surrogate_sweep(tau, s, jac, dev, epsilons=torch.tensor([0.0, 10.0], dtype=torch.float64))
    assert bool(sweep.degenerate[0].all()) and not bool(sweep.degenerate[1].any())
    assert torch.all(sweep.set_size[0] == 1) and torch.all(sweep.set_size[1] == k)
    assert np.isnan(float(sweep.bounded["norm"][0]))           # nothing to conclude on degenerate sets
    expected = float(centred_residual(tau, s))
    assert torch.allclose(sweep.r17[1], torch.full((k,), expected, dtype=torch.float64))
    assert float(sweep.bounded["norm"][1]) == (1.0 if 0.01 < expected else 0.0)
    assert float(sweep.worst_margin[1]) == pytest.approx(expected - 0.01)
    # repeated copies of one pair do not make a set non-degenerate
    ids = torch.arange(k) // 20
    repeated = surrogate_sweep(tau, s, jac, dev, epsilons=torch.tensor([10.0], dtype=torch.float64), pair_ids=ids)
    assert bool(repeated.degenerate.all()) and torch.all(repeated.distinct == 2)


@pytest.mark.parametrize(("rho", "low", "high", "expected"), [
    (-0.5, -0.7, -0.2, True), (0.5, 0.2, 0.7, False), (-0.1, -0.4, 0.2, None), (float("nan"), float("nan"),
                                                                                 float("nan"), None)])
def test_correlation_below_zero_is_read_off_the_interval(rho, low, high, expected):
    assert Correlation(rho, low, high, 30, "fisher", 0.95).below_zero() is expected
