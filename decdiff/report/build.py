"""Build a theorem-validation report: run a suite and collect everything as one JSON object.

The JSON holds no timings and no dates, so the same suite and seed give byte-identical
files; timings go to a separate ``timings.json``.
"""

from __future__ import annotations

import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from decdiff.claims import CLAIMS
from decdiff.implementations.denoisers.loading import load_denoiser
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget, CheckContext
from decdiff.registry import run_checks, summarise
from decdiff.report.suites import Suite, VerifyRun
from decdiff.results import CheckResult

SCHEMA_VERSION = "1.0"
PACKAGES = ("decdiff", "torch", "numpy", "scipy", "sympy", "hypothesis", "matplotlib", "cvxpy")

Progress = Callable[[str], None]


def environment() -> dict[str, Any]:
    """Interpreter, machine and package versions (what the numbers were computed with)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "machine": platform.machine(), "system": platform.system(),
            "packages": versions}


def _run_verify(run: VerifyRun, seed: int) -> list[CheckResult]:
    model = load_model(run.model)
    denoiser = load_denoiser(run.denoiser, model, run.sigma)
    ctx = CheckContext(model=model, denoiser=denoiser, denoiser_label=run.denoiser, sigma=run.sigma,
                       history_length=run.history_length, seed=seed,
                       budget=Budget(histories=run.histories, starts=run.starts))
    return run_checks(ctx)


def _derivations(progress: Progress) -> list[dict[str, Any]]:
    from decdiff.theory.registry import all_derivations

    results = []
    for derivation in all_derivations():
        progress(f"derivation {derivation.id}")
        result = derivation.verify().to_dict()
        result.pop("elapsed_seconds", None)
        results.append(result)
    return results


def _counterexamples(out_dir: Path, seed: int, progress: Progress) -> list[dict[str, Any]]:
    from decdiff.properties.search import SCENARIOS, search

    found = []
    for scenario in SCENARIOS:
        progress(f"counterexample search {scenario.name}")
        result = search(scenario, seed=seed, out_dir=out_dir / "counterexamples")
        entry = {"scenario": scenario.name, "claim": scenario.claim, "dropped_assumption": scenario.dropped,
                 "check": scenario.check_id, "found": result is not None}
        if result is not None:
            model = result.model
            (check,) = run_checks(CheckContext(model=model, denoiser=load_denoiser("exact", model, 0.3),
                                               denoiser_label="exact", sigma=0.3,
                                               history_length=scenario.history_length, seed=seed),
                                  [scenario.check_id])
            relative = result.path.relative_to(out_dir).as_posix()
            entry.update(model=model.name, agents=model.n_agents, states=model.n_states, file=relative,
                         reproduce=result.reproduce.replace(str(result.path), relative), result=check.to_json())
        found.append(entry)
    return found


def _verdict_counts(results: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(r["verdict"] for r in results).items()))


def summary_table(runs: list[dict[str, Any]], derivations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per claim: the symbolic verdicts, and verdict counts on exact and trained denoisers."""
    by_id = {d["derivation_id"]: d["verdict"] for d in derivations}
    rows = []
    for claim in CLAIMS:
        checks = [c for run in runs for c in run["checks"] if c["claim"] == claim.name]
        rows.append({
            "claim": claim.name,
            "title": claim.title,
            "symbolic": {d: by_id.get(d, "missing") for d in claim.derivations},
            "exact": _verdict_counts([c for c in checks if c["subject"]["denoiser"] == "exact"]),
            "trained": _verdict_counts([c for c in checks if c["subject"]["denoiser"] != "exact"]),
        })
    return rows


def build_report(suite: Suite, *, seed: int, out_dir: Path, progress: Progress = lambda _: None,
                 derivations: bool = True) -> tuple[dict[str, Any], dict[str, float]]:
    """Run `suite` and return (report, timings); counterexample files are written under `out_dir`."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    runs = []
    for run in suite.runs:
        label = f"verify {run.model} H={run.history_length} sigma={run.sigma:g} ({run.denoiser})"
        progress(label)
        t0 = time.perf_counter()
        results = _run_verify(run, seed)
        timings[label] = time.perf_counter() - t0
        runs.append({**asdict(run), "checks": [r.to_json() for r in results],
                     "summary": summarise(results).to_json()})
    t0 = time.perf_counter()
    symbolic = _derivations(progress) if derivations else []
    timings["derivations"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    counterexamples = _counterexamples(out_dir, seed, progress) if suite.counterexamples else []
    timings["counterexamples"] = time.perf_counter() - t0
    all_results = [c for run in runs for c in run["checks"]] + [c["result"] for c in counterexamples if c["found"]]
    counts = {claim.name: {"planned": 0, "ran": 0, "skipped": 0} for claim in CLAIMS}
    for result in all_results:
        entry = counts[result["claim"]]
        entry["planned"] += 1
        entry["skipped" if result["verdict"] == "skipped" else "ran"] += 1
    timings["total"] = time.perf_counter() - start
    report = {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": suite.name, "description": suite.description},
        "seed": seed,
        "environment": environment(),
        "claims": [asdict(c) for c in CLAIMS],
        "summary": summary_table(runs, symbolic),
        "counts": counts,
        "claims_without_executed_checks": [name for name, c in counts.items() if c["ran"] == 0],
        "derivations": symbolic,
        "runs": runs,
        "counterexamples": counterexamples,
        "figures": {},
    }
    return report, timings
