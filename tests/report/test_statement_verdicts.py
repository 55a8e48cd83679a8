"""The statement verdicts (decdiff/report/verdicts.py) follow from planted results, for every claim alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decdiff.claims import CLAIMS, Claim
from decdiff.report.build import executed_checks
from decdiff.report.markdown import search_rows, summary_rows
from decdiff.report.verdicts import claim_entries, evidence_items, statement_verdict
from decdiff.results import CheckResult

ROOT = Path(__file__).resolve().parents[2]
WITH_ADDED = [c for c in CLAIMS if any(not a.stated for a in c.assumptions)]


def _result(claim: Claim, holds: bool | None, false: tuple[str, ...] = (), denoiser: str = "exact") -> dict:
    assumptions = {a.id: a.id not in false for a in claim.assumptions if a.id != "exact_denoiser"}
    return CheckResult.make(id=f"planted.{claim.anchor}", claim=claim.name,
                            subject={"model": "m", "denoiser": denoiser, "sigma": 0.3, "history_length": 1},
                            assumptions=assumptions, conclusion_holds=holds).to_json()


def _search(claim: Claim, result: dict, found: bool = True) -> dict:
    return {"scenario": f"planted-{claim.anchor}", "claim": claim.name, "found": found, "result": result}


def _verdict(claim: Claim, checks: list[dict], searches: list[dict] = ()) -> dict:
    return statement_verdict(claim, evidence_items(claim, checks, list(searches), []))


@pytest.mark.parametrize("claim", WITH_ADDED, ids=lambda c: c.name)
def test_a_planted_counterexample_makes_the_claim_false_as_stated(claim):
    added = next(a.id for a in claim.assumptions if not a.stated)
    base = [_result(claim, True)]
    before = _verdict(claim, base)
    assert before["statement_verdict"] == "holds-under-conditions"
    assert added in {k for c in before["conditions"] for k in c["assumptions"]}
    planted = _search(claim, _result(claim, False, false=(added,)))
    after = _verdict(claim, base, [planted])
    assert after["statement_verdict"] == "false-as-stated"
    assert after["conditions"] == [{"assumptions": [added], "text": next(a.text for a in claim.assumptions
                                                                        if a.id == added),
                                    "basis": f"false on search:planted-{claim.anchor}"}]
    assert after["evidence"] == [f"search:planted-{claim.anchor}"]
    assert _verdict(claim, base, [{**planted, "found": False}])["statement_verdict"] == "holds-under-conditions"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_a_failure_outside_a_stated_assumption_refutes_nothing(claim):
    stated = [a.id for a in claim.assumptions if a.stated]
    result = _result(claim, False, false=tuple(a for a in stated if a != "exact_denoiser"),
                     denoiser="exact" if stated != ["exact_denoiser"] else "trained")
    verdict = _verdict(claim, [_result(claim, True)], [_search(claim, result)])
    assert verdict["statement_verdict"] in ("holds-under-conditions", "holds-as-stated")


@pytest.mark.parametrize("claim", WITH_ADDED, ids=lambda c: c.name)
def test_holds_as_stated_needs_every_added_assumption_seen_false(claim):
    added = tuple(a.id for a in claim.assumptions if not a.stated)
    assert _verdict(claim, [_result(claim, True), _result(claim, True, false=added)])["statement_verdict"] \
        == "holds-as-stated"


def test_undecided_without_a_decided_result_in_scope():
    claim = CLAIMS[0]
    assert _verdict(claim, [_result(claim, None), _result(claim, False, denoiser="trained")])["statement_verdict"] \
        == "undecided"


def test_an_assumption_the_catalogue_does_not_list_is_an_error():
    claim = CLAIMS[0]
    result = {**_result(claim, True), "assumptions": {"made_up": True}}
    with pytest.raises(ValueError, match="made_up"):
        _verdict(claim, [result])


def test_a_proved_derivation_counterexample_refutes_only_when_its_steps_are_proved():
    claim = next(c for c in CLAIMS if "corollary_5_1" in c.derivations)
    from decdiff.theory.corollary_5_1 import DERIVATION

    derivation = DERIVATION.verify().to_dict()
    verdict = statement_verdict(claim, evidence_items(claim, [], [], [derivation]))
    assert verdict["statement_verdict"] == "false-as-stated"
    assert verdict["evidence"] == ["derivation:corollary_5_1"]
    derivation["steps"] = [{**s, "status": "undecided"} for s in derivation["steps"]]
    assert statement_verdict(claim, evidence_items(claim, [], [], [derivation]))["statement_verdict"] == "undecided"


def test_the_committed_report_names_its_assumptions_in_the_catalogue_and_renders_a_summary():
    report = json.loads((ROOT / "reports" / "latest" / "report.json").read_text())
    report["claims"] = claim_entries(CLAIMS, executed_checks(report), report["counterexamples"],
                                     report["derivations"])
    verdicts = {c["name"]: c["statement_verdict"] for c in report["claims"]}
    for cx in report["counterexamples"]:              # every found search whose dropped assumption is added refutes
        claim = next(c for c in CLAIMS if c.name == cx["claim"])
        if cx["found"] and not next(a.stated for a in claim.assumptions if a.id == cx["dropped_assumption"]):
            assert verdicts[cx["claim"]] == "false-as-stated"
    header, rows = summary_rows(report)
    assert header[1] == "statement" and [r[1] for r in rows] == [verdicts[r[0].split(":")[0]] for r in rows]
    assert len(search_rows(report)[1]) == len(report["counterexamples"])
