"""Which checks exist: every claim of the paper as a registered check that runs on any denoiser.

Each module of `decdiff.properties` (one per claim) registers its checks with `register_check`;
`all_checks` imports every such module once and returns the checks in claim order; `run_checks`
runs a selection on a `CheckContext`, skipping (with the reason) the checks whose capabilities the
denoiser does not declare. The user-facing entry point is `decdiff.checking.registry.check_denoiser`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from decdiff import claims as claim_catalogue
from decdiff.results import CheckResult

if TYPE_CHECKING:
    from decdiff.properties.context import CheckContext

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
        variants: the names of the results it returns when it runs more than once per subject; each
            result's id is then ``id[variant]`` (e.g. ``theorem4.posterior_recovery[p_sigma]``), which
            `run_checks` accepts too.
    """

    id: str
    claim: str
    requires: frozenset[str]
    run: CheckFunction
    summary: str
    variants: tuple[str, ...] = ()

    def result_ids(self) -> tuple[str, ...]:
        """The ids of the results it returns: its own, or one ``id[variant]`` per variant."""
        return tuple(variant_id(self.id, v) for v in self.variants) or (self.id,)


def variant_id(check_id: str, variant: str) -> str:
    """The id of one variant's result, ``check_id[variant]``."""
    return f"{check_id}[{variant}]"


_CHECKS: dict[str, Check] = {}

#: Every claim the paper makes that decdiff checks, in report order.
CLAIMS = tuple(claim.name for claim in claim_catalogue.CLAIMS)


def register_check(id: str, claim: str, summary: str, requires: Iterable[str] = (),
                   variants: tuple[str, ...] = ()) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator registering a check function under `id` (with the `variants` its results are named by)."""
    if claim not in CLAIMS:
        raise ValueError(f"unknown claim {claim!r}")

    def decorate(fn: CheckFunction) -> CheckFunction:
        if id in _CHECKS:
            raise ValueError(f"check {id!r} registered twice")
        _CHECKS[id] = Check(id=id, claim=claim, requires=frozenset(requires), run=fn, summary=summary,
                            variants=variants)
        return fn

    return decorate


#: The modules that register checks, in the order their checks are listed within a claim. The order must not
#: depend on which module a process happened to import first (a Dask worker whose first task was a figure
#: imported `reference` before `theorem1` and listed their checks the other way round, so its report differed).
CHECK_MODULES = ("corollary5_1", "theorem7", "corollary7_1", "corollary7_2", "finding1", "finding3", "finding6",
                 "theorem1", "reference", "theorem2", "theorem3", "theorem4", "theorem5", "theorem6", "theorem8",
                 "trained_reference")


def all_checks() -> list[Check]:
    """Every registered check: in claim order, then `CHECK_MODULES` order, then the order each module defines
    them in (whatever order the modules were imported in)."""
    package = importlib.import_module("decdiff.properties")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"decdiff.properties.{module.name}")
    claim_rank = {claim: k for k, claim in enumerate(CLAIMS)}
    module_rank = {f"decdiff.properties.{name}": k for k, name in enumerate(CHECK_MODULES)}
    unlisted = sorted({c.run.__module__ for c in _CHECKS.values()} - set(module_rank))
    if unlisted:
        raise RuntimeError(f"checks registered in {unlisted}: add the module to CHECK_MODULES")
    defined = {check_id: k for k, check_id in enumerate(_CHECKS)}
    return sorted(_CHECKS.values(), key=lambda c: (claim_rank[c.claim], module_rank[c.run.__module__], defined[c.id]))


#: Each capability as words about the denoiser: (before "denoiser", after it).
CAPABILITY_WORDS = {"trained": ("trained", ""),
                    "continuous_history": ("", "that accepts continuous histories")}


def needs_in_words(capabilities: Iterable[str]) -> str:
    """The denoiser the capabilities describe, e.g. "a trained denoiser" (unknown ones by name)."""
    words = [CAPABILITY_WORDS.get(c, ("", f"with capability {c!r}")) for c in capabilities]
    before = " ".join(w for w, _ in words if w)
    after = " and ".join(w for _, w in words if w)
    text = " ".join(p for p in (before, "denoiser", after) if p)
    return ("an " if text[0] in "aeiou" else "a ") + text


def denoiser_capabilities(denoiser: object) -> frozenset[str]:
    """What a denoiser declares it supports (attribute ``capabilities``; none by default)."""
    return frozenset(getattr(denoiser, "capabilities", ()))


def _selection(checks: list[Check], ids: Iterable[str]) -> list[tuple[Check, frozenset[str] | None]]:
    """(check, the result ids to keep, None for all) for each selected id, a check's own or a variant's."""
    from decdiff.errors import InputError

    known: dict[str, Check] = {}
    for check in checks:
        known |= {i: check for i in (check.id, *check.result_ids())}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(f"unknown check (known: {', '.join(known)})", field=unknown[0])
    selected: dict[str, tuple[Check, set[str] | None]] = {}
    for i in ids:
        check = known[i]
        _, keep = selected.setdefault(check.id, (check, set()))
        if i == check.id:
            selected[check.id] = (check, None)
        elif keep is not None:
            keep.add(i)
    return [(check, None if keep is None else frozenset(keep)) for check, keep in selected.values()]


def run_checks(ctx, ids: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the selected checks (all by default) on a `CheckContext`.

    An id names a check or one of its variants (``id[variant]``: the check runs and only that
    variant's result is kept). A check whose required capabilities the denoiser lacks is
    reported `skipped` with the reason; an unknown id is bad input.
    """
    from decdiff.implementations.dynamics.convergence import NoConvergence

    checks = all_checks()
    selection = [(c, None) for c in checks] if ids is None else _selection(checks, list(ids))
    smoke_test(ctx)
    capabilities = denoiser_capabilities(ctx.denoiser)
    results: list[CheckResult] = []
    for check, keep in selection:
        missing = sorted(check.requires - capabilities)
        if missing:
            results.extend(CheckResult.make(
                id=result_id, claim=check.claim, subject=ctx.subject(), assumptions={}, conclusion_holds=None,
                skipped_reason=f"needs {needs_in_words(missing)} ({ctx.denoiser_label} is not one)",
                reproduce=ctx.reproduce(result_id), seed=ctx.seed)
                for result_id in (check.result_ids() if keep is None else sorted(keep)))
            continue
        before = dict(getattr(ctx.denoiser, "jacobian_calls", None) or {})
        try:
            ran = check.run(ctx)
        except NoConvergence as reason:
            ran = [CheckResult.make(id=result_id, claim=check.claim, subject=ctx.subject(), assumptions={},
                                    conclusion_holds=None, details={"reason": str(reason)},
                                    reproduce=ctx.reproduce(result_id), seed=ctx.seed)
                   for result_id in check.result_ids()]
        after = getattr(ctx.denoiser, "jacobian_calls", None) or {}
        methods = sorted(m for m, count in after.items() if count > before.get(m, 0))
        for result in ran if methods else ():
            result.details = dict(result.details or {}) | {"jacobian_method": ", ".join(methods)}
        results.extend(r for r in ran if keep is None or r.id in keep)
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
