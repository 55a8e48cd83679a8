"""Baselines for `decdiff check`: per-check margins and verdicts, and how a new run compares.

A baseline is a JSON file written by ``decdiff check ... --baseline FILE --update-baseline``:

    {"format": "decdiff-baseline", "format_version": 1, "decdiff_version": "...",
     "subject": {"model", "sigma", "history_length", "seed", "checks"},   # what must match
     "denoiser": "...",                                                  # informative only
     "results": {KEY: {"id", "claim", "verdict", "conclusion_holds", "observed", "bound",
                       "margin", "ci", "margin_tolerance", "tolerances"}}}

KEY is the check id; when a check returns several results, each result's own subject fields
(e.g. its start distribution) are appended. Comparing a run with a baseline (`compare`):

* a baseline for another subject (model, sigma, history length, seed or check selection)
  is refused with `InputError`: its margins are not comparable;
* a result is a **regression** when its check now fails (``violated``, or the conclusion
  turned false) where it did not, when a ``holds`` became anything else, when a decided
  conclusion became undecided, when its margin ``bound - observed`` dropped by more than
  the larger of the baseline's ``margin_tolerance`` and the run's (`decdiff.tolerances.baseline_margin_tolerance`:
  the check's Monte-Carlo interval, its own absolute accuracies and the margin's round-off in
  the denoiser's output dtype), or
  when a baseline result is missing from the run;
* a check skipped in either run (say, one that needs a capability only one of the two
  denoisers declares) is listed as "not compared", never as a regression; so is the margin
  of a check whose bound moved by more than the tolerance (the reference checks hold a
  trained network to an approximation tolerance, a denoiser claiming exactness to round-off):
  margins against different bounds do not compare, the verdicts still do;
* other differences (improvements, checks new since the baseline) are listed, not counted.

The denoiser is deliberately not part of the subject: comparing a new denoiser with the
baseline of an old one is the point.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import decdiff
from decdiff.errors import InputError
from decdiff.files import write_text
from decdiff.results import CheckResult
from decdiff.tolerances import baseline_margin_tolerance

FORMAT = "decdiff-baseline"
FORMAT_VERSION = 1

#: Subject fields a baseline must share with the run it is compared with.
SUBJECT_FIELDS = ("model", "sigma", "history_length", "seed", "checks")

#: Subject fields every result carries (the run's); anything else in a result's subject
#: distinguishes results of one check (e.g. an agent order) and goes into its key.
_RUN_FIELDS = frozenset({"model", "denoiser", "sigma", "history_length"})


def result_keys(results: list[CheckResult]) -> list[str]:
    """A stable key per result: its id; for a check with several results, plus the result's own
    subject fields, plus ``#k`` if still ambiguous."""
    ids = Counter(r.id for r in results)
    keys = []
    for r in results:
        extra = {k: v for k, v in r.subject.items() if k not in _RUN_FIELDS}
        keys.append(r.id + (json.dumps(extra, sort_keys=True, default=str) if extra and ids[r.id] > 1 else ""))
    counts, seen = Counter(keys), Counter()
    unique = []
    for key in keys:
        seen[key] += 1
        unique.append(key if counts[key] == 1 else f"{key}#{seen[key]}")
    return unique


#: Machine epsilon of float64, the dtype of the exact reference and of runs that do not say otherwise.
FLOAT64_EPS = float(np.finfo(np.float64).eps)


def margin_tolerance(r: CheckResult, eps: float) -> float | None:
    """`decdiff.tolerances.baseline_margin_tolerance` of a result whose denoiser outputs dtype epsilon `eps`."""
    return None if r.margin is None else baseline_margin_tolerance(r.observed, r.bound, r.ci, r.tolerance, eps)


def _entry(r: CheckResult, eps: float) -> dict[str, Any]:
    record = r.to_json()
    return {k: record[k] for k in ("id", "claim", "verdict", "conclusion_holds", "observed", "bound", "margin",
                                   "ci", "tolerance")} | {"margin_tolerance": margin_tolerance(r, eps)}


def make_baseline(results: list[CheckResult], subject: dict[str, Any], denoiser: str,
                  eps: float = FLOAT64_EPS) -> dict[str, Any]:
    """The baseline record of a run (module docstring) whose denoiser outputs dtype epsilon `eps`."""
    missing = [f for f in SUBJECT_FIELDS if f not in subject]
    if missing:
        raise ValueError(f"subject lacks {missing}")
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "decdiff_version": decdiff.__version__,
            "subject": {f: subject[f] for f in SUBJECT_FIELDS}, "denoiser": denoiser,
            "results": {key: _entry(r, eps) for key, r in zip(result_keys(results), results)}}


def write_baseline(path: str | Path, baseline: dict[str, Any]) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError("no such directory", source=str(path.parent))
    write_text(path, json.dumps(baseline, indent=2, sort_keys=True) + "\n")
    return path


