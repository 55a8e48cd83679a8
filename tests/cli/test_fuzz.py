"""The command line under generated arguments: every run ends with exit 0, 1 or 2, never a traceback, and exit 2
comes with exactly one line on stderr.

The argument lists are drawn from `build_parser()` itself: every subcommand, every action with valid values,
invalid values and extremes by its argparse type (seeds, counts, sigma, output paths, choices), flags in both
``--flag value`` and ``--flag=value`` form, sometimes an unknown flag or a missing required one. Runs are
in-process (`decdiff.cli.main`); the expensive work behind the arguments (the checks, the fixed-point search,
training, the report, the benchmarks, a Dask cluster) is replaced by instant stand-ins, so the budget stays bounded
while parsing, validation, model and denoiser loading, output writing and the messages run for real.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decdiff.cli import build_parser, main
from decdiff.cli import common as types
from decdiff.files import write_text

ROOT = Path(__file__).resolve().parents[2]

TEXT_JUNK = st.sampled_from(["", "x", "1.5", "1e3", "0x10", " 3", "-", "--", "é", "nan"])


def mostly(valid: st.SearchStrategy, invalid: list) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(valid values, valid values three times in four and else an invalid or extreme one), as text."""
    def text(v: object) -> str:
        return v if isinstance(v, str) else repr(v)
    return valid.map(text), st.integers(0, 3).flatmap(lambda k: st.sampled_from(invalid) if k == 0 else valid).map(text)


