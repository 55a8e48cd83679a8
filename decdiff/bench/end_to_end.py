"""Whole commands timed in a subprocess against their goals: the quick report from a cold cache
(< 5 min) and the default test run (< 10 min on 2 cores).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decdiff.bench.figures import BenchFigure


@dataclass(frozen=True)
class EndToEnd:
    """A command timed end to end in a subprocess, against a goal in seconds.

    ``argv`` may contain ``{tmp}``, replaced by a fresh empty directory (a cold cache).
    """

    name: str
    argv: tuple[str, ...]
    goal_s: float
    cwd: Path | None = None


def repository_root() -> Path | None:
    """The source checkout decdiff runs from (the folder with pyproject.toml and tests/), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "tests").is_dir() else None


#: The options of the README's (and CI's) test command, ``python -m pytest -n 2 --dist loadfile``: two
#: xdist processes, each test file whole in one of them.
TEST_RUN_OPTIONS = ("-n", "2", "--dist", "loadfile")


def end_to_end_commands() -> list[EndToEnd]:
    """Issue 9's end-to-end goals: the quick report from a cold cache < 5 min; the default test run < 10 min
    (only from a source checkout, which has the tests)."""
    commands = [EndToEnd("quick report (cold cache)",
                         (sys.executable, "-m", "decdiff", "report", "--suite", "quick", "--out", "{tmp}"), 300.0)]
    root = repository_root()
    if root is not None:
        commands.append(EndToEnd("default test run", (sys.executable, "-m", "pytest", *TEST_RUN_OPTIONS, "-q", "-p",
                                                      "no:cacheprovider"), 600.0, root))
    return commands


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_end_to_end(command: EndToEnd) -> BenchFigure:
    """Wall-clock seconds of `command` in a subprocess; the ratio is goal / seconds (> 1: within the goal).

    A command that did not run to completion (exit status other than 0 or 1: 0 and 1 are a
    finished report or test run with or without failures) misses its goal whatever its time;
    the command's CPU seconds (its processes and theirs) and the load average before and
    after are reported beside the figure.
    """
    with tempfile.TemporaryDirectory(prefix="decdiff-bench-") as tmp:
        argv = [part.replace("{tmp}", tmp) for part in command.argv]
        load_before = os.getloadavg()[0]
        cpu_before = _children_cpu_seconds()
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=command.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
    completed = done.returncode in (0, 1)
    details: dict[str, Any] = {"command": " ".join(command.argv), "exit status": done.returncode,
                               "CPU s": _children_cpu_seconds() - cpu_before,
                               "load average before": load_before, "load average after": os.getloadavg()[0],
                               "cores": os.cpu_count()}
    if not completed:
        details["last stderr line"] = (done.stderr.strip().splitlines() or [""])[-1]
    return BenchFigure(command.name, seconds, "s", "goal", command.goal_s, command.goal_s / seconds,
                       f"< {command.goal_s:g} s", completed and seconds < command.goal_s, details)
