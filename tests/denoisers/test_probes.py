"""The denoiser probe: call-to-call noise measured up front, float16 outputs and a missing `sigma` warned about."""

from __future__ import annotations

import pytest
import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.probes import probe_denoiser
from decdiff.implementations.denoisers.validation import CheckedDenoiser
from decdiff.implementations.models.registry import load_model

MODEL = load_model("sensor-ring")


class Exact:
    sigma = None

    def __init__(self, scale: float = 0.0, half: bool = False):
        self.exact, self.scale, self.half = ExactDenoiser(MODEL), scale, half
        self.generator = torch.Generator().manual_seed(0)

    def __call__(self, histories, y, sigma):
        out = self.exact(histories, y, sigma) + self.scale * torch.randn(y.shape, generator=self.generator,
                                                                         dtype=torch.float64)
        return out.half() if self.half else out


class NoSigma:
    def __init__(self):
        self.exact = ExactDenoiser(MODEL)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma)


def _probe(denoiser):
    return probe_denoiser(CheckedDenoiser(denoiser, "mine.py:make"), MODEL, 0.3, "mine.py:make")


def test_a_deterministic_float64_denoiser_has_no_warnings():
    probed = _probe(Exact())
    assert probed.call_noise == 0.0 and probed.warnings == ()


def test_small_noise_is_measured_and_warned_about_and_large_noise_is_bad_input():
    probed = _probe(Exact(scale=1e-7))
    assert 1e-8 < probed.call_noise < 1e-6 and 1e-8 < probed.call_noise_rms < 1e-6
    (warning,) = probed.warnings
    assert warning.startswith("mine.py:make: non-deterministic") and f"{probed.call_noise:.3g}" in warning
    with pytest.raises(InputError, match=r"mine.py:make.*differ by [0-9.]+ on the same batch"):
        _probe(Exact(scale=1.0))


def test_float16_and_a_missing_sigma_are_warned_about():
    assert any("float16" in w for w in _probe(Exact(half=True)).warnings)
    assert any("no `sigma` attribute" in w for w in _probe(NoSigma()).warnings)


class ClaimsContinuousHistories(Exact):
    """Declares what an MLPDenoiser declares without its `forward_features` and `dtype` (a user who copied
    the capabilities): the sampled-pair checks would call them and stop in a traceback."""

    capabilities = frozenset({"trained", "continuous_history"})


def test_a_declared_capability_without_its_interface_is_bad_input_in_one_line():
    with pytest.raises(InputError) as refused:
        _probe(ClaimsContinuousHistories())
    message = str(refused.value)
    assert "mine.py:make" in message and "'continuous_history'" in message and "\n" not in message
    assert "lacks forward_features, dtype" in message
    complete = ClaimsContinuousHistories()
    complete.forward_features, complete.dtype = (lambda features, y, sigma: y), torch.float64
    assert _probe(complete).warnings == ()
