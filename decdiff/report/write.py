"""Run a suite and write the report files: report.json, report.md, report.html, figures/, and beside them
the measured side (timings.json, timings.md, scaling.json, scaling.png: `decdiff.report.timings`).

The JSON is written first; figures, Markdown and HTML are rendered from it alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from decdiff.files import write_bytes, write_text
from decdiff.report.build import Progress, build_report
from decdiff.report.figures import render_figures
from decdiff.report.html import render_html
from decdiff.report.markdown import render_markdown
from decdiff.report.schema import validate_report
from decdiff.report.suites import SUITES, Suite
from decdiff.report.timings import write_timings


def write_files(report: dict[str, Any], out_dir: Path) -> None:
    """Validate `report` and write it with its renderings into `out_dir` (stale figure files removed)."""
    validate_report(report)
    write_text(out_dir / "report.json", json.dumps(report, indent=1, sort_keys=True) + "\n")
    figures = render_figures(report["figures"])
    figure_dir = out_dir / "figures"
    figure_dir.mkdir(exist_ok=True)
    keep = {f"{f.name}.png" for f in figures}
    for stale in figure_dir.glob("*.png"):
        if stale.name not in keep:
            stale.unlink()
    for fig in figures:
        write_bytes(out_dir / fig.file, fig.png)
    write_text(out_dir / "report.md", render_markdown(report, figures))
    write_text(out_dir / "report.html", render_html(report, figures))


def write_report(suite: str | Suite, *, seed: int, out_dir: Path, progress: Progress,
                 measure_scaling: Callable[[str, int], dict[str, Any]] | None = None, workers: int = 1,
                 scheduler: str | None = None) -> dict[str, Any]:
    """Build, validate and write the report of `suite` (a name or a `Suite`), then, when the suite names a
    scaling plan and `measure_scaling` is given (``measure_scaling(plan, seed)``, e.g.
    `decdiff.bench.scaling.scaling_data`), measure how costs grow (after the report, so it does not share
    the machine with it); return the report object. ``workers`` and ``scheduler`` go to `build_report`."""
    suite = SUITES[suite] if isinstance(suite, str) else suite
    out_dir.mkdir(parents=True, exist_ok=True)
    report, timings = build_report(suite, seed=seed, out_dir=out_dir, progress=progress, workers=workers,
                                   scheduler=scheduler)
    write_files(report, out_dir)
    scaling = None
    if suite.scaling is not None and measure_scaling is not None:
        progress(f"scaling ({suite.scaling} plan): how the cost of posteriors, fixed points and checks grows")
        scaling = measure_scaling(suite.scaling, seed)
    write_timings(out_dir, timings, scaling, suite.name)
    return report
