"""The exact denoiser f*: log-space stability, closed-form Jacobian, Tweedie/Miyasawa (Eqs. 2-3, 9)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.protocol import score
from decdiff.implementations.dynamics.jacobians import autograd_jacobian
from decdiff.implementations.histories import agent_histories, history_batch
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models
from decdiff.implementations.sampling import sample_trajectories
from decdiff.tolerances import FINITE_DIFFERENCE_SCORE, TEST_INTERVAL_CONFIDENCE


def _ring_agent2():
    model = sensor_ring(noisy=True)
    return model, history_batch(model, [2], np.zeros((1, 0), int), [[0]])


def test_tiny_sigma_is_finite_and_exact_with_zero_posteriors():
    model, history = _ring_agent2()                       # posterior (0.4, 0.2, 0, 0.4): a zero entry
    denoiser = ExactDenoiser(model)
    y = torch.tensor([[0.9, 0.1, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64)
    out = denoiser(history.repeat_interleave(2), y, 1e-3)
    assert torch.isfinite(out).all()
    assert torch.equal(out[0], torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64))
    assert out[1, 2] == 0.0                                # the impossible state gets weight exactly 0


@given(model=models(max_agents=2, max_states=4), seed=st.integers(0, 50), sigma=st.floats(0.05, 2.0))
def test_jacobian_closed_form_matches_jacrev_and_is_psd_low_rank(model, seed, sigma):
    histories = agent_histories(model, sample_trajectories(model, 2, 1, seed=seed))
    denoiser = ExactDenoiser(model)
    history = histories[0]
    y = torch.randn(6, model.state_dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    closed = denoiser.jacobian(history.repeat_interleave(6), y, sigma)
    auto = autograd_jacobian(denoiser, history, y, torch.full((6,), sigma, dtype=torch.float64))
    assert torch.allclose(closed, auto, atol=1e-10, rtol=1e-8)
    assert torch.allclose(closed, closed.transpose(1, 2), atol=1e-14)
    eig = torch.linalg.eigvalsh(closed)
    assert (eig > -1e-12).all()
    support = int((denoiser.posteriors(history) > 0).sum())
    rank = (eig > 1e-9 * eig.abs().amax(dim=1, keepdim=True).clamp_min(1e-300)).sum(dim=1)
    assert (rank <= max(support - 1, 0)).all()


def _log_p_sigma(states, weights, y, sigma):
    """log sum_k pi_k N(y; s_k, sigma^2 I), computed independently of the denoiser."""
    d = states.shape[1]
    sq = ((y[:, None, :] - states[None]) ** 2).sum(-1)
    return torch.logsumexp(torch.log(weights) - sq / (2 * sigma**2), dim=1) - d / 2 * np.log(2 * np.pi * sigma**2)


def test_score_matches_finite_differences_of_log_density():
    model, history = _ring_agent2()
    denoiser = ExactDenoiser(model)
    states = denoiser.states
    weights = denoiser.posteriors(history)[0]
    keep = weights > 0
    sigma, h = 0.4, 1e-5
    y = torch.randn(20, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 0.5 + 0.3
    got = score(denoiser, history.repeat_interleave(20), y, sigma)
    eye = torch.eye(4, dtype=torch.float64)
    fd = torch.stack([(_log_p_sigma(states[keep], weights[keep], y + h * eye[k], sigma)
                       - _log_p_sigma(states[keep], weights[keep], y - h * eye[k], sigma)) / (2 * h) for k in range(4)], 1)
    assert torch.allclose(got, fd, atol=1e-6)


def test_tweedie_posterior_mean_by_monte_carlo():
    """f*(y) = E[s | y]: sample s ~ posterior, y = s + sigma z; compare binned conditional means in 1-D."""
    model, history = _ring_agent2()
    denoiser = ExactDenoiser(model)
    weights = denoiser.posteriors(history)[0]
    sigma, n = 0.5, 400_000
    gen = torch.Generator().manual_seed(3)
    picks = torch.multinomial(weights, n, replacement=True, generator=gen)
    s = denoiser.states[picks]
    base = torch.tensor([0.5, 0.3, 0.0, 0.2], dtype=torch.float64)
    direction = torch.tensor([1.0, -1.0, 0.0, 0.0], dtype=torch.float64) / np.sqrt(2)
    # Importance weighting: E[s | y0] = sum_i s_i N(y0; s_i, sigma^2) / sum_i N(y0; s_i, sigma^2).
    y0 = base + torch.linspace(-0.5, 0.5, 5, dtype=torch.float64)[:, None] * direction
    logw = -((y0[:, None, :] - s[None]) ** 2).sum(-1) / (2 * sigma**2)
    w = torch.softmax(logw, dim=1)
    mc = w @ s
    ess = 1 / (w**2).sum(dim=1)
    exact = denoiser(history.repeat_interleave(5), y0, sigma)
    assert torch.allclose(mc, exact, atol=5 / ess.min().sqrt())
    assert (mc - exact).abs().max() < 0.01


def _one_hot_history(model, seed):
    histories = agent_histories(model, sample_trajectories(model, 2, 1, seed=seed))
    denoiser = ExactDenoiser(model)
    posteriors = denoiser.posteriors(histories)
    row = int(torch.argmax((posteriors > 0).sum(dim=1)))
    return histories[row], denoiser, posteriors[row]


@given(model=models(max_agents=2, max_states=4), seed=st.integers(0, 50), sigma=st.floats(0.2, 1.0))
def test_score_matches_finite_differences_on_random_models(model, seed, sigma):
    """Miyasawa (Eq. 3): (f* - y)/sigma^2 = grad_y log p_sigma(y | tau), by central differences."""
    history, denoiser, weights = _one_hot_history(model, seed)
    keep = weights > 0
    d = model.state_dim
    y = torch.rand(8, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 1.5 - 0.25
    got = score(denoiser, history.repeat_interleave(8), y, sigma)
    h, eye = 1e-5, torch.eye(d, dtype=torch.float64)
    fd = torch.stack([(_log_p_sigma(denoiser.states[keep], weights[keep], y + h * eye[k], sigma)
                       - _log_p_sigma(denoiser.states[keep], weights[keep], y - h * eye[k], sigma)) / (2 * h)
                      for k in range(d)], 1)
    assert torch.allclose(got, fd, atol=FINITE_DIFFERENCE_SCORE, rtol=0.0)


@settings(max_examples=15)
@given(model=models(max_agents=2, max_states=4), seed=st.integers(0, 50), sigma=st.floats(0.2, 1.0))
def test_tweedie_against_monte_carlo_posterior_mean_on_random_models(model, seed, sigma):
    """Tweedie (Eq. 2): f*(y) = E[s | y]. Draw s ~ p(s | tau); the self-normalised importance estimate
    sum_i s_i N(y; s_i, sigma^2) / sum_i N(y; s_i, sigma^2) has per-coordinate standard error <= 0.5/sqrt(ESS)
    (entries of one-hot states are Bernoulli), so it must lie within z/2/sqrt(ESS) of f*."""
    history, denoiser, weights = _one_hot_history(model, seed)
    gen = torch.Generator().manual_seed(seed)
    s = denoiser.states[torch.multinomial(weights, 20_000, replacement=True, generator=gen)]
    y0 = denoiser.states[torch.multinomial(weights, 4, replacement=True, generator=gen)]
    y0 = y0 + sigma * torch.randn(y0.shape, generator=gen, dtype=torch.float64)
    w = torch.softmax(-((y0[:, None, :] - s[None]) ** 2).sum(-1) / (2 * sigma**2), dim=1)
    ess = 1.0 / (w**2).sum(dim=1, keepdim=True)
    exact = denoiser(history.repeat_interleave(4), y0, sigma)
    z = float(norm.ppf(0.5 + 0.5 * TEST_INTERVAL_CONFIDENCE))
    assert ((w @ s - exact).abs() <= z * 0.5 / ess.sqrt()).all()
