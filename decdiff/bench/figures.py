"""One benchmark figure (`BenchFigure`: the project's method against the plain one, timed in the same
run) and the interleaved best-of timer every benchmark uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class BenchFigure:
    """One measured figure and the plain method it is compared with, timed in the same run.

    ``ratio`` is baseline / value for times (how many times faster the project's method is);
    ``met`` says whether ``goal`` (a predicate on the figure, stated in words) holds.
    """

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    goal: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = "met" if self.met else "MISSED"
        extra = "; ".join(f"{k} {_fmt(v)}" for k, v in self.details.items())
        return (f"{self.name}: {_fmt(self.value)} {self.unit} against {self.baseline} {_fmt(self.baseline_value)} "
                f"{self.unit}, ratio {self.ratio:.1f}x; goal {self.goal}: {mark}" + (f" ({extra})" if extra else ""))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def best_times(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Best wall-clock seconds of each function over `repeats` rounds, after one warm-up call each.

    The functions alternate within each round, so a burst of load on a shared machine
    slows all of them rather than one, and the ratio of the minima stays meaningful.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best
