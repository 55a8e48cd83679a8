"""``decdiff check``: verdict table and exit status, broken denoisers in one line, baselines on margins."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from decdiff.cli import main

FACTORIES = '''
import torch
from decdiff.implementations.denoisers.exact import ExactDenoiser


class Offset:
    """The exact denoiser moved by `offset` in every coordinate; declared trained, so the
    reference-MSE check (a margin that measures how far it is from f*) runs on it."""

    sigma = None
    capabilities = frozenset({"trained"})

    def __init__(self, model, offset):
        self.exact, self.offset = ExactDenoiser(model), offset

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma) + self.offset


def good(model, sigma):
    return Offset(model, 0.0)


def slightly_worse(model, sigma):
    return Offset(model, OFFSET)


class Broken:
    sigma = None

    def __init__(self, model, how):
        self.exact, self.how = ExactDenoiser(model), how

    def __call__(self, histories, y, sigma):
        out = self.exact(histories, y, sigma)
        if self.how == "shape":
            return out[:, :2]
        if self.how == "nan":
            return torch.where(histories.agents[:, None] == 2, float("nan"), out)
        if self.how == "inf":
            return out + float("inf")
        raise RuntimeError("weights not loaded")


def wrong_shape(model, sigma):
    return Broken(model, "shape")


def nan_for_agent_2(model, sigma):
    return Broken(model, "nan")


def infinite(model, sigma):
    return Broken(model, "inf")


def raises(model, sigma):
    return Broken(model, "raise")
'''

#: Checks of the baseline tests: one denoiser-level margin (reference MSE) and one model-level one.
CHECKS = ["--check", "trained.reference_mse", "--check", "theorem3.support_intersection"]


@pytest.fixture(scope="module")
def factories(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "mine.py"
    # an offset of 0.01 per coordinate: excess MSE 4e-4 against a Bayes MSE of ~0.008, so the
    # reference-MSE check still holds, with a smaller margin
    path.write_text(FACTORIES.replace("OFFSET", "0.01"))
    return path


def _check(*args: str, capsys) -> tuple[int, str, str]:
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exact_denoiser_passes_every_check(capsys, tmp_path):
    code, out, err = _check("exact", "--model", "sensor-ring", "--json", str(tmp_path / "run.json"), capsys=capsys)
    assert code == 0, out + err
    record = json.loads((tmp_path / "run.json").read_text())
    keys = {"decdiff_version", "model", "denoiser", "sigma", "history_length", "seed", "checks", "summary"}
    assert keys <= set(record)
    verdicts = [c["verdict"] for c in record["checks"]]
    assert "violated" not in verdicts and "holds" in verdicts
    assert len(record["checks"]) >= len({c["id"] for c in record["checks"]}) >= 2
    for check in record["checks"]:                      # every row of the table names its check and verdict
        assert any(line.startswith(check["id"]) and check["verdict"] in line for line in out.splitlines())


@pytest.mark.parametrize("factory, needle", [
    ("wrong_shape", "returned shape (16, 2) for input of shape (16, 4)"),
    ("nan_for_agent_2", "returned NaN (row"),
    ("infinite", "returned infinity (row 0: agent 0"),
    ("raises", "raised RuntimeError: weights not loaded (row 0"),
])
def test_a_broken_denoiser_exits_2_with_one_line_naming_the_problem_and_input(factories, factory, needle, capsys):
    code, out, err = _check(f"{factories}:{factory}", "--model", "sensor-ring", capsys=capsys)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"decdiff: error: {factories}:{factory}: ") and needle in line
    if factory == "nan_for_agent_2":
        assert "agent 2" in line and "history length 1" in line and "sigma 0.3" in line


def test_the_console_command_prints_no_traceback(factories):
    result = subprocess.run([sys.executable, "-m", "decdiff", "check", f"{factories}:nan_for_agent_2", "--model",
                             "sensor-ring"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "agent 2" in result.stderr


def test_baseline_catches_a_planted_regression_and_not_an_identical_run(factories, tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    good, worse = f"{factories}:good", f"{factories}:slightly_worse"
    code, out, _ = _check(good, "--model", "sensor-ring", *CHECKS, "--baseline", str(baseline), "--update-baseline",
                          capsys=capsys)
    assert code == 0 and f"baseline written to {baseline}" in out
    stored = json.loads(baseline.read_text())
    assert stored["subject"] == {"model": "sensor-ring", "sigma": 0.3, "history_length": 1, "seed": 0,
                                 "checks": sorted(CHECKS[1::2])}
    assert stored["denoiser"] == good and stored["decdiff_version"]
    reference = stored["results"]["trained.reference_mse"]
    assert reference["verdict"] == "holds" and reference["margin"] == pytest.approx(0.1, abs=1e-9)
    assert reference["tolerance"] == {"relative_excess_mse": 0.1, "confidence": 0.95}
    assert 0 < reference["margin_tolerance"] < 1e-3

    code, out, _ = _check(good, "--model", "sensor-ring", *CHECKS, "--baseline", str(baseline), capsys=capsys)
    assert code == 0 and "0 regressions, 0 other change(s)" in out

    code, out, _ = _check(worse, "--model", "sensor-ring", *CHECKS, "--baseline", str(baseline), "--json", "-",
                          capsys=capsys)
    assert code == 1
    record = json.loads(out)
    (reference_mse,) = [c for c in record["checks"] if c["id"] == "trained.reference_mse"]
    assert reference_mse["verdict"] == "holds"         # still within the claim: only the margin regressed
    comparison = record["baseline"]
    assert comparison["regressions"] == 1 and comparison["baseline_denoiser"] == good
    (change,) = comparison["changes"]
    assert change["key"] == "trained.reference_mse" and change["kind"] == "margin" and change["regression"]

    code, out, _ = _check(worse, "--model", "sensor-ring", *CHECKS, "--baseline", str(baseline), capsys=capsys)
    assert code == 1 and "REGRESSION  trained.reference_mse: margin 0.1 ->" in out


@pytest.mark.parametrize("args, needle", [
    (["--model", "sensor-ring-noisy"], "subject.model: the baseline is for 'sensor-ring', this run has "
                                       "'sensor-ring-noisy'"),
    (["--model", "sensor-ring", "--sigma", "0.2"], "subject.sigma"),
    (["--model", "sensor-ring", "--seed", "3"], "subject.seed"),
])
def test_a_baseline_for_other_settings_is_bad_input(factories, tmp_path, capsys, args, needle):
    baseline = tmp_path / "baseline.json"
    assert _check("exact", "--model", "sensor-ring", *CHECKS, "--baseline", str(baseline), "--update-baseline",
                  capsys=capsys)[0] == 0
    code, out, err = _check("exact", *args, *CHECKS, "--baseline", str(baseline), capsys=capsys)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"decdiff: error: {baseline}: ") and needle in line


@pytest.mark.parametrize("args, needle", [
    (["exact", "--model", "sensor-ring", "--update-baseline"], "--update-baseline: needs --baseline FILE"),
    (["exact", "--model", "sensor-ring", "--baseline", "/nonexistent/b.json"], "no such file"),
    (["exact", "--model", "sensor-ring", "--baseline", "/nonexistent/b.json", "--update-baseline"],
     "the folder /nonexistent does not exist"),
    (["exact", "--model", "no-such-model"], "unknown model"),
    (["exact"], "--model"),
])
def test_bad_arguments_exit_2(args, needle, capsys):
    code, out, err = _check(*args, capsys=capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_a_user_denoiser_is_validated_also_inside_jacobian_computations(factories, capsys):
    """Checks differentiate user denoisers with torch.func (vmap/jacrev); the passive checker must let
    them through (it checks values on plain calls only) and the exact-equivalent denoiser must pass."""
    code, out, err = _check(f"{factories}:good", "--model", "sensor-ring", "--check", "theorem2.attractors_are_states",
                            "--json", "-", capsys=capsys)
    assert code == 0, err
    (result,) = json.loads(out)["checks"]
    assert result["verdict"] == "holds" and result["n_cases"] > 0
