"""The report is deterministic, validated, complete and self-contained (built on the mini suite)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

from decdiff.claims import CLAIMS
from decdiff.report.build import executed_checks, figure_checks
from decdiff.report.figures import render_figures
from decdiff.report.schema import validate_report
from decdiff.report.write import write_report


def test_same_seed_gives_byte_identical_json(mini_suite, mini_report, tmp_path):
    out, _, _ = mini_report
    # fresh, with training in two worker processes instead of in-process
    parallel = dataclasses.replace(mini_suite, jobs=2)
    write_report(parallel, seed=0, out_dir=tmp_path / "fresh", progress=lambda _: None)
    assert (tmp_path / "fresh" / "report.json").read_bytes() == (out / "report.json").read_bytes()
    # cached checkpoints read back give the same report as training them
    cached = tmp_path / "cached"
    shutil.copytree(out / "checkpoints", cached / "checkpoints")
    lines: list[str] = []
    write_report(mini_suite, seed=0, out_dir=cached, progress=lines.append)
    assert any(line.split("] ", 1)[1].startswith("cached ") for line in lines)
    assert (cached / "report.json").read_bytes() == (out / "report.json").read_bytes()
    assert "total" in json.loads((cached / "timings.json").read_text())


def test_another_seed_changes_the_figures(mini_suite, mini_report, tmp_path):
    _, report, _ = mini_report
    reduced = dataclasses.replace(mini_suite, fields=None, runs=mini_suite.runs[:1])
    other = write_report(reduced, seed=1, out_dir=tmp_path, progress=lambda _: None)
    assert other["seed"] == 1
    assert other["figures"]["fig4"] != report["figures"]["fig4"]


def test_report_validates_and_covers_every_section(mini_report):
    out, report, _ = mini_report
    validate_report(json.loads((out / "report.json").read_text()))
    assert set(report["figures"]) == {"fig1", "fig2", "fig3", "fig4", "table1"}
    trained = [c for run in report["runs"] if run["training"] is not None for c in run["checks"]]
    assert trained and any(c["verdict"] != "skipped" for c in trained)
    assert all(c["subject"]["denoiser"].startswith("checkpoints/") for c in trained)
    assert {row["claim"] for row in report["summary"]} == {c.name for c in CLAIMS}
    for run in report["runs"]:
        if run["training"] is not None:
            assert (out / run["denoiser"]).is_file()       # the reproduce line's checkpoint exists


def test_progress_counts_every_step(mini_report):
    _, _, lines = mini_report
    counters = [re.match(r"\[(\d+)/(\d+), \d+s\] ", line) for line in lines]
    assert all(counters)
    done = [int(m.group(1)) for m in counters]
    total = {int(m.group(2)) for m in counters}
    assert len(total) == 1 and done[-1] == total.pop()
    assert done == sorted(done)


def test_markdown_links_every_figure_file(mini_report):
    out, report, _ = mini_report
    markdown = (out / "report.md").read_text()
    files = sorted(p.relative_to(out).as_posix() for p in (out / "figures").glob("*.png"))
    rendered = render_figures(report["figures"])
    assert files == sorted(f.file for f in rendered)
    for f in files:
        assert f"]({f})" in markdown
    assert "Table 1 analogue" in markdown and "| train | composite |" in markdown
    for claim in CLAIMS:
        assert f"## {claim.name}: {claim.title}" in markdown


def test_html_is_self_contained(mini_report):
    out, report, _ = mini_report
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert "<script" not in html
    images = re.findall(r'<img [^>]*src="([^"]*)"', html)
    assert len(images) == len(render_figures(report["figures"]))
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert html.count("<math") == len(CLAIMS)           # every LaTeX statement rendered as MathML


def test_every_latex_statement_converts_to_mathml():
    """latex2mathml passes unknown commands through as text: none may be left."""
    from decdiff.report.html import mathml

    for claim in CLAIMS:
        text = re.sub(r"<[^>]+>", " ", str(mathml(claim.latex)))
        assert not re.search(r"\\[A-Za-z]+", text), (claim.name, text)


def test_figure_checks_count_like_verification_runs(mini_report):
    _, report, _ = mini_report
    from_figures = figure_checks(report["figures"])
    ids = {c["id"] for c in from_figures}
    assert {"finding3.rank_deviation", "theorem6.surrogate_bound", "table1.composite_beats_individual"} <= ids
    assert len(report["figures"]["fig3"]["checks"]) == sum(len(p) for p in report["figures"]["fig3"]["panels"].values())
    executed = executed_checks(report)
    assert len(executed) == sum(len(run["checks"]) for run in report["runs"]) + len(from_figures)
    assert sum(c["planned"] for c in report["counts"].values()) == len(executed)   # no counterexample searches here
    table1 = next(row for row in report["summary"] if row["claim"] == "Theorem 8")
    trained_theorem8 = [c for c in executed if c["claim"] == "Theorem 8" and c["subject"]["denoiser"] != "exact"]
    assert sum(table1["trained"].values()) == len(trained_theorem8) >= 1


def test_a_violated_figure_check_fails_the_report(mini_report, monkeypatch, tmp_path, capsys):
    """`decdiff report` exits 1 when only a figure's check is violated."""
    from decdiff import cli

    _, report, _ = mini_report
    broken = json.loads(json.dumps(report))
    broken["claims_without_executed_checks"] = []
    for check in executed_checks(broken):
        check["verdict"] = "holds" if check["verdict"] == "violated" else check["verdict"]
    monkeypatch.setattr("decdiff.report.write.write_report", lambda *a, **k: broken)
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    broken["figures"]["table1"]["checks"][0]["verdict"] = "violated"
    assert cli.main(["report", "--out", str(tmp_path)]) == 1
    assert "table1.composite_beats_individual" in capsys.readouterr().out
