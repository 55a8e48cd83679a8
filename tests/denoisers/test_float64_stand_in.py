"""A user's float32 torch module: its fixed points are analysed on a validated float64 copy (Newton reaches the
1e-12 residual only in float64), and the checks still tell a correct network from a broken one."""

from __future__ import annotations

from pathlib import Path

import torch

from decdiff.implementations.analysis.jacobian_rank import float64_copy
from decdiff.implementations.denoisers.checkpoints import load_checkpoint
from decdiff.implementations.denoisers.probes import probe_denoiser
from decdiff.implementations.denoisers.validation import CheckedDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import CheckContext
from decdiff.properties.registration import run_checks

MODEL = load_model("sensor-ring")
#: The report's trained ring network (width 256, float32), committed with the report.
CHECKPOINTS = Path(__file__).resolve().parents[2] / "reports" / "latest" / "checkpoints"
RING = sorted(CHECKPOINTS.glob("sensor_ring-w256*.pt"))[0]


class Mine(torch.nn.Module):
    """The ring network as a user would write it: float32, casting its input to its parameters' dtype (or,
    with ``fixed_float``, always to float32, which no float64 copy can change)."""

    capabilities = ("trained",)

    def __init__(self, shift: float = 0.0, fixed_float: bool = False):
        super().__init__()
        mlp = load_checkpoint(RING, MODEL)
        self.net, self.features_of, self.sigma = mlp.net, mlp.features_of, mlp.sigma
        self.shift, self.fixed_float = shift, fixed_float

    def forward(self, histories, y, sigma):
        dtype = torch.float32 if self.fixed_float else self.net[0].weight.dtype
        return self.net(torch.cat([self.features_of(histories), y], dim=1).to(dtype)) + self.shift


class NotAModule:
    sigma, capabilities = 0.3, ("trained",)

    def __init__(self):
        self.module = Mine()

    def __call__(self, histories, y, sigma):
        return self.module(histories, y, sigma)


def _loaded(denoiser):
    """As `load_denoiser` gives a factory's denoiser to the checks."""
    return probe_denoiser(CheckedDenoiser(denoiser, "mine.py:make"), MODEL, 0.3, "mine.py:make")


def _float_warning(probed) -> str:
    (warning,) = [w for w in probed.warnings if "returns float32" in w]
    return warning


def test_a_float32_module_gets_a_float64_copy_that_agrees_with_it():
    probed = _loaded(Mine())
    assert probed.float64_stand_in is not None and float64_copy(probed) is probed.float64_stand_in
    assert "analysed on a float64 copy of the module (outputs agree to" in _float_warning(probed)


def test_no_copy_where_it_cannot_compute_in_float64_or_there_is_no_module():
    fixed = _loaded(Mine(fixed_float=True))
    assert fixed.float64_stand_in is None and float64_copy(fixed) is fixed
    assert "its float64 copy failed (InputError" in _float_warning(fixed)
    plain = _loaded(NotAModule())
    assert plain.float64_stand_in is None and "not a torch module" in _float_warning(plain)


def _fixed_point_verdict(denoiser) -> str:
    ctx = CheckContext(model=MODEL, denoiser=_loaded(denoiser), denoiser_label="mine.py:make", sigma=0.3,
                       history_length=1, seed=0)
    (result,) = run_checks(ctx, ["reference.fixed_points"])
    return result.verdict


def test_the_fixed_point_check_holds_for_the_network_fails_for_a_broken_one_and_is_undecided_without_a_copy():
    assert _fixed_point_verdict(Mine()) == "holds"
    assert _fixed_point_verdict(Mine(shift=0.2)) == "violated"          # every output moved by 0.2
    assert _fixed_point_verdict(Mine(fixed_float=True)) == "inconclusive"
