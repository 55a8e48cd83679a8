"""The SMACv2-like section inside a report: schema, rendering, its check counted with the others."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("jaxmarl")

from decdiff.implementations.smax import LABEL  # noqa: E402
from decdiff.report.build import executed_checks, figure_checks  # noqa: E402
from decdiff.report.figures import render_figures  # noqa: E402
from decdiff.report.html import render_html  # noqa: E402
from decdiff.report.markdown import render_markdown  # noqa: E402
from decdiff.report.schema import FIGURES  # noqa: E402
from decdiff.report.suites import PAPER, QUICK  # noqa: E402


def test_the_paper_suite_runs_the_section_and_the_quick_one_does_not():
    from decdiff.report.smax import SMAX_CONFIGS

    assert PAPER.smax in SMAX_CONFIGS and QUICK.smax is None


def test_section_renders_and_counts(tiny_section):
    import jsonschema

    figures = {"smax": json.loads(json.dumps(tiny_section))}
    jsonschema.validate(figures, FIGURES)
    table1, rank = figure_checks(figures)
    assert table1["id"] == "table1.composite_beats_individual" and table1["subject"]["model"].startswith(LABEL)
    assert rank["id"] == "finding3.rank_deviation" and rank["subject"]["model"].startswith(LABEL)
    spearman = tiny_section["fig2_g2"]["spearman"]
    assert rank["observed"] == spearman["rho"] and rank["margin"] == (None if spearman["rho"] is None
                                                                     else -spearman["rho"])
    report = {"runs": [], "figures": figures}
    assert executed_checks(report) == [table1, rank]
    rendered = render_figures(figures)
    assert [r.name for r in rendered] == ["smax"]
    minimal = {"suite": {"name": "t", "description": "d"}, "seed": 0, "claims_without_executed_checks": [],
               "environment": {"packages": {}, "python": "3"}, "summary": [], "trained_denoisers": [],
               "mutation": None, "derivations": [], "claims": [], "counterexamples": [], **report}
    markdown = render_markdown(minimal, rendered)
    assert f"## {LABEL}" in markdown and "Differences from SMACv2:" in markdown
    assert f"Composite > individual in every column: **{tiny_section['table1']['every_column']}**" in markdown
    html = render_html(minimal, rendered)
    assert 'id="smax"' in html and "SMACv2 Table 1" in html
