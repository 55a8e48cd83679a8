"""Baselines on margins: which differences `decdiff.checking.baseline.compare` calls regressions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from decdiff.checking.baseline import (
    compare,
    make_baseline,
    read_baseline,
    result_keys,
    write_baseline,
)
from decdiff.errors import InputError
from decdiff.results import CheckResult
from decdiff.tolerances import REFERENCE_ROUND_OFF_FACTOR, baseline_margin_tolerance

SUBJECT = {"model": "sensor-ring", "sigma": 0.3, "history_length": 1, "seed": 0, "checks": None}


def _result(id: str, observed: float | None, bound: float | None = 0.1, *, holds: bool | None = None,
            assumptions: dict | None = None, ci=None, **subject) -> CheckResult:
    conclusion = holds if holds is not None or observed is None else observed <= bound
    return CheckResult.make(id=id, claim="Theorem 1", subject={"model": "sensor-ring", **subject},
                            assumptions=assumptions or {"a": True}, conclusion_holds=conclusion,
                            observed=observed, bound=bound, ci=ci)


def _compare(old: list[CheckResult], new: list[CheckResult]):
    return compare(make_baseline(old, SUBJECT, "old.pt"), new, SUBJECT)


def test_identical_runs_have_no_changes():
    run = [_result("a.x", 0.02), _result("b.y", 0.5), _result("c.z", None)]
    assert _compare(run, run).changes == ()


def test_margin_worsening_beyond_tolerance_is_a_regression_and_within_is_not():
    old = [_result("a.x", 0.02)]                                  # margin 0.08, float64: round-off of 0.1 only
    tolerance = baseline_margin_tolerance(0.02, 0.1, None, {}, 2.0 ** -52)
    assert tolerance == pytest.approx(REFERENCE_ROUND_OFF_FACTOR * 2.0 ** -52 * 0.1)
    assert _compare(old, [_result("a.x", 0.02 + 0.5 * tolerance)]).changes == ()
    (drop,) = _compare(old, [_result("a.x", 0.02 + 1e-9)]).changes   # far above float64 round-off
    assert drop.regression and f"tolerance {tolerance:.3g}" in drop.text and "0.08 -> 0.08" in drop.text
    (change,) = _compare(old, [_result("a.x", 0.05)]).changes   # margin 0.05: worse by 0.03
    assert change.regression and change.kind == "margin" and "worse by 0.03" in change.text
    (better,) = _compare(old, [_result("a.x", 0.0)]).changes
    assert not better.regression and "better" in better.text


def test_round_off_follows_the_denoisers_dtype_and_the_checks_own_accuracy():
    """A float32 network's margin of order 1 moving by 1.2e-6 is round-off; the same move in float64 is not,
    unless the check itself only resolves distances of 1e-7 and more."""
    old = [_result("t.hull", 0.2, bound=1.0)]
    new = [_result("t.hull", 0.2 + 1.2e-6, bound=1.0)]
    float32 = float(np.finfo(np.float32).eps)
    assert not compare(make_baseline(old, SUBJECT, "a.pt", float32), new, SUBJECT, eps=float32).regressions
    assert compare(make_baseline(old, SUBJECT, "a.pt"), new, SUBJECT).regressions
    accurate = {"distance": 1e-7, "confidence": 0.95}                   # only absolute accuracies count
    assert baseline_margin_tolerance(0.2, 1.0, None, accurate, 0.0) == pytest.approx(1e-7)
    # either side's dtype decides: a float64 baseline compared with a float32 run
    assert not compare(make_baseline(old, SUBJECT, "a.pt"), new, SUBJECT, eps=float32).regressions


def test_monte_carlo_margins_get_their_interval_as_tolerance():
    old = [_result("a.x", 0.02, ci=(0.01, 0.03))]                # half-width 0.01
    assert not _compare(old, [_result("a.x", 0.029)]).regressions
    assert _compare(old, [_result("a.x", 0.04)]).regressions


@pytest.mark.parametrize("before, after, regression", [
    (dict(observed=0.0), dict(observed=0.5), True),                          # holds -> violated
    (dict(observed=0.5), dict(observed=0.0), False),                         # violated -> holds
    (dict(observed=0.0), dict(observed=None), True),                         # holds -> inconclusive
    (dict(observed=0.0, assumptions={"a": False}), dict(observed=0.5, assumptions={"a": False}), True),
    (dict(observed=None), dict(observed=0.0), False),                        # inconclusive -> holds
])
def test_verdict_changes(before, after, regression):
    comparison = _compare([_result("a.x", **before)], [_result("a.x", **after)])
    kinds = {c.kind: c.regression for c in comparison.changes}
    assert kinds["verdict"] is regression


def test_missing_checks_regress_and_new_checks_do_not():
    comparison = _compare([_result("a.x", 0.0), _result("b.y", 0.0)], [_result("a.x", 0.0), _result("c.z", 0.0)])
    by_kind = {c.kind: c for c in comparison.changes}
    assert by_kind["missing"].regression and by_kind["missing"].key == "b.y"
    assert not by_kind["new"].regression and by_kind["new"].key == "c.z"


def test_results_of_one_check_are_keyed_by_their_own_subject():
    results = [_result("t7.x", 0.0, order=[0, 1]), _result("t7.x", 0.0, order=[1, 0]), _result("t7.x", 0.0)]
    keys = result_keys(results)
    assert len(set(keys)) == 3 and keys[0] == 't7.x{"order": [0, 1]}' and keys[2] == "t7.x"
    assert result_keys([_result("t7.x", 0.0, order=[0, 1]), _result("t1.y", 0.0)]) == ["t7.x", "t1.y"]
    assert result_keys([_result("t7.x", 0.0)] * 2) == ["t7.x#1", "t7.x#2"]


@pytest.mark.parametrize("field, value", [("model", "sensor-ring-noisy"), ("sigma", 0.5), ("history_length", 2),
                                          ("seed", 1), ("checks", ["a.x"])])
def test_a_baseline_for_another_subject_is_refused(field, value):
    baseline = make_baseline([_result("a.x", 0.0)], SUBJECT, "old.pt")
    with pytest.raises(InputError, match=f"subject.{field}") as info:
        compare(baseline, [_result("a.x", 0.0)], {**SUBJECT, field: value}, source="b.json")
    assert "\n" not in str(info.value) and str(info.value).startswith("b.json")


def test_round_trip_and_malformed_files(tmp_path):
    baseline = make_baseline([_result("a.x", 0.02, ci=(0.0, 0.04))], SUBJECT, "old.pt")
    path = write_baseline(tmp_path / "b.json", baseline)
    again = read_baseline(path)
    assert again == json.loads(json.dumps(baseline))
    entry = again["results"]["a.x"]
    assert entry["margin"] == pytest.approx(0.08) and entry["margin_tolerance"] == pytest.approx(0.02 + REFERENCE_ROUND_OFF_FACTOR * 2.0 ** -52 * 0.1)
    assert again["subject"] == SUBJECT and again["decdiff_version"]
    (tmp_path / "bad.json").write_text("{\n  'x': 1\n}")
    with pytest.raises(InputError, match="not JSON") as info:
        read_baseline(tmp_path / "bad.json")
    assert info.value.line == 2
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="format"):
        read_baseline(tmp_path / "other.json")
    with pytest.raises(InputError, match="no such file"):
        read_baseline(tmp_path / "missing.json")


def test_a_check_skipped_in_either_run_is_not_compared():
    skipped = CheckResult.make(id="a.x", claim="Theorem 1", subject={"model": "sensor-ring"}, assumptions={},
                               conclusion_holds=None, skipped_reason="needs a denoiser with trained")
    for old, new in (([_result("a.x", 0.0)], [skipped]), ([skipped], [_result("a.x", 0.5)])):
        (change,) = _compare(old, new).changes
        assert change.kind == "not compared" and not change.regression and "skipped" in change.text
    assert _compare([skipped], [skipped]).changes == ()


def test_a_margin_against_a_moved_bound_is_not_compared_but_the_verdict_is():
    """A trained network's reference check (bound 0.07) against a denoiser claiming exactness (bound ~1e-12): the
    margin shrinks because the bound did, not because the denoiser got worse; a verdict change still counts."""
    old = [_result("reference.max_deviation", 0.006, bound=0.0707)]
    (change,) = _compare(old, [_result("reference.max_deviation", 0.0, bound=4e-13)]).changes
    assert change.kind == "not compared" and not change.regression and "0.0707 -> 4e-13" in change.text
    changes = _compare(old, [_result("reference.max_deviation", 1e-9, bound=4e-13)]).changes
    assert [c.kind for c in changes] == ["verdict", "not compared"] and changes[0].regression
