"""Render a report (the JSON object, and the figures rendered from it) as Markdown."""

from __future__ import annotations

from typing import Any

from decdiff.report.build import executed_checks
from decdiff.report.figures import TABLE1_CLAIMS, Rendered, table1_rows
from decdiff.report.tables import mutant_rows, mutation_caption, mutation_rows, trained_rows
from decdiff.report.timings import TIMINGS_LINK

READ_ME = ("Commands in this report run from the report's folder: trained denoisers are the checkpoints under "
           "`checkpoints/` (re-created by `decdiff report` when missing), counterexample models are under "
           "`counterexamples/`.")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "no check"


def _symbolic(verdicts: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in verdicts.items()) or "-"


def _number(value: Any) -> str:
    return "-" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _check_rows(checks: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in checks:
        s = c["subject"]
        subject = f"{s['model']}, H={s['history_length']}, σ={s['sigma']:g}, {s['denoiser']}"
        failing = ", ".join(k for k, v in c["assumptions"].items() if not v) or (c.get("skipped_reason") or "")
        rows.append([f"`{c['id']}`", subject, f"**{c['verdict']}**", _number(c["observed"]), _number(c["bound"]),
                     _number(c["margin"]), failing, f"`{c['reproduce']}`"])
    return _table(["check", "subject", "verdict", "observed", "bound", "margin", "assumptions failing", "reproduce"],
                  rows)


SUMMARY_INTRO = ("The statement column is computed from the results: false as stated when a check, search or "
                 "derivation shows the conclusion false where every assumption the paper states holds; the rule is "
                 "in decdiff/report/verdicts.py, the explanations in docs/claims.md.")


def statement_cell(claim: dict[str, Any]) -> str:
    """One line of why, with the conditions under which the claim holds (each naming its assumption ids)."""
    conditions = "; ".join(f"{c['text']} [{', '.join(c['assumptions'])}]" for c in claim["conditions"])
    return claim["why"] + (f". Holds when: {conditions}" if conditions else "") + f" ({claim['explained_in']})"


def summary_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the Summary: the statement verdict first, why, then the result counts."""
    claims = {c["name"]: c for c in report["claims"]}
    header = ["claim", "statement", "why", "symbolic", "exact denoiser", "trained denoisers"]
    rows = [[f"{row['claim']}: {row['title']}", claims[row["claim"]]["statement_verdict"],
             statement_cell(claims[row["claim"]]), _symbolic(row["symbolic"]), _counts(row["exact"]),
             _counts(row["trained"])] for row in report["summary"]]
    return header, rows


def _quoted(command: str | None, code: str) -> str:
    return f"{code}{command}{code}" if command else "-"


def search_rows(report: dict[str, Any], code: str = "") -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the counterexample searches: claim, assumption dropped, found or not, reproduce line."""
    header = ["search", "claim", "without", "result", "reproduce"]
    rows = [[f"{code}{cx['scenario']}{code}", cx["claim"], f"{code}{cx['dropped_assumption']}{code}",
             (f"found ({cx['agents']} agents, {cx['states']} states, margin {_margin(cx['margin'])}): "
              f"{code}{cx['file']}{code}") if cx["found"]
             else f"none in {cx['examples']} models ({cx['in_scope']} in scope)",
             _quoted(cx["reproduce"] if cx["found"] else cx["worst_reproduce"], code)]
            for cx in report["counterexamples"]]
    return header, rows


def _margin(value: float | None) -> str:
    return "none in scope" if value is None else f"{value:.4g}"


def search_sentence(cx: dict[str, Any], code: str = "") -> str:
    """One counterexample search: what it found (or not) and the worst margin it saw; `code` quotes commands."""
    searched = (f"Search without {cx['dropped_assumption']} (check {code}{cx['check']}{code}, seed {cx['seed']}): "
                f"{cx['examples']} models tried, {cx['in_scope']} with exactly that assumption false")
    if cx["found"]:
        found = (f"counterexample with {cx['agents']} agents and {cx['states']} states, margin "
                 f"{_margin(cx['margin'])} ({code}{cx['file']}{code}; reproduce with {code}{cx['reproduce']}{code})")
    else:
        found = f"no counterexample within {cx['max_examples']} examples"
    worst = f"worst margin seen {_margin(cx['worst_margin'])}"
    if cx["worst_file"] is not None and cx["worst_file"] != cx["file"]:
        worst += f" ({code}{cx['worst_file']}{code}; reproduce with {code}{cx['worst_reproduce']}{code})"
    return f"{searched}; {found}; {worst}."


def table1_caption(data: dict[str, Any]) -> str:
    return (f"PSNR in dB (MAX = {data['data_range']:g}) of individual and composite diffusion on {data['model']} "
            f"at sigma = {data['sigma']:g} with the same number of denoising steps ({data['steps_per_agent_count']} per agent), "
            f"{data['histories_per_seed']} joint histories per split and seed, seeds {data['seeds']}; each column "
            f"changes one factor of the base (W = width, N = training trajectories, H = history length, miss = "
            f"miss probability). The difference is composite - individual, the mean over seeds of each seed's "
            f"difference with its {data['confidence']:.0%} Student-t interval across seeds; a column holds when the "
            f"interval lies above 0. Composite > individual in every column: **{data['every_column']}** "
            f"(check `{data['checks'][0]['id']}`).")


def smax_caption(data: dict[str, Any]) -> str:
    table = data["table1"]
    return (f"{data['description']} ({data['scenario']}; {data['config']} configuration, seed {data['seed']}). "
            f"Individual against composite diffusion with the same number of denoising steps, PSNR in dB; the "
            f"difference is the mean over seeds with its {table['confidence']:.0%} Student-t interval across seeds. "
            f"Composite > individual in every column: **{table['every_column']}**. The figure shows Fig. 2(g.2), "
            f"deviation against Jacobian rank with R-hat lines, on the zerg-like variant.")


def render_markdown(report: dict[str, Any], figures: list[Rendered]) -> str:
    """The report as Markdown: summary table, figures, then one section per claim."""
    suite = report["suite"]
    lines = [f"# decdiff theorem-validation report ({suite['name']} suite)", "",
             f"{suite['description']}. Seed {report['seed']}; decdiff "
             f"{report['environment']['packages'].get('decdiff')}, Python {report['environment']['python']}.", "",
             READ_ME, ""]
    if report["claims_without_executed_checks"]:
        lines += ["**Claims with no executed check (the run fails):** "
                  + ", ".join(report["claims_without_executed_checks"]), ""]
    lines += ["## Summary", "", SUMMARY_INTRO, ""] + _table(*summary_rows(report))
    if report["counterexamples"]:
        lines += ["", "### Counterexample searches", ""] + _table(*search_rows(report, code="`"))
    lines += ["", TIMINGS_LINK]
    if report["trained_denoisers"]:
        lines += ["", "## Trained denoisers", ""] + _table(*trained_rows(report))
    lines += ["", "## Figures"]
    for fig in figures:
        lines += ["", f"### {fig.title}", "", f"![{fig.title}]({fig.file})", "", fig.caption]
    table1 = report["figures"].get("table1")
    if table1:
        lines += ["", "### Table 1 analogue: individual against composite diffusion (PSNR)", "",
                  table1_caption(table1), ""] + _table(*table1_rows(table1))
    smax = report["figures"].get("smax")
    if smax:
        from decdiff.report.smax import paper_reference_rows

        lines += ["", f"## {smax['label']}", "", smax_caption(smax), ""] + _table(*table1_rows(smax["table1"]))
        lines += ["", "The paper's own SMACv2 Table 1 (PSNR in dB; reference only, not comparable: other data, "
                  "sizes and normalisation):", ""] + _table(*paper_reference_rows())
        lines += ["", "Differences from SMACv2:", ""] + [f"- {d}" for d in smax["differences_from_smacv2"]]
    if report.get("mutation"):
        lines += ["", "## Can every check fail? (mutation table)", "", mutation_caption(report["mutation"]), ""] \
            + _table(*mutant_rows(report["mutation"])) + [""] + _table(*mutation_rows(report["mutation"]))
    derivations = {d["derivation_id"]: d for d in report["derivations"]}
    for claim in report["claims"]:
        lines += ["", f"## {claim['name']}: {claim['title']}", "", claim["statement"], "",
                  f"$$ {claim['latex']} $$", "", "**Assumptions:** " + "; ".join(claim["assumptions"]) + ".", "",
                  "**When it holds:** " + claim["holds_when"], ""]
        for name in claim["derivations"]:
            d = derivations.get(name)
            lines.append(f"- Symbolic derivation `{name}`: " + (f"**{d['verdict']}**" if d else "not run"))
        shown = [f.title for f in figures if claim["name"] in f.claims]
        shown += ["Table 1 analogue"] if table1 and claim["name"] in TABLE1_CLAIMS else []
        if shown:
            lines.append("- Figures: " + "; ".join(shown))
        checks = [c for c in executed_checks(report) if c["claim"] == claim["name"]]
        if checks:
            lines += [""] + _check_rows(checks)
        for cx in report["counterexamples"]:
            if cx["claim"] == claim["name"]:
                lines += ["", "- " + search_sentence(cx, code="`")]
    return "\n".join(lines) + "\n"
