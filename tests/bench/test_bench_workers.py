"""`decdiff bench --workers-ratio`: the time ratio of two reports, its goal, and the floor the task graph sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decdiff.bench import workers
from decdiff.bench.workers import WORKERS_RATIO_GOAL, bench_workers, graph_floor

TIMINGS = {"training": 50.0, "tasks": 30.0, "task graph: work": 140.0, "task graph: critical path": 40.0}


def test_the_floor_is_the_rest_plus_the_critical_path_or_the_work_shared_by_the_workers():
    assert graph_floor(TIMINGS, 100.0, 2) == {"work_s": 140.0, "critical_path_s": 40.0, "outside_graph_s": 20.0,
                                              "floor_s": 90.0}
    assert graph_floor(TIMINGS, 100.0, 8)["floor_s"] == 60.0               # the critical path binds


def _stand_in(seconds: dict[int, float], status: dict[int, int], text: dict[int, str]):
    """Writes a report and timings.json as `decdiff report` would and returns the given time and status."""
    def timed_report(suite: str, n: int, out: Path) -> tuple[float, int, str]:
        out.mkdir(parents=True)
        for name in ("report.json", "report.md", "report.html"):
            (out / name).write_text(text[n])
        (out / "timings.json").write_text(json.dumps(TIMINGS))
        return seconds[n], status[n], "boom" if status[n] > 1 else ""
    return timed_report


@pytest.mark.parametrize(("many_s", "many_text", "many_status", "met"), [
    (60.0, "same", 0, True),            # 0.6 of one process's time, the same bytes
    (70.0, "same", 0, False),           # 0.7 > 0.65
    (60.0, "other", 0, False),          # fast but a different report
    (60.0, "same", 2, False),           # the two-worker run failed
])
def test_the_goal_needs_the_time_ratio_and_the_same_report(monkeypatch, many_s, many_text, many_status, met):
    monkeypatch.setattr(workers, "_timed_report", _stand_in({1: 100.0, 2: many_s}, {1: 0, 2: many_status},
                                                            {1: "same", 2: many_text}))
    figure = bench_workers("quick", 2)
    assert figure.met is met and figure.baseline_value == 100.0 and figure.value == many_s
    assert figure.details["time ratio"] == round(many_s / 100.0, 3) and str(WORKERS_RATIO_GOAL) in figure.goal
    if many_status == 0:
        assert figure.details["best_possible_time_ratio"] == 0.9
        assert figure.details["reports_identical"] is (many_text == "same")
    else:
        assert figure.details["last stderr line"] == "boom"