HUGE = [2**63, -(2**63), 10**30]
#: Values by argparse type; str-typed actions by destination, anything else from `TEXT_JUNK`.
BY_TYPE = {
    types.seed: mostly(st.integers(0, 2**63 - 1), [-1, *HUGE]),
    types.positive_int: mostly(st.one_of(st.integers(1, 4), st.just(2**31)), [0, -1, *HUGE]),
    types.non_negative_int: mostly(st.one_of(st.integers(0, 3), st.just(2**31)), [-1, *HUGE]),
    types.positive_float: mostly(st.one_of(st.floats(1e-3, 10), st.sampled_from([1e-300, 1e300])),
                                 [0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf")]),
    types.noise_level: mostly(st.one_of(st.floats(1e-3, 10), st.sampled_from([1e-150, 1e150])),
                              [0.0, -1.0, 1e-300, 1e300, float("nan"), float("inf"), float("-inf")]),
    types.output_file: mostly(st.sampled_from(["net.pt", "out.json", "-"]),
                              ["/nonexistent/dir/out.json", ".", "/proc/forbidden/x", "existing.txt/x", "sub/../x.pt"]),
    types.scheduler_address: mostly(st.sampled_from(["tcp://127.0.0.1:8786", "127.0.0.1:8786"]),
                                    ["not-an-address", "tcp://host", "tcp://host:99999", "tcp://host:x"]),
    types.output_folder: mostly(st.sampled_from(["rep", "rep/deeper"]), ["/proc/forbidden", "existing.txt"]),
}
BY_DEST = {
    "model": mostly(st.sampled_from(["sensor-ring", "sensor-ring-noisy", "dectiger", "random:agents=2:states=3"]),
                    ["no-such-model", "/nonexistent/m.dpomdp", "existing.txt", "sensor-grid:2x2:targets=x"]),
    "denoiser": mostly(st.sampled_from(["exact", "user.py:make"]),
                       ["user.py:none", "user.py:absent", "missing.py:make", "net.pt", "existing.txt", "garbage"]),
    "check": mostly(st.sampled_from(["theorem1.converged_diffusion", "trained.reference_mse"]), ["no.such.check"]),
    "baseline": mostly(st.just("baseline.json"), ["existing.txt", "/nonexistent/b.json", "."]),
    "activation": mostly(st.sampled_from(["silu", "relu"]), ["bogus"]),
    "compare": mostly(st.sampled_from(["a.json", "."]), ["existing.txt", "/nonexistent/report.json"]),
}
USER = "from decdiff.implementations.denoisers.exact import ExactDenoiser\n\n\n" \
       "def make(model, sigma):\n    return ExactDenoiser(model)\n\n\ndef none(model, sigma):\n    return None\n"


def _value(action: argparse.Action, valid: bool) -> st.SearchStrategy[str]:
    if action.choices is not None:
        own = st.sampled_from(sorted(action.choices))
    elif action.type in BY_TYPE or action.dest in BY_DEST:
        own = (BY_TYPE[action.type] if action.type in BY_TYPE else BY_DEST[action.dest])[0 if valid else 1]
    else:
        own = TEXT_JUNK
    return own if valid else st.integers(0, 7).flatmap(lambda k: TEXT_JUNK if k == 0 else own)  # junk 1 in 8


def _tokens(action: argparse.Action, valid: bool) -> st.SearchStrategy[list[str]]:
    """What the argument list says for `action`: nothing, the flag, or the flag with values."""
    if not action.option_strings:
        return _value(action, valid).map(lambda v: [v])
    flag = action.option_strings[-1]
    if action.nargs == 0:
        return st.sampled_from([[], [flag]])
    if action.nargs in ("*", "?"):
        return st.lists(_value(action, valid), max_size=1 if action.nargs == "?" else 3).map(lambda vs: [flag, *vs])
    if isinstance(action.nargs, int):
        values = st.lists(_value(action, valid), min_size=action.nargs, max_size=action.nargs)
        return st.one_of(st.just([]), values.map(lambda vs: [flag, *vs]))
    one = st.one_of(_value(action, valid).map(lambda v: [flag, v]),
                    _value(action, valid).map(lambda v: [f"{flag}={v}"]))
    if isinstance(action, argparse._AppendAction):
        return st.lists(one, max_size=3).map(lambda groups: [t for g in groups for t in g])
    return one if action.required else st.one_of(st.just([]), one)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@st.composite
def argument_lists(draw, command: str) -> list[str]:
    """A generated ``decdiff COMMAND ...`` argument list (options in a drawn order): half of them from valid
    values only, the others with invalid values, extremes, junk text, an unknown flag or a dropped argument."""
    valid = draw(st.booleans())
    actions = [a for a in _subcommands()[command]._actions if not isinstance(a, argparse._HelpAction)]
    positional = [draw(_tokens(a, valid)) for a in actions if not a.option_strings]
    optional = draw(st.permutations([draw(_tokens(a, valid)) for a in actions if a.option_strings]))
    tokens = [t for group in [*positional, *optional] for t in group]
    if not valid and draw(st.integers(0, 4)) == 0:
        tokens = draw(st.sampled_from([[*tokens, "--frobnicate"], tokens[1:], tokens[:-1]]))
    return [command, *tokens]


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    """Instant stand-ins for the expensive work; a working folder with a user's factory file and an existing
    file (as a wrong kind of input)."""
    from decdiff.implementations import model_facts
    from decdiff.parallel import tasks

    monkeypatch.chdir(tmp_path)
    write_text("user.py", USER)
    write_text("existing.txt", "not a model, a checkpoint or a baseline\n")
    write_text("a.json", (ROOT / "reports" / "latest" / "report.json").read_text())
    facts, co_witness = model_facts.model_facts, model_facts.joint_history_co_witness
    run_tasks = tasks.run_tasks
    record = SimpleNamespace(epochs=1, best_epoch=1, seconds=0.0, best_val_mse=0.0, bayes_mse=0.0, mse_ratio=1.0,
                             to_json=dict)
    for target, stand_in in {
        "decdiff.checking.registry.check_denoiser": lambda *a, **k: [],
        "decdiff.cli.fixed_points.sampled_fixed_points": lambda model, h, sigma, seed, starts, *a, **k: {
            "sigma": sigma, "seed": seed, "history_length": h, "starts": starts, "saddle_pairs": 0, "true_state": "s",
            "agents": []},
        "decdiff.implementations.model_facts.model_facts": lambda model, h: facts(model, min(h, 2)),
        "decdiff.implementations.model_facts.joint_history_co_witness": lambda model, h: co_witness(model, min(h, 2)),
        "decdiff.implementations.training.train_denoiser": lambda model, config: (
            SimpleNamespace(describe=lambda: "stand-in"), record),
        "decdiff.implementations.denoisers.checkpoints.save_checkpoint": lambda out, d, meta: write_text(out, "x"),
        "decdiff.report.write.write_report": lambda *a, **k: {"claims_without_executed_checks": []},
        "decdiff.report.build.executed_checks": lambda report: [],
        "decdiff.bench.run_benchmarks": lambda *a, **k: [],
        "decdiff.bench.end_to_end.end_to_end_commands": list,
        "decdiff.bench.scaling.bench_scaling": lambda *a, **k: [],
        "decdiff.bench.workers.bench_workers": lambda *a, **k: SimpleNamespace(line=lambda: "stand-in", to_json=dict),
        "torch.set_num_threads": lambda n: None,
        "decdiff.parallel.tasks.run_tasks": lambda tasks, seed, workers, scheduler, progress, **_: run_tasks(
            tasks, seed=seed, progress=progress),   # in this process: no cluster, and the stand-ins apply
    }.items():
        monkeypatch.setattr(target, stand_in)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_run_ends_with_0_1_or_2_and_exit_2_with_one_line(command, stand_ins, capsys):
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(argv=argument_lists(command))
    def run(argv: list[str]) -> None:
        code = main(argv)
        codes.add(code)
        captured = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code, captured.err)
        assert "Traceback" not in captured.err + captured.out, argv
        if code == 2:
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("decdiff: error: "), (argv, captured.err)

    codes: set[int] = set()
    run()
    assert {0, 2} <= codes or command == "models", codes      # valid runs and refusals were both reached


def test_the_generator_reaches_every_action_of_every_subcommand():
    """Each action of each subcommand has a strategy of its own kind (none falls back to junk text only),
    so the fuzzing covers valid values of every argument and not only refusals."""
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.nargs == 0 or action.choices is not None:
                continue
            assert action.type in BY_TYPE or action.dest in BY_DEST, (name, action.dest)