def read_baseline(path: str | Path) -> dict[str, Any]:
    """A baseline file, or `InputError` naming the file and the field at fault."""
    source = str(path)
    if not Path(path).is_file():
        raise InputError("no such file (write one with --update-baseline)", source=source)
    try:
        record = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise InputError(f"not JSON ({getattr(error, 'msg', type(error).__name__)})", source=source,
                         line=line) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(f"not a decdiff baseline (format is not {FORMAT!r})", source=source, field="format")
    if record.get("format_version") != FORMAT_VERSION:
        raise InputError(f"unsupported baseline version {record.get('format_version')!r}", source=source,
                         field="format_version")
    subject, results = record.get("subject"), record.get("results")
    if not isinstance(subject, dict) or any(f not in subject for f in SUBJECT_FIELDS):
        raise InputError(f"missing or incomplete (needs {', '.join(SUBJECT_FIELDS)})", source=source, field="subject")
    if not isinstance(results, dict) or not all(isinstance(v, dict) and "verdict" in v for v in results.values()):
        raise InputError("missing or malformed", source=source, field="results")
    return record


@dataclass(frozen=True)
class Change:
    """One difference between a baseline result and the run's: what changed and whether it is a regression."""

    key: str
    kind: str                       # "verdict", "margin", "missing", "new" or "not compared"
    regression: bool
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "regression": self.regression, "text": self.text}


@dataclass(frozen=True)
class Comparison:
    """A run against a baseline: every change, in the run's result order, then missing results."""

    source: str
    baseline_denoiser: str
    baseline_version: str
    changes: tuple[Change, ...]

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, "baseline_denoiser": self.baseline_denoiser,
                "baseline_decdiff_version": self.baseline_version, "regressions": len(self.regressions),
                "changes": [c.to_json() for c in self.changes]}


def check_subject(baseline: dict[str, Any], subject: dict[str, Any], source: str) -> None:
    """Refuse a baseline recorded for another subject (`InputError` naming the field)."""
    for f in SUBJECT_FIELDS:
        ours, theirs = subject[f], baseline["subject"][f]
        if ours != theirs:
            raise InputError(f"the baseline is for {theirs!r}, this run has {ours!r}; rerun with the baseline's "
                             f"settings or write a new baseline with --update-baseline", source=source,
                             field=f"subject.{f}")


def _fails(verdict: str, conclusion: bool | None) -> bool:
    return verdict == "violated" or conclusion is False


def _compare_one(key: str, old: dict[str, Any], new: CheckResult, eps: float) -> list[Change]:
    if "skipped" in (old["verdict"], new.verdict):
        if old["verdict"] == new.verdict:
            return []
        where = "baseline" if old["verdict"] == "skipped" else "run"
        return [Change(key, "not compared", False,
                       f"not compared: skipped in the {where} (verdict {old['verdict']} -> {new.verdict})")]
    changes = []
    if old["verdict"] != new.verdict or old["conclusion_holds"] != new.conclusion_holds:
        worse = (_fails(new.verdict, new.conclusion_holds) and not _fails(old["verdict"], old["conclusion_holds"])) \
            or (old["verdict"] == "holds") or (old["conclusion_holds"] is not None and new.conclusion_holds is None)
        changes.append(Change(key, "verdict", worse,
                              f"verdict {old['verdict']} -> {new.verdict} (conclusion {old['conclusion_holds']} -> "
                              f"{new.conclusion_holds})"))
    before, recorded = old.get("margin"), old.get("margin_tolerance")
    if isinstance(before, (int, float)) and isinstance(recorded, (int, float)) and new.margin is not None:
        tolerance = max(float(recorded), margin_tolerance(new, eps))       # what either run cannot resolve
        drop = float(before) - new.margin
        old_bound = old.get("bound")
        if isinstance(old_bound, (int, float)) and new.bound is not None and abs(old_bound - new.bound) > tolerance:
            changes.append(Change(key, "not compared", False, f"margin not compared: the bound moved {old_bound:.4g} "
                                  f"-> {new.bound:.4g} (the two denoisers are held to different tolerances, e.g. "
                                  "a trained network's against a claim of exactness); observed "
                                  f"{old['observed']:.4g} -> {new.observed:.4g}"))
        elif drop > tolerance:
            changes.append(Change(key, "margin", True, f"margin {before:.4g} -> {new.margin:.4g} (worse by "
                                                       f"{drop:.3g}, tolerance {tolerance:.3g})"))
        elif -drop > tolerance:
            changes.append(Change(key, "margin", False, f"margin {before:.4g} -> {new.margin:.4g} (better by "
                                                        f"{-drop:.3g})"))
    return changes


def compare(baseline: dict[str, Any], results: list[CheckResult], subject: dict[str, Any],
            source: str = "baseline", eps: float = FLOAT64_EPS) -> Comparison:
    """Compare a run (its denoiser's output dtype epsilon `eps`) with `baseline` (module docstring);
    `InputError` if the subjects differ."""
    check_subject(baseline, subject, source)
    old = baseline["results"]
    changes: list[Change] = []
    keys = result_keys(results)
    for key, r in zip(keys, results):
        if key in old:
            changes.extend(_compare_one(key, old[key], r, eps))
        else:
            changes.append(Change(key, "new", False, f"not in the baseline (verdict {r.verdict})"))
    for key in sorted(old.keys() - set(keys)):
        changes.append(Change(key, "missing", True, f"in the baseline (verdict {old[key]['verdict']}) but not run"))
    return Comparison(source=source, baseline_denoiser=str(baseline.get("denoiser")),
                      baseline_version=str(baseline.get("decdiff_version")), changes=tuple(changes))
