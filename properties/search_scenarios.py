"""What a counterexample search looks for: a scenario (claim, dropped assumption, model family) and its outcome.

A `SupportScenario` names a claim, the one assumption dropped, and how to draw models in
which that assumption fails and the others hold; its conclusion maps a model to an
`Outcome`: in scope (the dropped assumption false, every other true), failing (in scope and
the conclusion false) and the conclusion's margin, ``bound - observed`` as in `CheckResult`.
`check_outcome` builds that conclusion from a registered check run with the exact denoiser.
The scenarios themselves are listed in `search` (support-form and Theorem 2 ones) and
`search_composite` (the composite claims); `search.search` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis.strategies import SearchStrategy

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.strategies import models

#: `decdiff verify`'s default noise level.
DEFAULT_SIGMA = 0.3


@dataclass(frozen=True)
class Outcome:
    """The conclusion on one model of a scenario.

    `in_scope`: the dropped assumption is false and every other one true (only then is the
    model a candidate); `fails`: in scope and the conclusion is false; `margin`: the
    conclusion's margin there, ``bound - observed`` as in `CheckResult` (negative where it
    fails), None when out of scope or undefined.
    """

    in_scope: bool
    fails: bool
    margin: float | None


@dataclass(frozen=True)
class SupportScenario:
    """A claim, the assumption dropped, and how to draw models that drop it (checked at noise level `sigma`).

    `assumptions_kept` is a cheap filter run first; `conclusion` evaluates the rest (`Outcome`).
    """

    name: str
    claim: str
    check_id: str
    dropped: str
    history_length: int
    model_options: dict[str, object]
    assumptions_kept: Callable[[DecPOMDP, int], bool]
    conclusion: Callable[[DecPOMDP, int], Outcome]
    max_examples: int = 300
    sigma: float = DEFAULT_SIGMA
    strategy: Callable[..., SearchStrategy[DecPOMDP]] = models


def check_outcome(check_id: str, dropped: str, sigma: float = DEFAULT_SIGMA) -> Callable[[DecPOMDP, int], Outcome]:
    """The exact denoiser's check `check_id` at `sigma` (the default budget, as the reproducing
    `decdiff verify` line uses): in scope where a result finds `dropped` false and every other
    assumption true; failing where such a result's conclusion is false; the smallest margin of those."""
    from decdiff.implementations.denoisers.exact import ExactDenoiser
    from decdiff.properties.context import Budget, CheckContext
    from decdiff.properties.registration import run_checks

    def outcome(model: DecPOMDP, history_length: int) -> Outcome:
        ctx = CheckContext(model=model, denoiser=ExactDenoiser(model), denoiser_label="exact", sigma=sigma,
                           history_length=history_length, seed=0, budget=Budget())
        results = run_checks(ctx, [check_id])
        scoped = [r for r in results if r.assumptions.get(dropped) is False
                  and all(v for k, v in r.assumptions.items() if k != dropped)]
        margins = [r.margin for r in scoped if r.margin is not None]
        return Outcome(in_scope=bool(scoped), fails=any(r.conclusion_holds is False for r in scoped),
                       margin=min(margins) if margins else None)

    return outcome
