"""How the report states a counterexample search: found or not, and the worst margin it saw."""

from __future__ import annotations

from pathlib import Path

from decdiff.properties.search import SCENARIOS, search
from decdiff.report.markdown import search_sentence


def test_a_search_that_finds_nothing_still_reports_its_worst_margin(tmp_path: Path):
    scenario = next(s for s in SCENARIOS if s.name.startswith("finding6"))
    result = search(scenario, seed=0, out_dir=tmp_path / "counterexamples", max_examples=10)
    entry = result.to_json(root=tmp_path)
    assert not entry["found"]
    sentence = search_sentence(entry, code="`")
    assert "no counterexample within 10 examples" in sentence
    assert f"worst margin seen {entry['worst_margin']:.4g}" in sentence
    assert entry["worst_file"] in sentence and not entry["worst_file"].startswith("/")


def test_a_found_counterexample_names_its_file_and_margin():
    entry = {"dropped_assumption": "sigma below sigma_c", "check": "theorem2.attractors_are_states", "seed": 0,
             "examples": 40, "in_scope": 12, "found": True, "agents": 2, "states": 3, "margin": -0.25,
             "file": "counterexamples/x.dpomdp", "reproduce": "decdiff verify counterexamples/x.dpomdp",
             "max_examples": 100, "worst_margin": -0.5, "worst_file": "counterexamples/x.worst.dpomdp",
             "worst_reproduce": "decdiff verify counterexamples/x.worst.dpomdp"}
    sentence = search_sentence(entry)
    assert "40 models tried, 12 with exactly that assumption false" in sentence
    assert "2 agents and 3 states, margin -0.25 (counterexamples/x.dpomdp" in sentence
    assert "worst margin seen -0.5 (counterexamples/x.worst.dpomdp" in sentence
    same = search_sentence({**entry, "worst_file": entry["file"], "worst_margin": entry["margin"]})
    assert same.endswith("worst margin seen -0.25.")
