"""The reference checks (properties/reference.py) kill every denoiser of issue 16's first list on the models
it names, and accept the exact denoiser written in other forms."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from decdiff.checking.mutant_reference import REFERENCE_MUTANTS, unseen_reason
from decdiff.checking.mutation import fails
from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget

MODELS = ("sensor-ring", "sensor-ring-noisy", "random:agents=2:states=3:action_transition=1:seed=1")
#: 16 histories x 64 noise draws each; fixed points of 4 agent histories.
BUDGET = Budget(histories=16, starts=32, iterations=200, fixed_point_histories=4)
CHECKS = ("reference.excess_mse", "reference.max_deviation", "reference.fixed_points")


class Wrapped:
    """The exact denoiser behind a plain wrapper (no closed-form Jacobian, not an `ExactDenoiser`)."""

    sigma = None

    def __init__(self, model):
        self.exact = ExactDenoiser(model)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma)


def _run(denoiser, model, sigma=0.3):
    return check_denoiser(denoiser, model, sigma=sigma, history_length=1, checks=CHECKS,
                          budget=BUDGET)


@pytest.mark.parametrize("spec", MODELS)
@pytest.mark.parametrize("name", sorted(REFERENCE_MUTANTS))
def test_each_mutant_is_killed_unless_the_model_cannot_tell_it_apart(name, spec):
    model = load_model(spec)
    results = _run(REFERENCE_MUTANTS[name][1](model), model)
    reason = unseen_reason(name, model)
    if reason:
        assert not fails(results), [r.verdict for r in results]
        assert "posterior" in reason
    else:
        assert fails(results), [(r.id, r.verdict, r.observed, r.bound) for r in results]
        violated = [r for r in results if r.verdict == "violated"]
        assert all(r.counterexample and "sigma" in r.counterexample for r in violated)


@pytest.mark.parametrize("spec", MODELS)
def test_a_wrapper_around_the_exact_denoiser_holds_and_the_exact_one_is_skipped(spec):
    model = load_model(spec)
    wrapped = _run(Wrapped(model), model)
    assert [r.verdict for r in wrapped] == ["holds"] * 3, [(r.id, r.observed, r.bound) for r in wrapped]
    assert all(r.tolerance["eps"] > 0 for r in wrapped)
    assert {r.verdict for r in _run(ExactDenoiser(model), model)} == {"skipped"}


def test_plain_verify_exits_1_on_a_mutant_named_as_a_users_file(tmp_path):
    source = tmp_path / "mine.py"
    source.write_text("from decdiff.checking.mutant_reference import REFERENCE_MUTANTS\n"
                      "def make(model, sigma):\n    return REFERENCE_MUTANTS['prior-shrinkage'][1](model)\n")
    out = subprocess.run([sys.executable, "-m", "decdiff", "verify", "sensor-ring-noisy", "--denoiser",
                          f"{source}:make", "--check", "reference.excess_mse", "--check", "reference.fixed_points"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "reference.excess_mse" in out.stdout and "violated" in out.stdout


class ShiftedTrained:
    """f* moved by a constant vector of length `shift`, declaring itself trained (judged as an approximation)."""

    sigma = None
    capabilities = frozenset({"trained"})

    def __init__(self, model, shift: float):
        self.exact = ExactDenoiser(model)
        direction = torch.ones(model.state_dim, dtype=torch.float64)
        self.offset = shift * direction / direction.norm()

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma) + self.offset.to(y.dtype)


def test_a_trained_denoiser_is_judged_on_balls_whose_allowed_deviation_brouwer_guarantees():
    """On B(s, R) the allowed deviation is R - M(R): a shift below the smallest one holds, and then f really has
    a fixed point within R of each certified state (what the bound promises); a shift beyond every ball's
    allowance is violated, and the counterexample names its ball."""
    model = load_model("sensor-ring")
    probe = check_denoiser(ShiftedTrained(model, 0.0), model, sigma=0.3, history_length=1,
                           checks=["reference.max_deviation"], budget=BUDGET)[0]
    assert probe.verdict == "holds" and probe.details["balls"] > 0 and probe.observed < 1e-12
    small = ShiftedTrained(model, 0.9 * probe.details["smallest_allowed_deviation"])
    results = check_denoiser(small, model, sigma=0.3, history_length=1,
                             checks=["reference.max_deviation", "reference.fixed_points"], budget=BUDGET)
    assert [r.verdict for r in results] == ["holds", "holds"], [(r.id, r.observed, r.bound) for r in results]
    large = check_denoiser(ShiftedTrained(model, 0.5), model, sigma=0.3, history_length=1,
                           checks=["reference.max_deviation"], budget=BUDGET)[0]
    assert large.verdict == "violated"
    ball = large.counterexample["ball"]
    assert large.counterexample["distance"] > ball["allowed_deviation"] > 0
    assert ball["radius"] >= ball["allowed_deviation"]
