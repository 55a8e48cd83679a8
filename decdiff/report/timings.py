"""The report's measured side: step timings and how costs grow, written beside the report.

Timings vary from run to run and with the machine's load, so they never enter report.json,
report.md or report.html (which are the same for the same suite and seed); the report links
here instead. `write_timings` writes ``timings.json`` (seconds per step), and, when the
suite measures scaling (`decdiff.bench.scaling.scaling_data`), ``scaling.json`` and ``scaling.png`` (one log-log
panel per axis, `plot_scaling`); ``timings.md`` shows them all: the
step table, the scaling table with each fitted exponent k of t ~ c n^k, and the plot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from decdiff.files import atomic_write, write_text

#: The sentence report.md and report.html show after their summary table: where the measured side is.
TIMINGS_LINK = ("Running times of every step, and how the cost of posteriors, fixed points and checks grows "
                "with states, agents and history length (table, log-log plot, fitted exponents), are measured, "
                "so they change from run to run: they are in timings.md beside this report, never in report.json.")


def scaling_rows(scaling: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the scaling table: one row per (stage, axis) with seconds at each size and k."""
    header = ["stage", "against", "seconds at each size", "fitted exponent k"]
    rows = [[s["stage"], s["axis"], ", ".join(f"{n}: {t:.3g}" for n, t in zip(s["sizes"], s["seconds"])),
             f"{s['exponent']:.2f}"] for s in scaling["series"]]
    return header, rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def render_timings(timings: dict[str, float], scaling: dict[str, Any] | None, suite: str) -> str:
    """timings.md: the steps' seconds, then (if measured) the scaling table and plot."""
    lines = [f"# Timings of the {suite} report", "", "Measured in this run; they change with the machine and "
             "its load. The report's results are in report.json / report.md.", "", "## Steps", ""]
    graph = {k: v for k, v in timings.items() if k.startswith("task graph: ")}
    lines += _table(["step", "seconds"], [[name, f"{seconds:.3f}"] for name, seconds in timings.items()
                                          if name not in graph])
    if graph:
        lines += ["", "## The task graph", "",
                  f"Total work {graph['task graph: work']:.1f} s (every step's seconds added up); critical path "
                  f"{graph['task graph: critical path']:.1f} s (the longest chain of steps that wait for one another: "
                  "a training, then a step that reads its checkpoint, or one step alone; the wall time no number "
                  "of workers can beat); so at most "
                  f"{graph['task graph: speedup bound']:.2f}x faster than one worker doing all the work, with "
                  "`--workers N` or `--scheduler ADDRESS`, however many workers. Each training of this run is "
                  "one step at its own seconds (cached ones cost nothing); the process's start, the scaling "
                  "plan and writing the files are outside the graph."]
    if scaling is not None:
        load = " -> ".join(f"{x:.2f}" for x in scaling["load_average"])
        plan = "; ".join(f"{k} {v}" for k, v in scaling["plan"].items())
        lines += ["", "## How costs grow", "",
                  f"Plan `{scaling['size']}` (seed {scaling['seed']}; {plan}), {scaling['threads']} torch "
                  f"threads, load average {load}. k is the least-squares slope of log t against log n.", ""]
        lines += _table(*scaling_rows(scaling))
        lines += ["", "![How costs grow](scaling.png)"]
    return "\n".join(lines) + "\n"


def write_timings(out_dir: Path, timings: dict[str, float], scaling: dict[str, Any] | None, suite: str) -> None:
    """Write timings.json, timings.md and, with `scaling`, scaling.json and scaling.png into `out_dir`
    (stale scaling files of an earlier run are removed when this run measured none)."""

    out_dir = Path(out_dir)
    write_text(out_dir / "timings.json", json.dumps(timings, indent=1) + "\n")
    for name in ("scaling.json", "scaling.png"):
        (out_dir / name).unlink(missing_ok=True)
    if scaling is not None:
        write_text(out_dir / "scaling.json", json.dumps(scaling, indent=1) + "\n")
        plot_scaling(scaling, out_dir / "scaling.png")
    write_text(out_dir / "timings.md", render_timings(timings, scaling, suite))


def plot_scaling(data: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a PNG of `scaling_data`'s output: one log-log panel per axis, seconds against size,
    one line per stage labelled with its fitted exponent; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    from decdiff.report.figures import DPI

    axes_names = list(dict.fromkeys(s["axis"] for s in data["series"]))
    fig, axes = plt.subplots(1, len(axes_names), figsize=(4.6 * len(axes_names), 4.0), squeeze=False)
    for ax, axis in zip(axes[0], axes_names):
        series = [s for s in data["series"] if s["axis"] == axis]
        for s in series:
            ax.loglog(s["sizes"], s["seconds"], marker="o", label=f"{s['stage']} (k = {s['exponent']:.2f})")
        sizes = sorted({n for s in series for n in s["sizes"]})
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(axis)
        ax.set_ylabel("seconds")
        ax.set_title(f"cost against {axis}", fontsize=9)
        ax.legend(fontsize=8)
    load = ", ".join(f"{x:.1f}" for x in data["load_average"])
    fig.suptitle(f"Scaling ({data['size']} size, {data['threads']} threads, load average {load}); "
                 "k: fitted exponent of t ~ c n^k", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path
