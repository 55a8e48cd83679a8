"""Put decdiff's checks into your own pytest suite: `parametrize_with_checks`.

Modelled on scikit-learn's ``parametrize_with_checks``: one test case per (denoiser, model,
check), with deterministic ids ``LABEL-MODEL-CHECK``::

    from decdiff.testing import parametrize_with_checks

    @parametrize_with_checks([make_denoiser, "exact"], models=["sensor-ring"],
                             expected_failures={"corollary5_1.*": "first layer wider than |s|"})
    def test_my_denoiser(case):
        case()

A denoiser entry is a factory ``FACTORY(model, sigma) -> Denoiser`` (built once per model
when the first of its cases runs), a spec string as on the command line (``exact``,
``FILE.py:FACTORY``, ``FILE.pt``), or a denoiser instance (used as is on every model).
User denoisers are wrapped in `CheckedDenoiser`, so a broken output fails with one line.

Calling a case runs its check and maps the verdict onto pytest: ``holds`` passes,
``violated`` fails with the numbers and the ``reproduce`` line; ``skipped``,
``outside-assumptions`` and ``inconclusive`` are reported as pytest skips with the reason
(they are not passes). `expected_failures` and `skips` map fnmatch patterns, matched
against the check id or the whole case id, to reasons (xfail with ``strict=True`` and
skip marks); a pattern that matches no case raises a warning, as does a `checks`
selection that matches nothing.

The pytest plugin (`decdiff.checking.pytest_plugin`, entry point ``pytest11``) marks these cases
``decdiff``, can override their seed (``--decdiff-seed``) and writes every result of a
session as JSON (``--decdiff-json``), through `SESSION`.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from decdiff.results import CheckResult


@dataclass
class Session:
    """Settings the pytest plugin applies to every case, and the results collected in a session."""

    seed: int | None = None
    results: list[CheckResult] = field(default_factory=list)
    record: bool = False


SESSION = Session()

#: Contexts built so far, per (entry, model, sigma, H, seed, budget): a denoiser is built and
#: its shared analyses (histories, fixed points) are computed once for all of its cases.
_CONTEXTS: dict[tuple, Any] = {}


@dataclass(frozen=True, eq=False)
class CheckCase:
    """One check of one denoiser on one model; call it inside a test."""

    entry: Any
    label: str
    model: str
    check: str
    sigma: float
    history_length: int
    seed: int
    budget: Any = None

    @property
    def id(self) -> str:
        return f"{self.label}-{self.model}-{self.check}"

    def context(self):
        """The (cached) `CheckContext` of this case's denoiser and model."""
        from decdiff.implementations.models.registry import load_model
        from decdiff.properties.context import Budget, CheckContext

        seed = self.seed if SESSION.seed is None else SESSION.seed
        key = (id(self.entry), self.model, self.sigma, self.history_length, seed, self.budget)
        if key not in _CONTEXTS:
            model = load_model(self.model)
            _CONTEXTS[key] = (self.entry, CheckContext(
                model=model, denoiser=build_denoiser(self.entry, self.label, model, self.sigma),
                denoiser_label=command_line_spec(self.entry) or self.label, sigma=self.sigma, history_length=self.history_length, seed=seed,
                budget=self.budget or Budget()))
        return _CONTEXTS[key][1]

    def run(self) -> list[CheckResult]:
        """The check's results (no assertion)."""
        from decdiff.implementations.dynamics.threads import intra_op_threads
        from decdiff.properties.registration import run_checks

        with intra_op_threads(1):      # small batches: one thread is faster on a shared machine
            results = run_checks(self.context(), [self.check])
        if SESSION.record:
            SESSION.results.extend(results)
        return results

    def __call__(self) -> list[CheckResult]:
        """Run the check and turn its verdicts into a pytest outcome (module docstring)."""
        import pytest

        results = self.run()
        violated = [r for r in results if r.verdict == "violated"]
        if violated:
            raise AssertionError("\n".join(describe_failure(r) for r in violated))
        not_decided = [r for r in results if r.verdict != "holds"]
        if not_decided:
            pytest.skip("; ".join(f"{r.id}: {r.verdict}" + _reason(r) for r in not_decided))
        return results


def _reason(r: CheckResult) -> str:
    if r.skipped_reason:
        return f" ({r.skipped_reason})"
    failed = [k for k, v in r.assumptions.items() if not v]
    if failed:
        return f" (assumption fails: {', '.join(failed)}; conclusion holds: {r.conclusion_holds})"
    return f" (observed {r.observed}, bound {r.bound}, interval {r.ci})" if r.verdict == "inconclusive" else ""


def describe_failure(r: CheckResult) -> str:
    """A violated result in a few lines: claim, numbers, counterexample, how to reproduce."""
    lines = [f"{r.id} ({r.claim}) violated on {r.subject}: observed {r.observed}, bound {r.bound}, "
             f"margin {r.margin}, tolerances {r.tolerance}"]
    if r.counterexample:
        lines.append(f"  counterexample: {r.counterexample}")
    lines.append(f"  reproduce: {r.reproduce}")
    return "\n".join(lines)


