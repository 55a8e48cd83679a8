"""The measured side of a report (timings.md, scaling.json/png) stays out of the deterministic files."""

from __future__ import annotations

import dataclasses
import json

from decdiff.bench import scaling
from decdiff.bench.scaling import ScalingPlan, scaling_data
from decdiff.report.timings import TIMINGS_LINK, render_timings
from decdiff.report.write import write_report

TINY_PLAN = ScalingPlan(axes={"states": [(4, "sensor-grid:2x2:targets=1", 1), (9, "sensor-grid:3x3:targets=1", 1)]},
                        histories=10, starts=4, check_budget={"histories": 1, "starts": 4})


def test_a_suite_with_scaling_writes_it_beside_an_unchanged_report(mini_suite, mini_report, tmp_path, monkeypatch):
    out, _, _ = mini_report
    monkeypatch.setitem(scaling.SCALING_PLANS, "quick", TINY_PLAN)
    monkeypatch.setattr(scaling, "SCALING_STAGES", {"posteriors": scaling.SCALING_STAGES["posteriors"]})
    measured = tmp_path / "with_scaling"
    lines: list[str] = []
    write_report(dataclasses.replace(mini_suite, scaling="quick"), seed=0, out_dir=measured, progress=lines.append,
                 measure_scaling=scaling_data)
    for name in ("report.json", "report.md", "report.html"):
        assert (measured / name).read_bytes() == (out / name).read_bytes(), name
    measured_scaling = json.loads((measured / "scaling.json").read_text())
    assert [(s["stage"], s["axis"], s["sizes"]) for s in measured_scaling["series"]] == [("posteriors", "states", [4, 9])]
    assert (measured / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    timings_md = (measured / "timings.md").read_text()
    assert "| posteriors | states | 4: " in timings_md and "![How costs grow](scaling.png)" in timings_md
    assert any("scaling (quick plan)" in line for line in lines)
    assert TIMINGS_LINK in (out / "report.md").read_text()


def test_a_suite_without_scaling_writes_timings_md_and_no_scaling(mini_report):
    out, _, _ = mini_report
    assert not (out / "scaling.json").exists() and not (out / "scaling.png").exists()
    timings = json.loads((out / "timings.json").read_text())
    assert render_timings(timings, None, "mini") == (out / "timings.md").read_text()
    assert "How costs grow" not in (out / "timings.md").read_text()


def test_timings_table_lists_every_step_and_the_fitted_exponent():
    scaling = {"size": "paper", "seed": 0, "threads": 2, "load_average": [0.5, 1.5],
               "plan": {"starts": 8}, "series": [{"stage": "checks", "axis": "agents", "sizes": [4, 8],
                                                  "seconds": [0.01, 0.04], "exponent": 2.0}]}
    text = render_timings({"training": 1.25, "total": 2.5}, scaling, "paper")
    assert "| training | 1.250 |" in text and "| total | 2.500 |" in text
    assert "| checks | agents | 4: 0.01, 8: 0.04 | 2.00 |" in text
    assert "load average 0.50 -> 1.50" in text
