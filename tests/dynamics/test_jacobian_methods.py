"""Jacobians of denoisers torch.func cannot transform: autograd row by row, then finite differences."""

from __future__ import annotations

import numpy as np
import torch

from decdiff import agent_histories, sample_trajectories
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.validation import CheckedDenoiser
from decdiff.implementations.dynamics.jacobians import autograd_jacobian, finite_difference_step
from decdiff.implementations.models.registry import load_model

MODEL = load_model("sensor-ring-noisy")
HISTORY = agent_histories(MODEL, sample_trajectories(MODEL, 1, 4, seed=1))[0]
SIGMA = 0.4
Y = torch.from_numpy(MODEL.states[:3]) + 0.3 * torch.randn(3, MODEL.state_dim, dtype=torch.float64,
                                                           generator=torch.Generator().manual_seed(0))


class Exact:
    """f* behind a wrapper (no closed form)."""

    sigma = None

    def __init__(self):
        self.exact = ExactDenoiser(MODEL)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma)


class ReadsIndices(Exact):
    def __call__(self, histories, y, sigma):
        assert histories.index_rows().shape[0] == y.shape[0]        # numpy view of the indices: no vmap
        return self.exact(histories, y, sigma)


class InNumpy(Exact):
    def __call__(self, histories, y, sigma):
        post = self.exact.posteriors(histories).numpy()
        yy, ss, states = y.detach().numpy(), sigma.detach().numpy(), np.asarray(MODEL.states, dtype=np.float64)
        with np.errstate(divide="ignore"):
            logits = np.log(post) - ((yy[:, None] - states[None]) ** 2).sum(-1) / (2 * ss[:, None] ** 2)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        return torch.from_numpy((w / w.sum(axis=1, keepdims=True)) @ states)


def _closed_form():
    return ExactDenoiser(MODEL).jacobian(HISTORY.repeat_interleave(3), Y, SIGMA)


def _jacobian(denoiser):
    checked = CheckedDenoiser(denoiser, "test")
    jac = autograd_jacobian(checked, HISTORY, Y, torch.full((3,), SIGMA, dtype=torch.float64))
    return jac, checked.jacobian_method, checked.jacobian_calls


def test_each_form_gets_its_method_and_the_exact_jacobian():
    expected = _closed_form()
    for denoiser, method, atol in ((Exact(), "torch.func", 1e-12), (ReadsIndices(), "autograd", 1e-12),
                                   (InNumpy(), "finite differences", None)):
        jac, chosen, calls = _jacobian(denoiser)
        assert chosen == method and calls == {method: 1}
        if atol is None:    # the stated bound: h^2 M3 / 6 + eps M0 / h with h = eps^(1/3) max(1, |y|_inf)
            h = float(finite_difference_step(Y, torch.finfo(torch.float64).eps).max())
            atol = h ** 2 * (2.0 / SIGMA ** 2) ** 3 + torch.finfo(torch.float64).eps / h * 4
        torch.testing.assert_close(jac, expected, rtol=0, atol=atol)
        assert float((jac - expected).abs().max()) > 0 or method != "finite differences"


def test_the_choice_is_kept_and_a_denoiser_that_always_raises_is_bad_input():
    checked = CheckedDenoiser(InNumpy(), "test")
    sigma = torch.full((3,), SIGMA, dtype=torch.float64)
    autograd_jacobian(checked, HISTORY, Y, sigma)
    autograd_jacobian(checked, HISTORY, Y, sigma)
    assert checked.jacobian_calls == {"finite differences": 2}

    class Broken(Exact):
        def __call__(self, histories, y, sigma):
            raise ValueError("nope")

    from decdiff.errors import InputError
    try:
        autograd_jacobian(CheckedDenoiser(Broken(), "broken.py:make"), HISTORY, Y, sigma)
    except InputError as error:
        assert "broken.py:make" in str(error) and "nope" in str(error)
    else:
        raise AssertionError("a denoiser that always raises must be bad input")
