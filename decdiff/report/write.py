"""Run a suite and write the report files: report.json, timings.json, report.md, report.html, figures/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from decdiff.report.build import Progress, build_report
from decdiff.report.html import render_html
from decdiff.report.markdown import render_markdown
from decdiff.report.schema import validate_report
from decdiff.report.suites import SUITES


def write_report(suite_name: str, *, seed: int, out_dir: Path, progress: Progress) -> dict[str, Any]:
    """Build, validate and write the report of `suite_name`; return the report object."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report, timings = build_report(SUITES[suite_name], seed=seed, out_dir=out_dir, progress=progress)
    validate_report(report)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report))
    (out_dir / "report.html").write_text(render_html(report, {}))
    return report
