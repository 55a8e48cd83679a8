"""`decdiff bench`: fixed-point discovery comparisons, end-to-end timings and scaling (issue 9).

Every test runs a small instance of the real measurement: a 1-D two-state mixture, a
width-8 network trained in seconds, one-line subprocess commands, a two-point scaling plan.
"""

from __future__ import annotations

import json
import math
import re
import sys

import numpy as np
import pytest
import torch

from decdiff.bench import discovery, end_to_end, scaling
from decdiff.bench.discovery import bench_trained_fixed_points, compare_discovery
from decdiff.bench.end_to_end import EndToEnd, bench_end_to_end
from decdiff.bench.figures import BenchFigure
from decdiff.bench.scaling import (
    ScalingPlan,
    bench_scaling,
    fitted_exponent,
    scaling_data,
)
from decdiff.cli import main
from decdiff.implementations.dynamics.flows import MixtureMap
from decdiff.report.timings import plot_scaling


def test_discovery_comparison_counts_every_method_on_a_two_state_mixture():
    """States 0 and 1 with weights 0.3 / 0.7 at sigma = 0.3: two stable fixed points near the
    states and a saddle between them, which only the full search can find."""
    states = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    posterior = torch.tensor([0.3, 0.7], dtype=torch.float64)
    result = compare_discovery(lambda: MixtureMap(states, posterior), states, posterior, 0.3, n_starts=64, seed=0,
                               max_steps=10_000)
    assert result["full search stable"] == 2 and result["full search fixed points"] == 3
    assert result["stable points found"] == 2
    assert result["plain unconverged"] == 0 and result["stable search unconverged"] == 0
    assert result["plain limits among the stable search's points"] == "64/64"
    assert result["plain limits among the full search's points"] == "64/64"
    assert math.isclose(result["time ratio"], result["plain s"] / result["stable s"], rel_tol=1e-12)
    assert math.isclose(result["time ratio of the full search"], result["plain s"] / result["full s"], rel_tol=1e-12)
    assert result["best ratio any method"] == result["plain evaluations/start"] >= 1
    # Newton from raw starts and the saddle search cost evaluations the stable search does not spend
    assert result["full evaluations/start"] > result["stable evaluations/start"] > 0
    assert 0 < result["largest stable spectral radius"] < 1


def test_trained_network_benchmark_trains_once_then_reads_its_cache(tmp_path):
    first = bench_trained_fixed_points(width=8, cache=tmp_path, n_starts=16, max_steps=2000)
    assert first.details["trained in this run"] and first.details["width"] == 8
    assert first.details["checkpoint"].startswith(str(tmp_path))
    assert first.ratio == pytest.approx(first.baseline_value / first.value, rel=1e-12)
    assert first.met == (first.ratio >= 10)
    again = bench_trained_fixed_points(width=8, cache=tmp_path, n_starts=16, max_steps=2000)
    assert not again.details["trained in this run"]
    assert again.details["MSE / Bayes MSE"] == first.details["MSE / Bayes MSE"]
    # the same network, starts and history: the same fixed points and plain iteration counts
    for key in ("agent", "full search fixed points", "plain evaluations/start", "stable evaluations/start"):
        assert again.details[key] == first.details[key]


def test_end_to_end_times_a_command_in_a_fresh_directory():
    script = "import os, sys; sys.exit(0 if os.path.isdir(sys.argv[1]) and not os.listdir(sys.argv[1]) else 3)"
    figure = bench_end_to_end(EndToEnd("tiny", (sys.executable, "-c", script, "{tmp}"), 60.0))
    assert figure.details["exit status"] == 0 and figure.met and figure.details["CPU s"] >= 0
    assert figure.ratio == pytest.approx(60.0 / figure.value, rel=1e-12) and figure.value > 0
    assert figure.goal == "< 60 s" and figure.baseline_value == 60.0


def test_end_to_end_misses_its_goal_when_the_command_fails_or_is_too_slow():
    script = "import sys; sys.stderr.write('first\\nboom\\n'); sys.exit(3)"
    failed = bench_end_to_end(EndToEnd("fails", (sys.executable, "-c", script), 60.0))
    assert failed.details["exit status"] == 3 and not failed.met and failed.details["last stderr line"] == "boom"
    slow = bench_end_to_end(EndToEnd("slow", (sys.executable, "-c", "import time; time.sleep(0.3)"), 0.2))
    assert slow.value >= 0.3 and slow.ratio < 1 and not slow.met
    busy = bench_end_to_end(EndToEnd("busy", (sys.executable, "-c", "sum(range(10**7))"), 60.0))
    assert 0 < busy.details["CPU s"] <= busy.value * 2      # the child's own CPU time, at most 2 cores' worth


