"""The task engine: seeds from the run's seed and each task's key, the same bytes with 1 or 2 Dask workers,
one retry when a worker dies, a one-line stop naming the step after a second failure."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from decdiff.parallel.tasks import Task, TaskFailed, graph_bounds, run_tasks, task_seed


def draws(n: int) -> list[float]:
    """What a task that uses the global generators sees."""
    return torch.rand(n, dtype=torch.float64).tolist() + np.random.rand(n).tolist()


def die_once(marker: str) -> str:
    """Kill this worker process the first time (no exception: the process is gone), succeed the second."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(1)
    return "second try"


def die_always() -> None:
    os._exit(1)


def test_each_task_is_seeded_by_the_run_seed_and_its_key_not_by_order():
    tasks = [Task("a", draws, (3,)), Task("b", draws, (3,))]
    forward = run_tasks(tasks, seed=7).results
    backward = run_tasks(tasks[::-1], seed=7).results[::-1]
    assert forward == backward and forward[0] != forward[1]
    assert run_tasks(tasks, seed=8).results != forward
    assert task_seed(7, "a") != task_seed(7, "b") and task_seed(7, "a") == task_seed(7, "a")


def write_late(path: str) -> str:
    """Write `path` after 5 s (a training writing its checkpoint): longer than a fresh worker takes to start
    its first task (it imports torch), so a reader that does not wait finds nothing."""
    time.sleep(5.0)
    Path(path).write_text("written")
    return "wrote"


def read_now(path: str) -> str:
    """Read `path` at once (a figure reading the checkpoint): fails if it is not there yet."""
    return Path(path).read_text()


@pytest.mark.timeout(900)
def test_a_step_on_a_cluster_starts_after_the_steps_it_waits_for(tmp_path):
    """On two workers the reader would start beside the writer and fail twice (its retry comes at once)."""
    path = str(tmp_path / "checkpoint")
    tasks = [Task("write", write_late, (path,)), Task("other", draws, (1,)),
             Task("read", read_now, (path,), ("write",))]
    assert run_tasks(tasks, seed=0, workers=2).results[::2] == ["wrote", "written"]


def test_a_step_may_wait_only_for_earlier_steps_and_a_local_one_for_none():
    with pytest.raises(ValueError, match="'read' waits for \\['write'\\], which must be given before it"):
        run_tasks([Task("read", read_now, ("x",), ("write",)), Task("write", write_late, ("x",))], seed=0)
    with pytest.raises(ValueError, match="local step 'read' cannot wait"):
        run_tasks([Task("write", write_late, ("x",)), Task("read", read_now, ("x",), ("write",), local=True)], seed=0)


def malloc_trim_threshold() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.timeout(900)
def test_local_workers_keep_glibcs_dynamic_mmap_threshold():
    """Dask sets MALLOC_TRIM_THRESHOLD_ for its workers, which made every training on them ~1.5x slower."""
    assert run_tasks([Task("environment", malloc_trim_threshold)], seed=0, workers=2).results == [None]


def test_the_critical_path_is_the_longest_chain():
    seconds = {"training": 10.0, "verify trained": 5.0, "derivation": 12.0, "figure": 3.0}
    after = {"verify trained": ("training",), "figure": ("training",)}
    bounds = graph_bounds(seconds, after)
    assert bounds == {"work": 30.0, "critical_path": 15.0, "speedup_bound": 2.0}
    cached = graph_bounds({"figure": 3.0}, {"figure": ("training",)})       # a cached training did no work here
    assert cached == {"work": 3.0, "critical_path": 3.0, "speedup_bound": 1.0}


#: The quick suite's cheap steps (its first two exact verification runs and three derivations, fixed_point_shift
#: among them: shipped to a worker as an object, its sympy expression hash came out different), run with
#: WORKERS workers in a process of their own, as `decdiff report --workers N` is; prints the results as JSON.
CHEAP_RUN = """
import json, sys
from dataclasses import replace
from pathlib import Path
from decdiff.parallel.tasks import run_tasks
from decdiff.report.build import deterministic_torch, report_tasks
from decdiff.report.suites import QUICK
from decdiff.theory.registry import all_derivations
suite = replace(QUICK, runs=tuple(r for r in QUICK.runs if r.training is None)[:2], counterexamples=False,
                mutation=False, fields=None, grid=None)
derivations = [d for d in all_derivations() if d.id in ("tweedie", "fixed_point_shift", "jensen_simplex")]
steps = report_tasks(suite, 0, Path(sys.argv[1]), derivations, [], print)
done = []
with deterministic_torch(0):
    result = run_tasks(steps, seed=0, workers=int(sys.argv[2]), progress=lambda k, n, key: done.append((k, n)))
print(json.dumps({"results": result.results, "done": done, "keys": sorted(result.seconds),
                  "tasks": sorted(t.key for t in steps)}, sort_keys=True))
"""


def _cheap_run(out: Path, workers: int) -> dict:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", CHEAP_RUN, str(out), str(workers)], capture_output=True, text=True,
                         check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(900)
def test_two_dask_workers_give_the_bytes_of_the_serial_run(tmp_path):
    """Each run in a fresh process, as the command line runs them. (A serial run inside the test process once
    differed from the workers' in the full test run: checks were listed in the order their modules had been
    imported, which earlier tests changed; `CHECK_MODULES` fixes that order now.)"""
    serial, parallel = _cheap_run(tmp_path / "serial", 1), _cheap_run(tmp_path / "parallel", 2)
    assert json.dumps(serial["results"], sort_keys=True) == json.dumps(parallel["results"], sort_keys=True)
    n = len(parallel["tasks"])
    assert [tuple(d) for d in parallel["done"]] == [(k, n) for k in range(1, n + 1)]
    assert parallel["keys"] == parallel["tasks"]


@pytest.mark.timeout(900)
def test_a_dead_worker_is_retried_once_and_a_second_death_stops_the_run_naming_the_step(tmp_path):
    result = run_tasks([Task("dies once", die_once, (str(tmp_path / "marker"),))], seed=0, workers=2)
    assert result.results == ["second try"]
    with pytest.raises(TaskFailed) as failed:
        run_tasks([Task("always dies", die_always)], seed=0, workers=2)
    message = str(failed.value)
    assert "'always dies'" in message and "failed twice" in message and "\n" not in message


def test_a_task_that_raises_twice_stops_the_serial_run_naming_the_step():
    with pytest.raises(TaskFailed, match="'bad step' failed twice: ZeroDivisionError"):
        run_tasks([Task("bad step", divmod, (1, 0))], seed=0)


def test_report_refuses_zero_workers_in_one_line(tmp_path, capsys):
    from decdiff.cli import main

    assert main(["report", "--workers", "0", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--workers" in err
    assert not (tmp_path / "r").exists()
