"""The check registry: every claim of the paper as a check that runs on any denoiser.

The checks are registered and run on a `CheckContext` by `decdiff.properties.registration`
(`run_checks` selects the checks a denoiser can run from the capabilities it declares: Theorem 5
needs a continuous history input, which the exact denoiser does not have, so its checks are
reported `skipped` with the reason). Here: `check_denoiser`, the user's entry point, and
`summarise`, which counts planned, run and skipped checks per claim (a claim with no executed
check fails the run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from decdiff.properties.registration import run_checks
from decdiff.results import CheckResult


@dataclass
class RunSummary:
    """Per-claim counts of planned, run and skipped checks, and the verdict counts."""

    planned: Counter = field(default_factory=Counter)
    ran: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    verdicts: Counter = field(default_factory=Counter)

    def claims_without_executed_checks(self) -> list[str]:
        return [claim for claim in self.planned if self.ran[claim] == 0]

    def to_json(self) -> dict:
        return {claim: {"planned": self.planned[claim], "ran": self.ran[claim], "skipped": self.skipped[claim]}
                for claim in self.planned} | {"verdicts": dict(self.verdicts)}


def summarise(results: list[CheckResult]) -> RunSummary:
    summary = RunSummary()
    for result in results:
        summary.planned[result.claim] += 1
        summary.verdicts[result.verdict] += 1
        if result.verdict == "skipped":
            summary.skipped[result.claim] += 1
        else:
            summary.ran[result.claim] += 1
    return summary


def check_denoiser(denoiser, model, *, sigma: float, history_length: int, seed: int = 0, label: str = "custom",
                   checks: Iterable[str] | None = None, policy=None, budget=None) -> list[CheckResult]:
    """Every applicable check of the paper's claims for `denoiser` on `model` (ARCHITECTURE.md, "Contracts")."""
    from decdiff.properties.context import Budget, CheckContext

    ctx = CheckContext(model=model, denoiser=denoiser, denoiser_label=label, sigma=sigma,
                       history_length=history_length, seed=seed, policy=policy, budget=budget or Budget())
    return run_checks(ctx, checks)
