"""`CheckResult`: what every check returns, serialised into reports (ARCHITECTURE.md, "Contracts").

The verdict follows from the assumptions and the conclusion, in one place:

* ``skipped``: the check could not run on this subject (a reason is given);
* ``inconclusive``: the conclusion was not decided (budget ran out, or a confidence
  interval straddles the bound); never counted as a pass;
* ``outside-assumptions``: some assumption of the claim fails on the subject; the
  conclusion is still evaluated and reported;
* ``holds`` / ``violated``: all assumptions hold and the conclusion does / does not.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Verdict = Literal["holds", "violated", "outside-assumptions", "inconclusive", "skipped"]
VERDICTS: tuple[Verdict, ...] = ("holds", "violated", "outside-assumptions", "inconclusive", "skipped")


def decide_verdict(assumptions: dict[str, bool], conclusion_holds: bool | None,
                   skipped_reason: str | None = None) -> Verdict:
    """The verdict (ARCHITECTURE.md, "Contracts") from the evaluated assumptions and conclusion."""
    if skipped_reason is not None:
        return "skipped"
    if conclusion_holds is None:
        return "inconclusive"
    if not all(assumptions.values()):
        return "outside-assumptions"
    return "holds" if conclusion_holds else "violated"


def default_note(observed: float | None, bound: float | None, details: dict[str, Any]) -> str:
    """A failing conclusion's one line of why, from what the check measured: ``observed_is``, observed, bound."""
    what = details.get("observed_is", "observed")
    measured = "-" if observed is None else f"{observed:.4g}"
    return f"{what}: {measured}" + ("" if bound is None else f" against the bound {bound:.4g}")


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays to Python, non-finite floats to strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


@dataclass
class CheckResult:
    """One check of one claim on one subject (model, denoiser, sigma, history length, order)."""

    id: str
    claim: str
    subject: dict[str, Any]
    assumptions: dict[str, bool]
    conclusion_holds: bool | None
    verdict: Verdict
    observed: float | None = None
    bound: float | None = None
    margin: float | None = None
    tolerance: dict[str, float] = field(default_factory=dict)
    ci: tuple[float, float] | None = None
    n_cases: int = 0
    seed: int | None = None
    counterexample: dict[str, Any] | None = None
    reproduce: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    skipped_reason: str | None = None
    note: str = ""
    """One line saying why, for a ``violated`` (or failing) conclusion: what failed, and how far."""

    @classmethod
    def make(cls, *, id: str, claim: str, subject: dict[str, Any], assumptions: dict[str, bool],
             conclusion_holds: bool | None, observed: float | None = None, bound: float | None = None,
             skipped_reason: str | None = None, **rest: Any) -> CheckResult:
        """Build a result whose verdict and margin follow from the rest (margin = bound - observed)."""
        margin = None if observed is None or bound is None else float(bound) - float(observed)
        assumptions = {k: bool(v) for k, v in assumptions.items()}
        if conclusion_holds is False and not rest.get("note"):
            rest["note"] = default_note(observed, bound, rest.get("details", {}))
        return cls(id=id, claim=claim, subject=subject, assumptions=assumptions,
                   conclusion_holds=None if conclusion_holds is None else bool(conclusion_holds),
                   verdict=decide_verdict(assumptions, conclusion_holds, skipped_reason),
                   observed=None if observed is None else float(observed),
                   bound=None if bound is None else float(bound), margin=margin,
                   skipped_reason=skipped_reason, **rest)

    def to_json(self) -> dict[str, Any]:
        return _plain(asdict(self))
