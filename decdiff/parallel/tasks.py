"""Independent steps of a run as tasks: in this process, or on dask.distributed across cores and machines.

A `Task` is a key (the step's name, unique in the run), a module-level function and its
arguments. `run_tasks` returns the results in the order the tasks were given, whatever
order they finish in, and every task starts from torch and numpy generators seeded by
`task_seed(seed, key)`: the run's seed and the task's own key, never the execution order.
So the results are the same bytes with one worker or many.

* ``workers == 1`` and no ``scheduler``: the tasks run here, one after another; Dask is
  not imported and no process is started.
* ``workers = N > 1``: a ``distributed.LocalCluster`` of N worker processes, one thread each.
* ``scheduler = ADDRESS``: a running cluster (``dask scheduler`` and ``dask worker ADDRESS``
  on other machines, or dask-jobqueue's Slurm/PBS clusters).

Each task runs with torch's deterministic algorithms and, on a LocalCluster, torch's and the
BLAS libraries' threads set to max(1, cores // workers), so N workers on one machine never
oversubscribe it (one thread per task on a cluster of your own: start ``dask worker
--nthreads`` accordingly); in this process the caller's thread count is kept. Results are
byte-identical across worker counts as long as the threads per task are the same (the
report uses one: 2 workers on 2 cores, or 1 in this process). A task whose worker dies is
rescheduled once (``distributed.scheduler.allowed-failures = 1``) and a task that raises is
retried once (``retries=1``); a task that fails twice stops the run with `TaskFailed`, one
line naming the step. Each finished task is reported to ``progress`` as done of total.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Times a task is tried after its first failure (an exception, or its worker's death).
RETRIES = 1


class TaskFailed(RuntimeError):
    """A task failed twice; the message is one line naming the step."""


@dataclass(frozen=True)
class Task:
    """One independent step: ``function(*args)``, named ``key`` (unique within a run); ``after`` names the
    steps of the run before it whose output it reads (for `graph_bounds`; `run_tasks` gets them done);
    ``local`` tasks always run in this process, while the cluster works on the others."""

    key: str
    function: Callable[..., Any]
    args: tuple = field(default_factory=tuple)
    after: tuple[str, ...] = ()
    local: bool = False


@dataclass(frozen=True)
class TaskRun:
    """Results in task order and each task's wall time in seconds (by key)."""

    results: list[Any]
    seconds: dict[str, float]


def task_seed(seed: int, key: str) -> int:
    """A 63-bit seed from the run's ``seed`` and the task's ``key`` (SHA-256), independent of any order."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def threads_per_worker(workers: int) -> int:
    """max(1, cores this process may use // workers)."""
    return max(1, len(os.sched_getaffinity(0)) // max(1, workers))


def run_task(task: Task, seed: int, threads: int) -> tuple[Any, float]:
    """Run ``task`` with its own seeds and ``threads`` torch/BLAS threads; (result, seconds)."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    own = task_seed(seed, task.key)
    torch.manual_seed(own)
    np.random.seed(own % 2**32)
    started = time.perf_counter()
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            result = task.function(*task.args)
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])
    return result, time.perf_counter() - started


def run_tasks(tasks: Sequence[Task], *, seed: int, workers: int = 1, scheduler: str | None = None,
              progress: Callable[[int, int, str], None] = lambda done, total, key: None) -> TaskRun:
    """Run independent ``tasks`` (module docstring); ``progress(done, total, key)`` after each one."""
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique within a run")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 and scheduler is None:
        return _serial(tasks, seed, progress)
    return _distributed(tasks, seed, workers, scheduler, progress)


def _serial(tasks: Sequence[Task], seed: int, progress: Callable[[int, int, str], None]) -> TaskRun:
    import torch

    results, seconds = [], {}
    threads = torch.get_num_threads()
    for done, task in enumerate(tasks, start=1):
        try:
            result, took = run_task(task, seed, threads)
        except Exception as first:      # noqa: BLE001 (tried once more, as on a cluster)
            try:
                result, took = run_task(task, seed, threads)
            except Exception as error:  # noqa: BLE001
                raise TaskFailed(f"step {task.key!r} failed twice: {type(error).__name__}: {error}") from first
        results.append(result)
        seconds[task.key] = round(took, 3)
        progress(done, len(tasks), task.key)
    return TaskRun(results, seconds)


def _distributed(tasks: Sequence[Task], seed: int, workers: int, scheduler: str | None,
                 progress: Callable[[int, int, str], None]) -> TaskRun:
    import dask
    from distributed import Client, LocalCluster, as_completed

    with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
        cluster = None if scheduler is not None else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with Client(scheduler if cluster is None else cluster) as client:
                count = workers if cluster is not None else max(1, len(client.scheduler_info()["workers"]))
                threads = threads_per_worker(count) if cluster is not None else 1
                run = uuid.uuid4().hex[:8]                 # keys stay unique on a cluster shared by runs
                futures = {client.submit(run_task, task, seed, threads, key=f"decdiff-{run}-{k}", pure=False,
                                         retries=RETRIES): task.key for k, task in enumerate(tasks) if not task.local}
                done: dict[str, tuple[Any, float]] = {}
                here = [t for t in tasks if t.local]
                local = _serial(here, seed, lambda *_: None)
                for task, result in zip(here, local.results):
                    done[task.key] = (result, local.seconds[task.key])
                    progress(len(done), len(tasks), task.key)
                for future in as_completed(futures):
                    key = futures[future]
                    try:
                        done[key] = future.result()
                    except Exception as error:  # noqa: BLE001 (the task's second failure)
                        raise TaskFailed(f"step {key!r} failed twice: {type(error).__name__}: "
                                         f"{str(error).splitlines()[0] if str(error) else ''}") from error
                    progress(len(done), len(tasks), key)
        finally:
            if cluster is not None:
                cluster.close()
    return TaskRun([done[t.key][0] for t in tasks], {t.key: round(done[t.key][1], 3) for t in tasks})


def graph_bounds(seconds: dict[str, float], after: dict[str, Sequence[str]]) -> dict[str, float]:
    """Total work W (the sum of the steps' seconds), the critical path C (the longest chain of
    ``after`` dependencies: the wall time no number of workers can beat) and the speedup bound W / C."""
    longest: dict[str, float] = {}

    def finish(key: str) -> float:
        if key not in longest:
            longest[key] = seconds[key] + max((finish(k) for k in after.get(key, ())), default=0.0)
        return longest[key]

    work = sum(seconds.values())
    path = max((finish(k) for k in seconds), default=0.0)
    return {"work": round(work, 3), "critical_path": round(path, 3),
            "speedup_bound": round(work / path, 3) if path > 0 else 1.0}
