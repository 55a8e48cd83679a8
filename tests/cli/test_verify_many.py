"""`decdiff verify A B ...`: one task per model, in this process or on Dask workers, each model's record the same
as when it is verified alone."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from decdiff.cli import main

MODELS = ["sensor-ring", "sensor-ring-noisy"]
#: Two fixed-point checks on a small budget.
OPTIONS = ["--check", "theorem1.converged_diffusion", "--check", "theorem2.attractors_are_states",
           "--histories", "4", "--starts", "16", "--fixed-point-histories", "2"]


def _verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", *args, *OPTIONS])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def alone() -> list[dict]:
    records = []
    for model in MODELS:
        status, out, _ = _verify(model, "--json", "-")
        assert status == 0
        records.append(json.loads(out))
    return records


@pytest.mark.timeout(900)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_several_models_give_each_models_own_record_whatever_the_workers(alone, workers):
    status, out, err = _verify(*MODELS, "--json", "-", "--workers", workers)
    assert status == 0
    document = json.loads(out)
    assert json.dumps(document["runs"], sort_keys=True) == json.dumps(alone, sort_keys=True)
    assert "task 1/2 done" in err and "task 2/2 done" in err


def test_the_text_has_a_table_per_model_and_a_closing_line():
    status, out, _ = _verify(*MODELS)
    assert status == 0
    assert out.count("theorem2.attractors_are_states") == 2
    assert out.rstrip().splitlines()[-1] == "2 models; a check violated on: none"


def test_a_bad_model_among_several_stops_before_any_work_in_one_line():
    status, out, err = _verify("sensor-ring", "no-such-model")
    assert status == 2 and out == ""
    lines = [line for line in err.splitlines() if not line.startswith("  ...")]
    assert len(lines) == 1 and "no-such-model" in lines[0] and "task" not in err


def test_the_closing_line_names_the_models_with_a_violated_check(tmp_path):
    source = tmp_path / "mine.py"
    source.write_text("from decdiff.checking.mutant_reference import REFERENCE_MUTANTS\n"
                      "from decdiff.implementations.denoisers.exact import ExactDenoiser\n\n\n"
                      "def make(model, sigma):  # broken on the noisy ring only\n"
                      "    if model.name == 'sensor-ring-noisy':\n"
                      "        return REFERENCE_MUTANTS['prior-shrinkage'][1](model)\n"
                      "    return ExactDenoiser(model)\n")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["verify", *MODELS, "--denoiser", f"{source}:make", "--check", "reference.excess_mse"])
    assert status == 1, err.getvalue()
    assert out.getvalue().rstrip().splitlines()[-1] == "2 models; a check violated on: sensor-ring-noisy"


def test_an_unreachable_scheduler_is_one_line_and_exit_2():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        status, out, err = _verify(*MODELS, "--scheduler", "tcp://127.0.0.1:9")
    lines = [line for line in err.splitlines() if line.startswith("decdiff: error: ")]
    assert status == 2 and out == ""
    assert len(lines) == 1 and "tcp://127.0.0.1:9" in lines[0], err