def build_denoiser(entry: Any, label: str, model, sigma: float):
    """The denoiser an entry names, for `model` (module docstring); user denoisers are validated."""
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.denoisers.protocol import Denoiser
    from decdiff.implementations.denoisers.validation import CheckedDenoiser

    if isinstance(entry, str):
        return load_denoiser(entry, model, sigma)
    if isinstance(entry, Denoiser):
        return CheckedDenoiser(entry, label)
    return CheckedDenoiser(entry(model, sigma), label)


def command_line_spec(entry: Any) -> str | None:
    """``FILE.py:FACTORY`` for a factory defined at the top level of a file (the form ``decdiff verify
    --denoiser`` takes, so that reproduce lines run), the spec itself for a string, else None.

    FILE is relative to the working directory when it lies below it.
    """
    import inspect
    import os

    if isinstance(entry, str):
        return entry
    name = getattr(entry, "__name__", None)
    module = inspect.getmodule(entry) if inspect.isfunction(entry) else None
    path = getattr(module, "__file__", None)
    if name is None or path is None or getattr(module, name, None) is not entry:
        return None
    relative = os.path.relpath(path)
    return f"{path if relative.startswith('..') else relative}:{name}"


def entry_label(entry: Any) -> str:
    """How a denoiser entry appears in case ids: the spec, the factory's name or the class name."""
    if isinstance(entry, str):
        return entry
    from decdiff.implementations.denoisers.protocol import Denoiser

    if isinstance(entry, Denoiser):
        return type(entry).__name__
    return getattr(entry, "__name__", type(entry).__name__)


def _unique(labels: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    out = []
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label}[{counts[label]}]")
    return out


def check_cases(denoisers: Sequence[Any], *, models: Sequence[str] = ("sensor-ring",), sigma: float = 0.3,
                history_length: int = 1, seed: int = 0, checks: Iterable[str] | None = None,
                budget: Any = None) -> list[CheckCase]:
    """Every (denoiser, model, check) case, in entry, model and registry order."""
    from decdiff.properties.registration import all_checks

    ids = [c.id for c in all_checks()]
    if checks is not None:
        patterns = list(checks)
        for pattern in patterns:
            if not fnmatch.filter(ids, pattern):
                warnings.warn(f"decdiff: check selection {pattern!r} matches no registered check", UserWarning,
                              stacklevel=3)
        ids = [i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in patterns)]
    labels = _unique([entry_label(e) for e in denoisers])
    return [CheckCase(entry, label, m, check, sigma, history_length, seed, budget)
            for entry, label in zip(denoisers, labels) for m in models for check in ids]


def _matches(case: CheckCase, pattern: str) -> bool:
    return fnmatch.fnmatchcase(case.check, pattern) or fnmatch.fnmatchcase(case.id, pattern)


def parametrize_with_checks(denoisers: Sequence[Any], *, models: Sequence[str] = ("sensor-ring",),
                            sigma: float = 0.3, history_length: int = 1, seed: int = 0,
                            checks: Iterable[str] | None = None,
                            expected_failures: Mapping[str, str] | None = None,
                            skips: Mapping[str, str] | None = None, budget: Any = None,
                            argname: str = "case") -> Callable:
    """A ``pytest.mark.parametrize`` over every `CheckCase` of `denoisers` x `models` x checks.

    Args:
        denoisers: factories ``(model, sigma) -> Denoiser``, spec strings or instances.
        models: model specs (built-in names or ``.dpomdp`` paths).
        sigma, history_length, seed, budget: the subject of every check (`CheckContext`).
        checks: fnmatch patterns selecting check ids (all registered checks by default).
        expected_failures: pattern -> reason; matching cases are ``xfail(strict=True)``.
        skips: pattern -> reason; matching cases are skipped.
        argname: the test function's parameter that receives the case.
    """
    import pytest

    cases = check_cases(denoisers, models=models, sigma=sigma, history_length=history_length, seed=seed,
                        checks=checks, budget=budget)
    expected_failures, skips = dict(expected_failures or {}), dict(skips or {})
    for kind, table in (("expected_failures", expected_failures), ("skips", skips)):
        for pattern in table:
            if not any(_matches(c, pattern) for c in cases):
                warnings.warn(f"decdiff: {kind} entry {pattern!r} matches no check case", UserWarning, stacklevel=2)
    params = []
    for case in cases:
        marks = [pytest.mark.xfail(reason=reason, strict=True)
                 for pattern, reason in expected_failures.items() if _matches(case, pattern)][:1]
        marks += [pytest.mark.skip(reason=reason) for pattern, reason in skips.items() if _matches(case, pattern)][:1]
        params.append(pytest.param(case, id=case.id, marks=marks))
    return pytest.mark.parametrize(argname, params)
