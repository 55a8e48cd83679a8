"""Independent steps of a run as tasks: in this process, or on dask.distributed across cores and machines.

A `Task` is a key (the step's name, unique in the run), a module-level function, its
arguments, and the keys of the earlier tasks it waits for (``after``: a step that reads
files another one writes, such as a figure that loads a training's checkpoint). `run_tasks`
returns the results in the order the tasks were given, whatever order they finish in, and
every task starts from torch and numpy generators seeded by `task_seed(seed, key)`: the
run's seed and the task's own key, never the execution order. So the results are the same
bytes with one worker or many.

* ``workers == 1`` and no ``scheduler``: the tasks run here, one after another; Dask is
  not imported and no process is started.
* ``workers = N > 1``: a ``distributed.LocalCluster`` of N worker processes, one thread each.
* ``scheduler = ADDRESS``: a running cluster (``dask scheduler`` and ``dask worker ADDRESS``
  on other machines, or dask-jobqueue's Slurm/PBS clusters).

Each task runs with torch's deterministic algorithms and, on a LocalCluster, torch's and the
BLAS libraries' threads set to max(1, cores // workers), so N workers on one machine never
oversubscribe it (one thread per task on a cluster of your own: start ``dask worker
--nthreads`` accordingly); in this process the caller's thread count is kept. Results are
byte-identical across worker counts as long as the threads per task are the same: a caller
that needs that whatever the machine (the report) fixes them with ``threads``. A task whose worker dies is
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

#: Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in the environment of the worker processes it starts. Setting
#: it at all turns off glibc's dynamic mmap threshold, so every allocation above 128 KiB (a batch of
#: activations) is mapped and unmapped afresh: one report training took 15.0 s on a LocalCluster worker
#: against 10.2 s without the variable (one worker, otherwise idle 2-core machine). None unsets it.
LOCAL_WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class TaskFailed(RuntimeError):
    """A task failed twice; the message is one line naming the step."""


@dataclass(frozen=True)
class Task:
    """One step: ``function(*args)``, named ``key`` (unique within a run). ``after`` names the steps whose
    output it reads: those given earlier in the same `run_tasks` call finish before it starts (on a cluster
    the others run meanwhile); any other name is a step done before the call (it only enters `graph_bounds`).
    ``local`` tasks always run in this process, while the cluster works on the others; they wait for nothing."""

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


def run_task(task: Task, seed: int, threads: int, *_finished: Any) -> tuple[Any, float]:
    """Run ``task`` with its own seeds and ``threads`` torch/BLAS threads; (result, seconds). The results of
    the steps it waits for come after (``_finished``, unused: on a cluster they make it wait)."""
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
              progress: Callable[[int, int, str], None] = lambda done, total, key: None,
              threads: int | None = None) -> TaskRun:
    """Run ``tasks`` (module docstring); ``progress(done, total, key)`` after each one; ``threads``: torch and
    BLAS threads of every task, here and on the workers (None: the module docstring's defaults)."""
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique within a run")
    for position, task in enumerate(tasks):
        later = set(task.after) & set(keys[position:])
        if later:
            raise ValueError(f"step {task.key!r} waits for {sorted(later)}, which must be given before it")
        if task.local and set(task.after) & set(keys):
            raise ValueError(f"local step {task.key!r} cannot wait for the cluster's steps")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 and scheduler is None:
        return _serial(tasks, seed, progress, threads)
    return _distributed(tasks, seed, workers, scheduler, progress, threads)


def _serial(tasks: Sequence[Task], seed: int, progress: Callable[[int, int, str], None],
            threads: int | None = None) -> TaskRun:
    import torch

    results, seconds = [], {}
    threads = threads or torch.get_num_threads()
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
                 progress: Callable[[int, int, str], None], threads: int | None) -> TaskRun:
    import dask
    from distributed import Client, LocalCluster, as_completed

    with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES, **LOCAL_WORKER_ENVIRONMENT}):
        cluster = None if scheduler is not None else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            with Client(scheduler if cluster is None else cluster) as client:
                count = workers if cluster is not None else max(1, len(client.scheduler_info()["workers"]))
                per_task = threads if threads is not None else threads_per_worker(count) if cluster is not None else 1
                run = uuid.uuid4().hex[:8]                 # keys stay unique on a cluster shared by runs
                submitted: dict[str, Any] = {}
                for k, task in enumerate(tasks):
                    if not task.local:
                        waits = [submitted[key] for key in task.after if key in submitted]
                        submitted[task.key] = client.submit(run_task, task, seed, per_task, *waits,
                                                            key=f"decdiff-{run}-{k}", pure=False, retries=RETRIES)
                futures = {future: key for key, future in submitted.items()}
                done: dict[str, tuple[Any, float]] = {}
                here = [t for t in tasks if t.local]
                local = _serial(here, seed, lambda *_: None, threads)
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
    ``after`` dependencies: the wall time no number of workers can beat) and the speedup bound W / C.
    A name in ``after`` without seconds (a cached step that did no work in this run) adds nothing."""
    longest: dict[str, float] = {}

    def finish(key: str) -> float:
        if key not in longest:
            longest[key] = seconds[key] + max((finish(k) for k in after.get(key, ()) if k in seconds), default=0.0)
        return longest[key]

    work = sum(seconds.values())
    path = max((finish(k) for k in seconds), default=0.0)
    return {"work": round(work, 3), "critical_path": round(path, 3),
            "speedup_bound": round(work / path, 3) if path > 0 else 1.0}
