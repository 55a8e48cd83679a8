"""The command line: exit statuses, one-line errors, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from decdiff.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "decdiff", *args], capture_output=True, text=True, timeout=120)


def test_inspect_json_has_the_contract_keys(capsys):
    assert main(["inspect", "sensor-ring-noisy", "--history-length", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["agents"] == 4 and record["states"] == 4 and record["history_length"] == 1
    assert record["factored_observations"] is True
    assert record["per_step_co"] is False and record["joint_history_co"] is False


def test_inspect_grid_is_collectively_observable(capsys):
    assert main(["inspect", "sensor-grid:3x3:targets=2", "--history-length", "3", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["agents"] == 9 and record["states"] == 36 and record["per_step_co"] and record["joint_history_co"]


def test_models_lists_families(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("sensor-ring", "sensor-ring-noisy", "sensor-grid", "random", "dectiger"):
        assert name in out


@pytest.mark.parametrize("args, needle", [
    (["inspect", "no-such-model"], "unknown model"),
    (["inspect", "sensor-grid:5x5:targets=x"], "targets"),
    (["inspect", "sensor-grid:5x5:colour=red"], "colour"),
    (["inspect", "sensor-ring", "--history-length", "0"], "history length"),
    (["inspect", "/nonexistent/file.dpomdp"], "file.dpomdp"),
    (["frobnicate"], "invalid choice"),
    (["verify", "sensor-ring", "--starts", "0"], "--starts"),
    (["verify", "sensor-ring", "--seed", "-1"], "--seed: must be a non-negative integer below 2^63"),
    (["verify", "sensor-ring", "--sigma", "inf"], "--sigma: must be finite"),
    (["inspect", "sensor-ring", "--max-points", "-1"], "--max-points: must be a non-negative integer"),
    (["report", "--out", "/proc/forbidden"], "--out: /proc/forbidden: cannot write there"),
    (["verify", "sensor-ring", "--json=--"], "--json: expected a value, got '--'"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    result = _run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("decdiff: error:") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_reproduce_line_carries_a_non_default_budget(capsys):
    """A check run with a smaller budget (as in reports) is re-run exactly by its reproduce line."""
    from decdiff.checking.registry import check_denoiser
    from decdiff.implementations.denoisers.exact import ExactDenoiser
    from decdiff.implementations.models.registry import load_model
    from decdiff.properties.context import Budget

    model = load_model("sensor-ring-noisy")
    (result,) = check_denoiser(ExactDenoiser(model), model, sigma=0.3, history_length=2, label="exact",
                               checks=["theorem1.converged_diffusion"], budget=Budget(histories=8, starts=32))
    assert "--histories 8 --starts 32 --check" in result.reproduce and "--iterations" not in result.reproduce
    assert main(result.reproduce.split()[1:] + ["--json", "-"]) in (0, 1)
    (again,) = json.loads(capsys.readouterr().out)["checks"]
    assert again["observed"] == result.observed and again["n_cases"] == result.n_cases
    assert again["reproduce"] == result.reproduce
