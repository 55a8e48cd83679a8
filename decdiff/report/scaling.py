"""How the cost of posteriors, fixed points and checks grows with the model (issue 9, item 2), for the report.

`scaling_data` measures (`decdiff.bench.bench_scaling`) and returns JSON: per (axis, stage)
the sizes, the seconds at each and the fitted exponent k of t ~ c n^k (least squares on
log t against log n). Timings vary from run to run and with the machine's load, so this
belongs with the report's timings, not with its deterministic results; the load average
and thread count are recorded beside them. `plot_scaling` draws one log-log panel per
axis, one line per stage, with k in the legend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from decdiff.bench import SCALING_PLANS, ScalingSize, bench_scaling


def scaling_data(size: ScalingSize = "quick", seed: int = 0) -> dict[str, Any]:
    """Measure the scaling plan `size` (``"quick"``: < 30 s on 2 cores; ``"paper"``: states up to 2016).

    Returns ``{"size", "seed", "threads", "load_average": [before, after], "plan": {...},
    "series": [{"stage", "axis", "sizes", "seconds", "exponent", "models", "history_lengths"}]}``.
    """
    import torch

    plan = SCALING_PLANS[size]
    before = os.getloadavg()[0]
    series = bench_scaling(size, seed=seed)
    return {"size": size, "seed": seed, "threads": torch.get_num_threads(),
            "load_average": [before, os.getloadavg()[0]],
            "plan": {"histories per agent (posteriors)": plan.histories,
                     "starts per agent (fixed points)": plan.starts,
                     "check budget": plan.check_budget},
            "series": [s.to_json() for s in series]}


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
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path
