"""Table 1's check "composite > individual in every column" fails on a denoiser that ignores the history.

With the history zeroed every agent's map is the same prior denoiser, so composite and
individual diffusion run the very same flow: the check must not report "holds" (each
seed's difference is 0, and an interval [0, 0] does not lie above 0). The unbroken base
(f* with a continuous history input) holds on the same histories.
"""

from __future__ import annotations

import pytest

from decdiff.checking.mutant_denoisers import BASES
from decdiff.checking.mutation import MUTANTS
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.training import sample_pairs
from decdiff.report.composite import (
    denoising_errors,
    joint_rows,
    seed_difference,
    table1_check,
)

MODEL = load_model("sensor-grid:3x3:targets=2")
SIGMA = 0.5
SEEDS = (0, 1, 2)
HISTORIES = 12


def _table1(denoiser):
    errors = {"train": [], "test": []}
    for seed in SEEDS:
        for split, offset in (("train", 0), ("test", 100)):
            batches, states = joint_rows(sample_pairs(MODEL, 1, HISTORIES, seed=seed + offset), MODEL.n_agents,
                                         HISTORIES)
            errors[split].append(denoising_errors(denoiser, batches, states, SIGMA, 1, seed=seed))
    columns = [{"factor": "width", "value": 0, **{s: seed_difference(e, 1.0) for s, e in errors.items()}}]
    subject = {"model": MODEL.name, "denoiser": "test", "sigma": SIGMA, "history_length": 1}
    return table1_check(columns, subject, len(SEEDS), seed=0)


@pytest.fixture(scope="module")
def base():
    return BASES["smooth-exact"](MODEL, SIGMA, 0)


def test_base_holds(base):
    assert _table1(base).verdict == "holds"


def test_history_blind_mutant_is_not_passed(base):
    (mutant,) = [m for m in MUTANTS if m.name == "ignores-history"]
    _, broken = mutant.make(MODEL, base, 0)
    result = _table1(broken)
    assert result.verdict != "holds"
    assert result.margin is not None and result.margin <= 0
