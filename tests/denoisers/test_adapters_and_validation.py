"""Adapters reproduce the denoiser they wrap; the passive checker refuses broken outputs in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from decdiff import InputError, agent_histories, sample_trajectories
from decdiff.implementations.denoisers.adapters import (
    EpsilonDenoiser,
    FixedSigma,
    ResidualDenoiser,
    VDenoiser,
)
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.validation import CheckedDenoiser
from decdiff.implementations.models.sensor_networks import sensor_ring

MODEL = sensor_ring(noisy=True)
HISTORIES = agent_histories(MODEL, sample_trajectories(MODEL, 2, 8, seed=0))
EXACT = ExactDenoiser(MODEL)
Y = torch.randn(len(HISTORIES), 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
SIGMA = torch.linspace(0.1, 2.0, len(HISTORIES), dtype=torch.float64)


def test_epsilon_residual_and_v_adapters_recover_the_denoiser():
    expected = EXACT(HISTORIES, Y, SIGMA)
    eps = EpsilonDenoiser(lambda h, y, s: (y - EXACT(h, y, s)) / s[:, None])
    residual = ResidualDenoiser(lambda h, y, s: y - EXACT(h, y, s))
    sd = 0.7

    def v_model(h, u, s):
        norm = torch.sqrt(s**2 + sd**2)[:, None]
        y = u * norm
        c_skip, c_out = sd**2 / norm**2, -s[:, None] * sd / norm
        return (EXACT(h, y, s) - c_skip * y) / c_out

    for adapter in (eps, residual, VDenoiser(v_model, sigma_data=sd)):
        torch.testing.assert_close(adapter(HISTORIES, Y, SIGMA), expected, rtol=1e-12, atol=1e-12)


def test_wrong_coefficients_are_detected():
    """The adapters are not interchangeable: an epsilon model read as a residual one is wrong."""
    wrong = ResidualDenoiser(lambda h, y, s: (y - EXACT(h, y, s)) / s[:, None])
    assert not torch.allclose(wrong(HISTORIES, Y, SIGMA), EXACT(HISTORIES, Y, SIGMA))


def test_fixed_sigma_ignores_the_argument():
    blind = FixedSigma(lambda h, y: EXACT(h, y, 0.3), sigma=0.3)
    assert blind.sigma == 0.3
    torch.testing.assert_close(blind(HISTORIES, Y, SIGMA), EXACT(HISTORIES, Y, 0.3))


@pytest.mark.parametrize("broken, message", [
    (lambda h, y, s: y[:, :2], "shape"),
    (lambda h, y, s: y.long(), "dtype"),
    (lambda h, y, s: torch.where(h.agents[:, None] == 2, float("nan"), y), "NaN"),
    (lambda h, y, s: y / 0.0, "infinity"),
    (lambda h, y, s: 1 / 0, "ZeroDivisionError"),
    (lambda h, y, s: y.numpy(), "not a torch.Tensor"),
])
def test_checker_refuses_broken_outputs(broken, message):
    checked = CheckedDenoiser(broken, "user.py:make")
    with pytest.raises(InputError, match=message) as info:
        checked(HISTORIES, Y, SIGMA)
    assert "\n" not in str(info.value) and info.value.source == "user.py:make"


def test_checker_names_the_offending_row():
    checked = CheckedDenoiser(lambda h, y, s: torch.where(h.agents[:, None] == 2, float("nan"), y), "d")
    with pytest.raises(InputError, match="agent 2"):
        checked(HISTORIES, Y, SIGMA)


def test_checker_passes_good_output_through():
    torch.testing.assert_close(CheckedDenoiser(EXACT, "exact")(HISTORIES, Y, SIGMA), EXACT(HISTORIES, Y, SIGMA))


def test_verify_with_a_broken_factory_exits_2(tmp_path):
    factory = tmp_path / "mine.py"
    factory.write_text("import torch\n"
                       "def make(model, sigma):\n"
                       "    class D:\n"
                       "        sigma = None\n"
                       "        def __call__(self, h, y, s):\n"
                       "            return y[:, :1]\n"
                       "    return D()\n"
                       "def explode(model, sigma):\n"
                       "    raise RuntimeError('no weights')\n")
    for spec, needle in ((f"{factory}:make", "shape"), (f"{factory}:explode", "no weights"),
                         (f"{factory}:missing", "has no function")):
        result = subprocess.run([sys.executable, "-m", "decdiff", "verify", "sensor-ring", "--denoiser", spec],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and needle in result.stderr
