"""Render a report (the JSON object, and nothing else) as Markdown."""

from __future__ import annotations

from typing import Any


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "no check"


def _symbolic(verdicts: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in verdicts.items()) or "-"


def _number(value: Any) -> str:
    return "-" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


def _check_rows(checks: list[dict[str, Any]]) -> list[str]:
    rows = ["| check | subject | verdict | observed | bound | margin | assumptions failing | reproduce |",
            "|---|---|---|---|---|---|---|---|"]
    for c in checks:
        s = c["subject"]
        subject = f"{s['model']}, H={s['history_length']}, σ={s['sigma']:g}, {s['denoiser']}"
        failing = ", ".join(k for k, v in c["assumptions"].items() if not v) or (c.get("skipped_reason") or "")
        rows.append(f"| `{c['id']}` | {subject} | **{c['verdict']}** | {_number(c['observed'])} | "
                    f"{_number(c['bound'])} | {_number(c['margin'])} | {failing} | `{c['reproduce']}` |")
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: summary table, then one section per claim."""
    suite = report["suite"]
    lines = [f"# decdiff theorem-validation report ({suite['name']} suite)", "",
             f"{suite['description']}. Seed {report['seed']}; decdiff "
             f"{report['environment']['packages'].get('decdiff')}, Python {report['environment']['python']}.", ""]
    if report["claims_without_executed_checks"]:
        lines += ["**Claims with no executed check (the run fails):** "
                  + ", ".join(report["claims_without_executed_checks"]), ""]
    lines += ["## Summary", "", "| claim | symbolic | exact denoiser | trained denoisers |", "|---|---|---|---|"]
    for row in report["summary"]:
        lines.append(f"| {row['claim']}: {row['title']} | {_symbolic(row['symbolic'])} | {_counts(row['exact'])} | "
                     f"{_counts(row['trained'])} |")
    derivations = {d["derivation_id"]: d for d in report["derivations"]}
    for claim in report["claims"]:
        lines += ["", f"## {claim['name']}: {claim['title']}", "", claim["statement"], "",
                  f"$$ {claim['latex']} $$", "", "**Assumptions:** " + "; ".join(claim["assumptions"]) + ".", "",
                  "**When it holds:** " + claim["holds_when"], ""]
        for name in claim["derivations"]:
            d = derivations.get(name)
            lines.append(f"- Symbolic derivation `{name}`: " + (f"**{d['verdict']}**" if d else "not run"))
        checks = [c for run in report["runs"] for c in run["checks"] if c["claim"] == claim["name"]]
        if checks:
            lines += [""] + _check_rows(checks)
        for cx in report["counterexamples"]:
            if cx["claim"] == claim["name"] and cx["found"]:
                lines += ["", f"- Counterexample without *{cx['dropped_assumption']}*: a model with {cx['agents']} "
                          f"agents and {cx['states']} states (`{cx['file']}`); reproduce with `{cx['reproduce']}`."]
    return "\n".join(lines) + "\n"
