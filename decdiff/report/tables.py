"""The report's tables that Markdown and HTML share: trained denoisers and the mutation table.

Each function returns ``(header, rows)`` of plain strings (Markdown inline text), which
`decdiff.report.markdown` writes as a pipe table and `decdiff.report.html` renders.
"""

from __future__ import annotations

import re
from typing import Any

from decdiff.checking import mutant_denoisers, mutant_models


def trained_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the trained denoisers: model, architecture, sigma, data and how close to the Bayes MSE."""
    header = ["model", "width x depth", "H", "σ", "trajectories", "seed", "epochs (best)", "train pairs",
              "validation MSE / Bayes MSE"]
    rows = [[t["model"], f"{t['config']['width']} x {t['config']['depth']}", str(t["config"]["history_length"]),
             _training_sigma(t["config"]), str(t["config"]["samples"]), str(t["config"]["seed"]),
             f"{t['record']['epochs']} ({t['record']['best_epoch']})", str(t["record"]["train_pairs"]),
             f"{t['record']['mse_ratio']:.3f}"] for t in report["trained_denoisers"]]
    return header, rows


def _training_sigma(config: dict[str, Any]) -> str:
    """The training noise level: sigma, or the log-uniform range of a noise-conditional network."""
    if config["noise_conditional"]:
        low, high = config["sigma_range"]
        return f"{low:g}–{high:g} (conditional)"
    return f"{config['sigma']:g}"


def mutation_rows(mutation: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the mutation table: one row per check, the mutants that kill it (fail where the base holds)."""
    header = ["check", "killed by"]
    rows = [[f"`{check}`", ", ".join(f"`{k}`" for k in killers) or "NOT KILLED"] for check, killers in mutation["killers"].items()]
    return header, rows


#: The mutants' named constants (``SHIFT``, ``WRONG_SIGMA_FACTOR``, ...), which their defects are written with.
_CONSTANTS = {name: value for module in (mutant_denoisers, mutant_models) for name, value in vars(module).items()
              if name.isupper() and isinstance(value, int | float) and not isinstance(value, bool)}


def defect_sentence(defect: str) -> str:
    """A mutant's defect as one sentence: its named constants by value, one final full stop."""
    valued = re.sub(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b",
                    lambda m: f"{_CONSTANTS[m.group()]:g}" if m.group() in _CONSTANTS else m.group(), defect)
    return valued.strip().rstrip(".;, ") + "."


def mutant_rows(mutation: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the mutants: name, the unbroken base it is made from, and what is broken, one sentence."""
    return ["mutant", "base", "what is broken"], [[f"`{m['name']}`", f"`{m['base']}`",
                                                     defect_sentence(m["defect"])]
                                                   for m in mutation["mutants"]]


def mutation_caption(mutation: dict[str, Any]) -> str:
    """The mutation table's introduction, in short sentences."""
    subject = mutation["subject"]
    return (f"Every registered check runs on deliberately broken denoisers and models ({subject['model']}, "
            f"H={subject['history_length']}, σ={subject['sigma']:g}, seed {subject['seed']}). A mutant kills a "
            f"check when the check fails on the mutant and not on its unbroken base. Kill rate: "
            f"{mutation['kill_rate']:.0%} of the checks. The first table says what each mutant breaks; the second, "
            f"which mutants kill each check.")
