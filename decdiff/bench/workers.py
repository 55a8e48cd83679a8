"""A suite's report with Dask workers against one process, timed in one run, beside the bound its task graph sets.

`bench_workers` runs ``decdiff report --suite SUITE --workers 1`` and then ``--workers N``, each
in a subprocess from a cold cache (every denoiser trained anew), and reports the time ratio
t_N / t_1 against the goal (at most 0.65 for two workers on two cores); a run whose report
differs from the one-process report's bytes misses the goal whatever its time. Beside it: the best
ratio any schedule of that graph on N workers could reach, from the one-process run's own
timings.json. With W the total work (every step's seconds, each training on one core),
C the critical path (the longest chain of steps that wait for one another) and R the
part of t_1 outside the graph (the process's start, the scaling plan, writing the files),
no N-worker run can take less than R + max(C, W / N); the bound is that over t_1.
"""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from decdiff.bench.figures import BenchFigure

#: Issue 18's goal: the report with 2 workers takes at most this fraction of one process's time.
WORKERS_RATIO_GOAL = 0.65


def _timed_report(suite: str, workers: int, out: Path) -> tuple[float, int, str]:
    """(seconds, exit status, last stderr line) of one ``decdiff report`` run into `out`."""
    argv = [sys.executable, "-m", "decdiff", "report", "--suite", suite, "--workers", str(workers), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, done.returncode, (done.stderr.strip().splitlines() or [""])[-1]


def graph_floor(timings: dict[str, float], seconds: float, workers: int) -> dict[str, float]:
    """The least time an N-worker run of the graph behind `timings` (a one-process run that took `seconds`)
    can take: R + max(C, W / N), with R the part of `seconds` outside the graph."""
    work, path = timings["task graph: work"], timings["task graph: critical path"]
    outside = max(0.0, seconds - timings.get("training", 0.0) - timings["tasks"])
    return {"work_s": work, "critical_path_s": path, "outside_graph_s": round(outside, 3),
            "floor_s": round(outside + max(path, work / workers), 3)}


def bench_workers(suite: str = "quick", workers: int = 2) -> BenchFigure:
    """Time the report of `suite` with `workers` Dask workers against one process (both from a cold cache)."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="decdiff-bench-workers-") as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        t_one, status_one, last_one = _timed_report(suite, 1, one)
        t_many, status_many, last_many = _timed_report(suite, workers, many)
        completed = status_one in (0, 1) and status_many in (0, 1)
        details: dict[str, object] = {"exit statuses": f"{status_one}, {status_many}",
                                      "time ratio": round(t_many / t_one, 3)}
        identical = completed and all(filecmp.cmp(one / name, many / name, shallow=False)
                                      for name in ("report.json", "report.md", "report.html"))
        if completed:
            floor = graph_floor(json.loads((one / "timings.json").read_text()), t_one, workers)
            details.update(floor, best_possible_time_ratio=round(floor["floor_s"] / t_one, 3),
                           reports_identical=identical)
        else:
            details["last stderr line"] = last_one if status_one not in (0, 1) else last_many
    details.update({"load average before": load_before, "load average after": os.getloadavg()[0],
                    "cores": len(os.sched_getaffinity(0))})
    return BenchFigure(f"{suite} report, --workers {workers} against --workers 1 (cold cache)", t_many, "s",
                       "--workers 1", t_one, t_one / t_many,
                       f"time ratio <= {WORKERS_RATIO_GOAL} (ratio >= {1 / WORKERS_RATIO_GOAL:.2f}x)",
                       identical and t_many <= WORKERS_RATIO_GOAL * t_one, details)
