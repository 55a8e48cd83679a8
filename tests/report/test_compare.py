"""`decdiff report --compare A B` on planted differences: which group each falls in, and the exit status."""

from __future__ import annotations

import copy
import json

import pytest

from decdiff.cli import main
from decdiff.report.compare import compare_reports
from decdiff.tolerances import across_machines


def _check(denoiser: str, observed: float, verdict: str = "holds") -> dict:
    return {"id": "theorem1.converged_diffusion", "verdict": verdict, "conclusion_holds": verdict == "holds",
            "observed": observed, "subject": {"model": "sensor-ring", "denoiser": denoiser},
            "details": {"nearest_state": "area1"}}


REPORT = {
    "schema_version": 1, "environment": {"python": "3.11.7"}, "summary": [{"claim": "Theorem 1", "exact": {"holds": 1}}],
    "runs": [{"denoiser": "exact", "checks": [_check("exact", 0.25)]},
             {"denoiser": "checkpoints/ring.pt", "training": {"width": 8}, "checks": [_check("checkpoints/ring.pt", 0.5)]}],
    "trained_denoisers": [{"model": "sensor-ring", "record": {"mse_ratio": 1.02}}],
    "figures": {"fig2": {"agents_panel": {"nearest_stable_distance": {"exact": [1e-5, 0.0], "trained": [0.06, 0.05]}}}},
}


def _planted(path: list, value) -> dict:
    report = copy.deepcopy(REPORT)
    node = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return report


def _failing(b: dict) -> list:
    return [d for d in compare_reports(REPORT, b) if not d.allowed]


def test_identical_reports_agree():
    assert compare_reports(REPORT, copy.deepcopy(REPORT)) == []


def test_a_changed_verdict_fails_whatever_the_denoiser():
    for run in (0, 1):
        (d,) = _failing(_planted(["runs", run, "checks", 0, "verdict"], "violated"))
        assert d.group == "verdicts" and d.path.endswith("verdict")
    (d,) = _failing(_planted(["summary", 0, "exact", "holds"], 2))
    assert d.group == "verdicts"


def test_exact_numbers_agree_to_round_off_only():
    assert _failing(_planted(["runs", 0, "checks", 0, "observed"], 0.25 * (1 + 1e-12))) == []
    (d,) = _failing(_planted(["runs", 0, "checks", 0, "observed"], 0.2501))
    assert d.group == "exact" and d.tolerance == pytest.approx(across_machines(0.25, 0.2501, trained=False))
    (d,) = _failing(_planted(["figures", "fig2", "agents_panel", "nearest_stable_distance", "exact", 1], 1e-3))
    assert d.group == "exact"


def test_trained_numbers_agree_within_their_tolerance_and_labels_are_listed():
    (d,) = compare_reports(REPORT, _planted(["runs", 1, "checks", 0, "observed"], 0.52))
    assert d.group == "trained" and d.allowed
    (d,) = _failing(_planted(["runs", 1, "checks", 0, "observed"], 0.5 + across_machines(0.5, 2.0, True) + 1.0))
    assert d.group == "trained"
    (d,) = _failing(_planted(["trained_denoisers", 0, "record", "mse_ratio"], 3.0))
    assert d.group == "trained"
    (d,) = compare_reports(REPORT, _planted(["runs", 1, "checks", 0, "details", "nearest_state"], "area2"))
    assert d.group == "trained labels" and d.allowed
    (d,) = _failing(_planted(["runs", 0, "checks", 0, "details", "nearest_state"], "area2"))
    assert d.group == "exact"


def test_the_environment_is_listed_and_a_missing_check_fails():
    (d,) = compare_reports(REPORT, _planted(["environment", "python"], "3.12.1"))
    assert d.group == "environment" and d.allowed
    (d,) = _failing(_planted(["runs", 0, "checks"], []))
    assert d.path == "runs[0].checks (length)"


def test_the_command_exits_0_1_or_2(tmp_path, capsys):
    files = {}
    for name, report in {"a": REPORT, "same": REPORT, "verdict": _planted(["runs", 0, "checks", 0, "verdict"], "x"),
                         "trained": _planted(["runs", 1, "checks", 0, "observed"], 0.51),
                         "schema": _planted(["schema_version"], 2)}.items():
        files[name] = tmp_path / name / "report.json"
        files[name].parent.mkdir()
        files[name].write_text(json.dumps(report))
    assert main(["report", "--compare", str(files["a"]), str(files["same"].parent)]) == 0
    assert main(["report", "--compare", str(files["a"]), str(files["trained"])]) == 0
    assert main(["report", "--compare", str(files["a"]), str(files["verdict"])]) == 1
    assert "FAIL runs[0].checks[0:theorem1.converged_diffusion].verdict" in capsys.readouterr().out
    for bad in (str(files["schema"]), str(tmp_path / "missing.json")):
        assert main(["report", "--compare", str(files["a"]), bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_the_mini_report_groups_its_own_checks(mini_report):
    """On a real report: an exact check's number is exact, a trained run's check's number is trained."""
    _, report, _ = mini_report
    runs = report["runs"]
    exact = next(k for k, r in enumerate(runs) if r["denoiser"] == "exact")
    trained = next(k for k, r in enumerate(runs) if r["denoiser"] != "exact")
    for k, group in ((exact, "exact"), (trained, "trained")):
        b = copy.deepcopy(report)
        check = next(c for c in b["runs"][k]["checks"] if isinstance(c["observed"], float))
        check["observed"] = 3 * check["observed"] + 10.0     # outside either tolerance
        (d,) = compare_reports(report, b)
        assert d.group == group and not d.allowed, d
