"""The verdict on each claim's statement, computed from the results (no verdict is written by hand).

Evidence for a claim C (each item has assumptions, by the ids of the claim catalogue
`decdiff.claims`, and a conclusion that holds, fails or is undecided):

* every executed check of C (verification runs and figure experiments), with the extra
  assumption ``exact_denoiser`` (the subject's denoiser is ``exact``) where C lists it;
* every counterexample search of C that found a model: the check's result on that model;
* every symbolic derivation C lists whose exact counterexample carries ``assumptions``
  (evaluated on the instance) and ``refuting_steps``: its conclusion fails when every one of
  those steps is proved, and is undecided otherwise.

Every assumption id of the evidence must be in C's catalogue entry (a `ValueError`
otherwise), which marks it *stated* by the paper or *added* by decdiff. An item is *in scope*
when every stated assumption holds on it, and *decided* when its conclusion is not
undecided. Checks C lists in ``stronger_readings`` test more than the statement and never
make it false. Then, in this order:

1. ``false-as-stated``: some decided in-scope item (not a stronger reading) has its
   conclusion false. Conditions: every added assumption that is false on such an item
   (the statement fails without it).
2. ``undecided``: no decided in-scope item exists.
3. ``holds-as-stated``: every decided in-scope item holds, and every added assumption that
   occurs in the evidence is false on at least one of them (the results show the statement
   holding without decdiff's extra conditions).
4. ``holds-under-conditions``: otherwise: every decided in-scope item holds, but only where
   the added assumptions listed as conditions held (never false on a decided in-scope item).

``evidence`` lists the ids behind the verdict: checks by their id, searches as
``search:<scenario>``, derivations as ``derivation:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from decdiff.claims import Claim

StatementVerdict = Literal["holds-as-stated", "false-as-stated", "holds-under-conditions", "undecided"]
STATEMENT_VERDICTS: tuple[StatementVerdict, ...] = ("holds-as-stated", "false-as-stated", "holds-under-conditions",
                                                    "undecided")
EXACT = "exact_denoiser"


@dataclass(frozen=True)
class Item:
    """One piece of evidence: where it comes from, its assumptions and its conclusion (None: undecided)."""

    id: str
    assumptions: dict[str, bool]
    conclusion: bool | None
    check: str = ""


def _check_item(claim: Claim, result: dict[str, Any], source: str) -> Item:
    assumptions = dict(result["assumptions"])
    if EXACT in {a.id for a in claim.assumptions}:
        assumptions[EXACT] = result["subject"]["denoiser"] == "exact"
    return Item(source, assumptions, result["conclusion_holds"], result["id"])


def _derivation_item(derivation: dict[str, Any]) -> Item | None:
    cx = derivation.get("counterexample") or {}
    if "assumptions" not in cx or "refuting_steps" not in cx:
        return None
    status = {s["name"]: s["status"] for s in derivation["steps"]}
    refuted = all(status.get(name) == "proved" for name in cx["refuting_steps"])
    return Item(f"derivation:{derivation['derivation_id']}", dict(cx["assumptions"]), False if refuted else None)


def evidence_items(claim: Claim, checks: list[dict[str, Any]], searches: list[dict[str, Any]],
                   derivations: list[dict[str, Any]]) -> list[Item]:
    """The evidence for `claim` (see the module docstring) from a report's results."""
    items = [_check_item(claim, c, c["id"]) for c in checks if c["claim"] == claim.name]
    items += [_check_item(claim, s["result"], f"search:{s['scenario']}") for s in searches
              if s["claim"] == claim.name and s["found"]]
    by_id = {d["derivation_id"]: d for d in derivations}
    items += [i for name in claim.derivations if name in by_id and (i := _derivation_item(by_id[name])) is not None]
    known = {a.id for a in claim.assumptions}
    for item in items:
        unknown = set(item.assumptions) - known
        if unknown:
            raise ValueError(f"{claim.name}: {item.id} evaluates assumptions {sorted(unknown)} that the claim "
                             f"catalogue (decdiff/claims.py) does not list")
    return items


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _condition(claim: Claim, assumption_id: str, basis: str) -> dict[str, Any]:
    text = next(a.text for a in claim.assumptions if a.id == assumption_id)
    return {"assumptions": [assumption_id], "text": text, "basis": basis}


def statement_verdict(claim: Claim, items: list[Item]) -> dict[str, Any]:
    """``statement_verdict``, ``conditions``, ``evidence`` and a one-line ``why`` for `claim` from `items`."""
    stated = {a.id for a in claim.assumptions if a.stated}
    added = [a.id for a in claim.assumptions if not a.stated]
    in_scope = [i for i in items if i.conclusion is not None and all(v for k, v in i.assumptions.items() if k in stated)]
    refuting = [i for i in in_scope if i.conclusion is False and i.check not in claim.stronger_readings]
    if refuting:
        failing = _unique([k for i in refuting for k in added if i.assumptions.get(k) is False])
        conditions = [_condition(claim, k, "false on "
                                 + ", ".join(_unique([i.id for i in refuting if i.assumptions.get(k) is False])))
                      for k in failing]
        sources = ", ".join(_unique([i.id for i in refuting]))
        why = (f"conclusion false where every assumption the paper states holds ({sources})"
               + (f"; it needs {', '.join(failing)}" if failing else "; no added assumption explains it"))
        return {"statement_verdict": "false-as-stated", "conditions": conditions,
                "evidence": _unique([i.id for i in refuting]), "why": why}
    if not in_scope:
        return {"statement_verdict": "undecided", "conditions": [], "evidence": _unique([i.id for i in items]),
                "why": "no result decided the conclusion where the paper's assumptions hold"}
    seen = [k for k in added if any(k in i.assumptions for i in in_scope)]
    untested = [k for k in seen if all(i.assumptions.get(k, True) for i in in_scope)]
    evidence = _unique([i.id for i in in_scope])
    if not untested:
        return {"statement_verdict": "holds-as-stated", "conditions": [], "evidence": evidence,
                "why": f"conclusion holds on all {len(in_scope)} decided results where the paper's assumptions hold"
                       + (f", including where {', '.join(seen)} fail" if seen else "")}
    conditions = [_condition(claim, k, "never false where the conclusion was decided") for k in untested]
    return {"statement_verdict": "holds-under-conditions", "conditions": conditions, "evidence": evidence,
            "why": f"conclusion holds on all {len(in_scope)} decided results, all of them with "
                   f"{', '.join(untested)}"}


def claim_entries(claims: tuple[Claim, ...], checks: list[dict[str, Any]], searches: list[dict[str, Any]],
                  derivations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """report.json's ``claims``: each catalogue entry with its computed statement verdict."""
    return [{**claim.to_json(), **statement_verdict(claim, evidence_items(claim, checks, searches, derivations))}
            for claim in claims]
