"""``decdiff report --compare A B``: what differs between two reports, and whether it may differ.

Both reports are walked together, leaf by leaf, and every difference falls in one group:

* **verdicts**: a check's verdict or conclusion, a claim's verdict, the Summary and the counts, which checks
  ran (a list of another length), mutation kills, whether a search found a counterexample. Any difference fails.
* **numbers from the exact denoiser**: every other number and text outside a trained network's data; a number
  agrees within `decdiff.tolerances.across_machines` (float64 round-off), a text must be equal.
* **numbers from trained networks**: every number under a trained network's data (a check whose subject's
  denoiser is a checkpoint, a run or figure panel with a ``training`` record, a ``trained`` panel, the trained
  denoisers' table), compared within the trained tolerance of `across_machines`; texts and flags there (a
  nearest-state label, whether a fixed point is stable) follow the network and are listed, not failed:
  what they decide reaches the verdicts, which are compared.

The ``environment`` (Python, package versions) is listed and never fails. `compare_reports` returns the
differences; `format_comparison` writes them for the command line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decdiff.errors import InputError
from decdiff.tolerances import (
    EXACT_ACROSS_MACHINES,
    TRAINED_ACROSS_MACHINES,
    TRAINED_ACROSS_MACHINES_ABSOLUTE,
    across_machines,
)

#: Keys whose values are verdicts wherever they appear.
VERDICT_KEYS = frozenset({"verdict", "statement_verdict", "conclusion_holds", "every_column", "found", "killed",
                          "killers", "unkilled", "evidence"})
#: Top-level sections that are verdicts throughout (counts of verdicts, claims without a check).
VERDICT_SECTIONS = frozenset({"summary", "counts", "claims_without_executed_checks"})
#: Top-level sections listed but never failed.
NOT_COMPARED = frozenset({"environment"})
GROUPS = ("verdicts", "exact", "trained", "trained labels", "environment")
TITLES = {
    "verdicts": "verdicts",
    "exact": f"numbers from the exact denoiser (|a - b| <= {EXACT_ACROSS_MACHINES:g} max(1, |a|, |b|))",
    "trained": f"numbers from trained networks (|a - b| <= {TRAINED_ACROSS_MACHINES:g} max(|a|, |b|) + "
               f"{TRAINED_ACROSS_MACHINES_ABSOLUTE:.3g})",
    "trained labels": "texts and flags from trained networks (listed, not failed)",
    "environment": "environment (listed, not failed)",
}


@dataclass(frozen=True)
class Difference:
    """One leaf that differs: where, the two values, its group, and whether it is allowed to differ."""

    path: str
    a: Any
    b: Any
    group: str
    allowed: bool
    tolerance: float | None = None


def load_report(path: str | Path) -> dict[str, Any]:
    """A report.json (or a report folder holding one); bad input names the file."""
    file = Path(path)
    file = file / "report.json" if file.is_dir() else file
    try:
        report = json.loads(file.read_text())
    except FileNotFoundError:
        raise InputError("no such report", source=str(file)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"not a JSON report ({error})", source=str(file)) from None
    if not isinstance(report, dict) or "schema_version" not in report:
        raise InputError("not a decdiff report (no schema_version)", source=str(file))
    return report


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _trained_here(node: dict[str, Any]) -> bool:
    """Whether a dict is a trained network's data: a training record, a checkpoint, or a trained subject."""
    subject = node.get("subject")
    denoiser = subject.get("denoiser") if isinstance(subject, dict) else node.get("denoiser")
    return bool(node.get("training") or node.get("checkpoint")) or (isinstance(denoiser, str) and denoiser != "exact")


def _label(index: int, item: Any) -> str:
    name = next((item[k] for k in ("id", "name", "model") if isinstance(item, dict) and isinstance(item.get(k), str)),
                None)
    return f"[{index}]" if name is None else f"[{index}:{name}]"


def _walk(a: Any, b: Any, path: str, group: str, trained: bool) -> Iterator[Difference]:
    if isinstance(a, dict) and isinstance(b, dict):
        trained = trained or _trained_here(a) or _trained_here(b)
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else key
            sub_group = ("verdicts" if key in VERDICT_KEYS or (not path and key in VERDICT_SECTIONS)
                         else "environment" if not path and key in NOT_COMPARED else group)
            sub_trained = {"trained": True, "trained_denoisers": True, "exact": False}.get(key, trained)
            if key not in a or key not in b:
                yield Difference(where, a.get(key, "(absent)"), b.get(key, "(absent)"),
                                 sub_group if sub_group != "exact" else "verdicts", sub_group == "environment")
            else:
                yield from _walk(a[key], b[key], where, sub_group, sub_trained)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            group_here = "trained" if group == "exact" and trained else group
            yield Difference(f"{path} (length)", len(a), len(b), group_here, group_here == "environment")
        for k, (x, y) in enumerate(zip(a, b)):
            yield from _walk(x, y, f"{path}{_label(k, x)}", group, trained)
    elif a != b:
        yield _leaf(a, b, path, group, trained)


def _leaf(a: Any, b: Any, path: str, group: str, trained: bool) -> Difference:
    if group in ("verdicts", "environment"):
        return Difference(path, a, b, group, group == "environment")
    if _is_number(a) and _is_number(b):
        tolerance = across_machines(float(a), float(b), trained)
        kind = "trained" if trained else "exact"
        return Difference(path, a, b, kind, abs(float(a) - float(b)) <= tolerance, tolerance)
    if trained:
        return Difference(path, a, b, "trained labels", True)
    return Difference(path, a, b, "exact", False)


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    """Every leaf where reports `a` and `b` differ, grouped as the module docstring says."""
    if a["schema_version"] != b["schema_version"]:
        raise InputError(f"schema versions differ ({a['schema_version']} and {b['schema_version']}): regenerate "
                         "the older report", field="schema_version")
    return list(_walk(a, b, "", "exact", False))


def _value(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else f"{value:.6g}"
    return text if len(text) <= 60 else text[:57] + "..."


def format_comparison(differences: list[Difference], shown: int = 12) -> list[str]:
    """Lines for the command line: per group, how many differ and how many leave their tolerance, then examples
    (every failing one first, up to `shown` per group)."""
    lines = []
    for group in GROUPS:
        found = [d for d in differences if d.group == group]
        failing = [d for d in found if not d.allowed]
        lines.append(f"{TITLES[group]}: {len(found)} differ" + (f", {len(failing)} outside tolerance"
                                                                   if group in ("exact", "trained") else ""))
        ordered = failing + [d for d in found if d.allowed]
        for d in ordered[:shown]:
            within = "" if d.tolerance is None else f" (|a - b| = {abs(d.a - d.b):.3g}, allowed {d.tolerance:.3g})"
            lines.append(f"  {'FAIL' if not d.allowed else 'ok  '} {d.path}: {_value(d.a)} -> {_value(d.b)}{within}")
        if len(ordered) > shown:
            lines.append(f"  ... and {len(ordered) - shown} more")
    return lines