def test_end_to_end_commands_name_the_quick_report_and_the_test_run():
    commands = {c.name: c for c in end_to_end.end_to_end_commands()}
    report = commands["quick report (cold cache)"]
    assert report.goal_s == 300 and "{tmp}" in report.argv and report.argv[-4:-1] == ("--suite", "quick", "--out")
    tests = commands["default test run"]                 # this checkout has its tests
    assert tests.goal_s == 600 and (tests.cwd / "tests").is_dir() and "pytest" in tests.argv
    readme_command = re.search(r"\.venv/bin/python -m pytest( [^\n]*)?\n", (tests.cwd / "README.md").read_text())
    ci_command = re.search(r"\.venv/bin/python -m pytest( [^\n]*)?\n", (tests.cwd / ".ci" / "run").read_text())
    assert readme_command.group(0) == ci_command.group(0)                  # CI runs the README's test command
    options = tuple((readme_command.group(1) or "").split())
    assert tests.argv[3:3 + len(options)] == options                      # and the bench times that command


def test_bench_command_runs_only_end_to_end_and_writes_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(end_to_end, "end_to_end_commands",
                        lambda: [EndToEnd("tiny", (sys.executable, "-c", "pass"), 60.0)])
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "--end-to-end", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("load average ") and "tiny: " in printed and "goal < 60 s: met" in printed
    data = json.loads(out.read_text())
    assert [f["name"] for f in data["figures"]] == ["tiny"] and data["scaling"] == []



def test_bench_json_dash_puts_the_json_alone_on_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(end_to_end, "end_to_end_commands",
                        lambda: [EndToEnd("tiny", (sys.executable, "-c", "pass"), 60.0)])
    assert main(["bench", "--only", "--end-to-end", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert [f["name"] for f in json.loads(captured.out)["figures"]] == ["tiny"]
    assert "goal < 60 s" in captured.err and not (tmp_path / "-").exists()

TINY_PLAN = ScalingPlan(axes={"states": [(36, "sensor-grid:3x3:targets=2", 1), (120, "sensor-grid:4x4:targets=2", 1)]},
                        histories=20, starts=4, check_budget={"histories": 1, "starts": 4})


def test_scaling_measures_every_stage_on_every_axis_with_its_exponent(monkeypatch):
    monkeypatch.setitem(scaling.SCALING_PLANS, "quick", TINY_PLAN)
    series = bench_scaling("quick", stages=("posteriors", "fixed points"))
    assert [(s.stage, s.axis) for s in series] == [("posteriors", "states"), ("fixed points", "states")]
    for s in series:
        assert s.sizes == [36, 120] and s.history_lengths == [1, 1] and all(t > 0 for t in s.seconds)
        assert s.exponent == fitted_exponent(s.sizes, s.seconds)
        assert s.models == ["sensor-grid:3x3:targets=2", "sensor-grid:4x4:targets=2"]


def test_scaling_data_is_json_and_plots_one_panel_per_axis(monkeypatch, tmp_path):
    monkeypatch.setitem(scaling.SCALING_PLANS, "quick", TINY_PLAN)
    monkeypatch.setattr(scaling, "SCALING_STAGES", {"posteriors": scaling.SCALING_STAGES["posteriors"]})
    data = json.loads(json.dumps(scaling_data("quick", seed=1)))
    assert data["size"] == "quick" and data["seed"] == 1 and len(data["load_average"]) == 2
    assert [(s["stage"], s["axis"]) for s in data["series"]] == [("posteriors", "states")]
    path = plot_scaling(data, tmp_path / "scaling.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_scaling_draws_synthetic_series(tmp_path):
    import matplotlib.image

    data = {"size": "paper", "threads": 2, "load_average": [1.0, 2.0], "series": [
        {"stage": stage, "axis": axis, "sizes": [1, 2, 4], "seconds": [1e-3, 4e-3, 1.6e-2], "exponent": 2.0}
        for axis in ("states", "agents", "history length") for stage in ("posteriors", "checks")]}
    image = matplotlib.image.imread(plot_scaling(data, tmp_path / "s.png"))
    assert image.shape[1] > 2 * image.shape[0]          # three panels side by side


def test_bench_figure_line_states_the_goal():
    figure = BenchFigure("x", 2.0, "s", "goal", 300.0, 150.0, "< 300 s", True, {"exit status": 0})
    assert figure.line() == "x: 2 s against goal 300 s, ratio 150.0x; goal < 300 s: met (exit status 0)"


def test_near_critical_sigma_is_below_the_smallest_sigma_c():
    """The exact benchmark's second noise level lies just below a bifurcation (spectral radius near 1)."""
    figure = discovery.bench_fixed_points(n_starts=32, max_steps=50_000)
    near = figure.details["near critical"]
    assert near["sigma"] == pytest.approx(figure.details["smallest sigma_c"] * (1 - discovery.NEAR_CRITICAL))
    assert near["largest stable spectral radius"] > 0.9 > figure.details["largest stable spectral radius"]
    assert np.isfinite(figure.ratio) and figure.name == "fixed-point discovery, exact (sigma 0.3)"
