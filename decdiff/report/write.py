"""Run a suite and write the report files: report.json, timings.json, report.md, report.html, figures/.

The JSON is written first; figures, Markdown and HTML are rendered from it alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from decdiff.report.build import Progress, build_report
from decdiff.report.figures import render_figures
from decdiff.report.html import render_html
from decdiff.report.markdown import render_markdown
from decdiff.report.schema import validate_report
from decdiff.report.suites import SUITES, Suite


def write_files(report: dict[str, Any], timings: dict[str, float], out_dir: Path) -> None:
    """Validate `report` and write it with its renderings into `out_dir` (stale figure files removed)."""
    validate_report(report)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    figures = render_figures(report["figures"])
    figure_dir = out_dir / "figures"
    figure_dir.mkdir(exist_ok=True)
    keep = {f"{f.name}.png" for f in figures}
    for stale in figure_dir.glob("*.png"):
        if stale.name not in keep:
            stale.unlink()
    for fig in figures:
        (out_dir / fig.file).write_bytes(fig.png)
    (out_dir / "report.md").write_text(render_markdown(report, figures))
    (out_dir / "report.html").write_text(render_html(report, figures))


def write_report(suite: str | Suite, *, seed: int, out_dir: Path, progress: Progress) -> dict[str, Any]:
    """Build, validate and write the report of `suite` (a name or a `Suite`); return the report object."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report, timings = build_report(SUITES[suite] if isinstance(suite, str) else suite, seed=seed, out_dir=out_dir,
                                   progress=progress)
    write_files(report, timings, out_dir)
    return report
