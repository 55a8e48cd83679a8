"""Every violated check says why in one line, and an assumption has one value per subject across all checks."""

from __future__ import annotations

import torch

from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget, CheckContext
from decdiff.properties.fixed_point_sets import (
    certified_everywhere,
    examined_histories,
    joint_agent_histories,
    joint_history_rows,
    sigma_below_sigma_c,
)
from decdiff.properties.registration import run_checks
from decdiff.results import CheckResult

SMALL = Budget(histories=8, starts=32, fixed_point_histories=4)


class Shifted:
    """The exact denoiser plus a constant: its fixed points are off the states, so Theorem 2 is violated."""

    def __init__(self, model, sigma: float) -> None:
        self.exact, self.sigma = ExactDenoiser(model), sigma

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma) + 0.2


def test_every_violated_check_carries_a_one_line_note():
    model = load_model("sensor-ring")
    results = check_denoiser(Shifted(model, 0.3), model, sigma=0.3, history_length=1, budget=SMALL, label="shifted")
    violated = [r for r in results if r.verdict == "violated"]
    assert "theorem2.attractors_are_states" in {r.id for r in violated}
    for r in violated:
        assert r.note and "\n" not in r.note, r.id
    theorem2 = next(r for r in violated if r.id == "theorem2.attractors_are_states")
    assert "stable points far from every consistent state" in theorem2.note
    assert all(r.note == "" for r in results if r.conclusion_holds is not False)


def test_a_failing_conclusion_without_a_note_gets_one_from_what_was_measured():
    result = CheckResult.make(id="x.y", claim="Theorem 2", subject={}, assumptions={}, conclusion_holds=False,
                              observed=3.0, bound=1.0, details={"observed_is": "worst ratio"})
    assert result.note == "worst ratio: 3 against the bound 1" and result.to_json()["note"] == result.note


def test_sigma_below_sigma_c_has_one_value_per_subject():
    model = load_model("sensor-grid:3x3:targets=2")
    ctx = CheckContext(model=model, denoiser=ExactDenoiser(model), denoiser_label="exact", sigma=0.45,
                       history_length=2, seed=0, budget=SMALL)
    torch.set_num_threads(1)
    results = run_checks(ctx, ["theorem2.attractors_are_states", "theorem3.shared_fixed_points",
                               "finding1.single_fixed_point"])
    joint = [e for row in joint_history_rows(ctx) for e in joint_agent_histories(ctx, int(row))]
    expected = certified_everywhere(examined_histories(ctx) + joint)
    assert sigma_below_sigma_c(ctx) == expected
    values = {r.id: r.assumptions["sigma_below_sigma_c"] for r in results if "sigma_below_sigma_c" in r.assumptions}
    assert len(values) == 3 and set(values.values()) == {expected}, values
