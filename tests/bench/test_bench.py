"""`decdiff bench`: figures are ratios of timings taken in one run, and the exponent fit is right."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from decdiff.bench.figures import best_times
from decdiff.bench.hot_paths import plain_mixture_mean
from decdiff.bench.scaling import fitted_exponent
from decdiff.cli import main
from decdiff.implementations.denoisers.exact import mixture_mean


def test_fitted_exponent_recovers_a_power_law():
    sizes = [36, 120, 300, 2016]
    assert fitted_exponent(sizes, [3e-4 * n ** 2 for n in sizes]) == pytest.approx(2.0, abs=1e-12)
    assert fitted_exponent(sizes, [5e-2 * n ** 0.5 for n in sizes]) == pytest.approx(0.5, abs=1e-12)


def test_best_times_times_every_function_in_interleaved_rounds():
    calls = []
    times = best_times([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3)
    assert calls == ["a", "b"] * 4            # one warm-up each, then three alternating rounds
    assert all(t >= 0 for t in times)


def test_the_plain_baseline_computes_the_same_denoiser():
    """The ratio is only meaningful if both sides compute f*: compare them on random data."""
    import torch

    gen = torch.Generator().manual_seed(1)
    states = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    log_weights = torch.log(torch.rand(40, generator=gen, dtype=torch.float64))
    y = torch.randn(300, 6, generator=gen, dtype=torch.float64)
    sigma = torch.full((300,), 0.4, dtype=torch.float64)
    torch.testing.assert_close(mixture_mean(log_weights, states, y, sigma),
                               plain_mixture_mean(log_weights, states, y, sigma), rtol=1e-12, atol=1e-12)


def test_bench_command_prints_and_writes_each_figure_with_its_ratio(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "posteriors", "--json", str(out)]) == 0
    load, printed = capsys.readouterr().out.split("\n", 1)
    assert load.startswith("load average ") and load.endswith("torch threads 2")
    assert printed.startswith("posteriors: ") and "ratio" in printed and "goal >= 50x" in printed
    (figure,) = json.loads(out.read_text())["figures"]
    assert math.isclose(figure["ratio"], figure["baseline_value"] / figure["value"], rel_tol=1e-12)
    assert figure["met"] == (figure["ratio"] >= 50)
    assert figure["details"]["histories"] == 250_000
    assert np.isfinite(figure["value"]) and figure["value"] > 0
