"""The check registry: every claim of the paper as a check that runs on any denoiser.

A check is registered with `register_check` from its module in `decdiff.properties`
(one module per claim). `plan_checks` selects the checks a denoiser can run from the
capabilities it declares (e.g. Theorem 5 needs a continuous history input, which the
exact denoiser does not have: its checks are planned and reported `skipped` with the
reason), `run_checks` runs them on a `CheckContext` and `summarise` counts planned, run
and skipped checks per claim. A claim with no executed check fails the run.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from decdiff import claims as claim_catalogue
from decdiff.results import CheckResult

CheckFunction = Callable[["CheckContext"], list[CheckResult]]


@dataclass(frozen=True)
class Check:
    """One registered check.

    Attributes:
        id: stable identifier, e.g. ``theorem3.support_intersection``.
        claim: the paper's reference, e.g. ``Theorem 3``.
        requires: capabilities the denoiser must declare (see `denoiser_capabilities`).
        run: the function that evaluates it on a context.
        summary: one line saying what is checked.
    """

    id: str
    claim: str
    requires: frozenset[str]
    run: CheckFunction
    summary: str


_CHECKS: dict[str, Check] = {}

#: Every claim the paper makes that decdiff checks, in report order.
CLAIMS = tuple(claim.name for claim in claim_catalogue.CLAIMS)


def register_check(id: str, claim: str, summary: str, requires: Iterable[str] = ()) -> Callable[[CheckFunction],
                                                                                             CheckFunction]:
    """Decorator registering a check function under `id`."""
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}")

    def decorate(fn: CheckFunction) -> CheckFunction:
        if id in _CHECKS:
            raise ValueError(f"check {id!r} registered twice")
        _CHECKS[id] = Check(id=id, claim=claim, requires=frozenset(requires), run=fn, summary=summary)
        return fn

    return decorate


def all_checks() -> list[Check]:
    """Every registered check, in claim order then registration order."""
    import decdiff.properties as properties

    for module in pkgutil.iter_modules(properties.__path__):
        importlib.import_module(f"decdiff.properties.{module.name}")
    order = {claim: k for k, claim in enumerate(CLAIMS)}
    return sorted(_CHECKS.values(), key=lambda c: order[c.claim])


def denoiser_capabilities(denoiser: object) -> frozenset[str]:
    """What a denoiser declares it supports (attribute ``capabilities``; none by default)."""
    return frozenset(getattr(denoiser, "capabilities", ()))


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


def run_checks(ctx, ids: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the selected checks (all by default) on a `CheckContext`.

    A check whose required capabilities the denoiser lacks is reported `skipped` with
    the reason; an unknown id is bad input.
    """
    from decdiff.errors import InputError

    checks = all_checks()
    if ids is not None:
        known = {c.id: c for c in checks}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"unknown check (known: {', '.join(known)})", field=unknown[0])
        checks = [known[i] for i in ids]
    smoke_test(ctx)
    capabilities = denoiser_capabilities(ctx.denoiser)
    results: list[CheckResult] = []
    for check in checks:
        missing = sorted(check.requires - capabilities)
        if missing:
            results.append(CheckResult.make(
                id=check.id, claim=check.claim, subject=ctx.subject(), assumptions={}, conclusion_holds=None,
                skipped_reason=f"needs a denoiser with {', '.join(missing)} ({ctx.denoiser_label} has "
                               f"{', '.join(sorted(capabilities)) or 'none'})",
                reproduce=ctx.reproduce(check.id), seed=ctx.seed))
            continue
        results.extend(check.run(ctx))
    return results


def smoke_test(ctx) -> None:
    """Call the denoiser once on every agent's history of a few joint histories.

    A denoiser wrapped in `CheckedDenoiser` then fails here, with one line, before any
    check spends time on it.
    """
    import numpy as np
    import torch

    from decdiff.implementations.histories import history_batch

    histories = ctx.joint_histories
    rows = min(len(histories), 4)
    n = ctx.model.n_agents
    batch = history_batch(ctx.model, np.repeat(np.arange(n), rows),
                          histories.actions[:rows].transpose(2, 0, 1).reshape(n * rows, -1),
                          histories.observations[:rows].transpose(2, 0, 1).reshape(n * rows, -1))
    generator = torch.Generator().manual_seed(ctx.seed)
    y = torch.randn(len(batch), ctx.model.state_dim, dtype=torch.float64, generator=generator)
    ctx.denoiser(batch, y, torch.full((len(batch),), ctx.sigma, dtype=torch.float64))


def check_denoiser(denoiser, model, *, sigma: float, history_length: int, seed: int = 0, label: str = "custom",
                   checks: Iterable[str] | None = None, policy=None, budget=None) -> list[CheckResult]:
    """Every applicable check of the paper's claims for `denoiser` on `model` (ARCHITECTURE.md, "Contracts")."""
    from decdiff.properties.context import Budget, CheckContext

    ctx = CheckContext(model=model, denoiser=denoiser, denoiser_label=label, sigma=sigma,
                       history_length=history_length, seed=seed, policy=policy, budget=budget or Budget())
    return run_checks(ctx, checks)
