"""Each bad input of issue 19 ends with exit status 2 and one line on stderr, before any work and without a
traceback; misbehaving denoisers (a hang, SystemExit, KeyboardInterrupt, a factory returning None) too."""

from __future__ import annotations

import pytest

from decdiff.cli import main

#: A user's denoiser file: factories that misbehave in one way each.
FACTORIES = '''
import sys
import time

from decdiff.implementations.denoisers.exact import ExactDenoiser


def hangs(model, sigma):
    exact = ExactDenoiser(model)

    def denoise(histories, y, sigma):
        time.sleep(60)
        return exact(histories, y, sigma)
    return denoise


def factory_hangs(model, sigma):
    time.sleep(60)


def exits(model, sigma):
    def denoise(histories, y, sigma):
        sys.exit(3)
    return denoise


def interrupts(model, sigma):
    def denoise(histories, y, sigma):
        raise KeyboardInterrupt
    return denoise


def factory_exits(model, sigma):
    sys.exit(3)


def none(model, sigma):
    return None
'''


def one_line(capsys) -> str:
    """The one stderr line of a refused run (stdout empty, no traceback)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1, captured
    assert lines[0].startswith("decdiff: error:") and "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Any work (loading a model) fails the test: refusals must come before it."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")
    monkeypatch.setattr("decdiff.implementations.models.registry.load_model", forbidden)


@pytest.mark.parametrize("args, needle", [
    (["verify", "sensor-ring", "--seed", "-1"], "--seed: must be a non-negative integer below 2^63, got -1"),
    (["inspect", "sensor-ring", "--seed", "-1"], "--seed: must be a non-negative integer below 2^63"),
    (["train", "sensor-ring", "--seed", "-1", "--out", "x.pt"], "--seed: must be a non-negative integer"),
    (["check", "exact", "--model", "sensor-ring", "--seed", str(2**63)], "--seed: must be a non-negative"),
    (["report", "--seed", "1.5"], "--seed: expected an integer, got '1.5'"),
    (["verify", "sensor-ring", "--sigma", "inf"], "--sigma: must be finite, got inf"),
    (["inspect", "sensor-ring", "--sigma", "nan"], "--sigma: must be finite, got nan"),
    (["check", "exact", "--model", "sensor-ring", "--sigma", "0"], "--sigma: must be positive, got 0"),
    (["train", "sensor-ring", "--sigma=-inf", "--out", "x.pt"], "--sigma: must be finite"),
    (["verify", "sensor-ring", "--sigma", "1e-300"], "--sigma: must lie in [1e-150, 1e+150]"),
    (["inspect", "sensor-ring", "--sigma", "1e300"], "--sigma: must lie in [1e-150, 1e+150]"),
    (["inspect", "sensor-ring", "--max-points", "-1"], "--max-points: must be a non-negative integer, got -1"),
    (["train", "sensor-ring", "--epochs", "0", "--out", "x.pt"], "--epochs: must be a positive integer, got 0"),
    (["train", "sensor-ring", "--learning-rate", "inf", "--out", "x.pt"], "--learning-rate: must be finite"),
    (["verify", "sensor-ring", "--denoiser-timeout", "0"], "--denoiser-timeout: must be positive"),
    (["bench", "--threads", "0"], "--threads: must be a positive integer"),
    (["verify", "sensor-ring", "--json", "/nonexistent/dir/out.json"],
     "--json: /nonexistent/dir/out.json: cannot write the file: the folder /nonexistent/dir does not exist"),
    (["report", "--out", "/proc/forbidden"], "--out: /proc/forbidden: cannot write there: the folder /proc refuses"),
    (["train", "sensor-ring", "--out", "/nonexistent/x.pt"], "--out: /nonexistent/x.pt: cannot write the file"),
    (["train", "sensor-ring", "--out", "x.json"], "--out: x.json: a checkpoint's name must end in .pt"),
    (["check", "exact", "--model", "sensor-ring", "--baseline", "/nonexistent/b.json", "--update-baseline"],
     "--baseline: /nonexistent/b.json: cannot write the file: the folder /nonexistent does not exist"),
])
def test_bad_values_are_refused_before_any_work(args, needle, capsys, no_work):
    assert main(args) == 2
    line = one_line(capsys)
    assert needle in line and "Errno" not in line


def test_a_flag_is_named_once(capsys, no_work):
    assert main(["inspect", "sensor-ring", "--starts", "0"]) == 2
    assert one_line(capsys).count("--starts") == 1


def test_a_folder_given_as_output_file_is_refused(tmp_path, capsys, no_work):
    assert main(["verify", "sensor-ring", "--json", str(tmp_path)]) == 2
    assert "is a folder, not a file" in one_line(capsys)


@pytest.mark.parametrize("factory, needle", [
    ("hangs", "the call on 16 rows (agent 0, 1, 2, 3, sigma 0.3) took longer than --denoiser-timeout 0.5 s"),
    ("factory_hangs", "factory_hangs(model, sigma) took longer than --denoiser-timeout 0.5 s"),
    ("exits", "raised SystemExit: 3 (row 0: agent 0, history length 1, sigma 0.3)"),
    ("interrupts", "raised KeyboardInterrupt"),
    ("factory_exits", "factory_exits(model, sigma) failed: SystemExit: 3"),
    ("none", "none(model, sigma) returned None, expected a denoiser"),
])
@pytest.mark.parametrize("command", ["verify", "check"])
def test_a_misbehaving_denoiser_is_bad_input(command, factory, needle, tmp_path, capsys):
    path = tmp_path / "user.py"
    path.write_text(FACTORIES)
    spec = f"{path}:{factory}"
    args = (["verify", "sensor-ring", "--denoiser", spec] if command == "verify"
            else ["check", spec, "--model", "sensor-ring"])
    assert main([*args, "--denoiser-timeout", "0.5"]) == 2
    line = one_line(capsys)
    assert needle in line, line


def test_a_module_that_exits_on_import_is_bad_input(tmp_path, capsys):
    path = tmp_path / "user.py"
    path.write_text("import sys\nsys.exit(4)\n")
    assert main(["verify", "sensor-ring", "--denoiser", f"{path}:make"]) == 2
    assert "importing it failed: SystemExit: 4" in one_line(capsys)


def test_skip_notes_name_the_capability_in_words(capsys):
    assert main(["verify", "sensor-ring", "--check", "trained.reference_mse"]) == 0
    out = capsys.readouterr().out
    assert "needs a trained denoiser (exact is not one)" in out and "has none" not in out


def test_the_time_limit_gives_an_outer_timer_back_what_it_had_left():
    import signal

    from decdiff.implementations.denoisers.validation import time_limit

    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 100.0)
        with time_limit(5.0):
            assert 4.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 5.0
        assert 99.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
