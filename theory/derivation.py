"""Shared machinery of the symbolic derivations: assumptions, steps, derivations, results.

A derivation is data. Each `Step` carries the sympy objects it checks (a claimed
left-hand side, a right-hand side, a relation, and for inequalities an optional
certificate), so a deliberately wrong variant of a derivation is built by handing its
`build(...)` function a different claimed expression, never by patching internals.

Relations a step can check:

- ``"eq"``: ``lhs - rhs`` simplifies to zero (entrywise for matrices; plain equality for
  sets and booleans).
- ``"ne"``: ``lhs - rhs`` is decided to be non-zero (an exact counterexample value).
- ``"ge"`` / ``"gt"``: ``lhs - rhs >= 0`` (``> 0``). With a certificate ``c``, the step
  proves ``lhs - rhs - c == 0`` identically and that ``c`` is non-negative (positive)
  from the assumptions on its symbols (a sum of squares, a product of positive factors);
  without one, sympy must decide the sign of ``lhs - rhs`` directly (exact numbers).
- ``"superset"``: ``lhs`` is a proper superset of ``rhs`` (finite sets).

Each step states its `mode`: ``"general"`` (symbolic objects of symbolic size or a
general K-state posterior), ``"fixed-size"`` (symbolic entries for a stated small size),
or ``"instance"`` (exact rationals or algebraic numbers, with the reason sympy could not
do better). Its `role` says whether it proves the (corrected) statement or checks an
exact counterexample to the paper's original wording, or (``"example"``) checks that an
exact instance of the paper agrees with a statement already proved symbolically.
"""

from __future__ import annotations

import functools
import hashlib
import re
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sympy as sp
from sympy.core.cache import clear_cache

Relation = Literal["eq", "ne", "ge", "gt", "superset"]
Mode = Literal["general", "fixed-size", "instance"]
Role = Literal["derivation", "counterexample", "example"]
Status = Literal["proved", "refuted", "undecided", "error"]
Verdict = Literal["proved", "proved-on-instances", "refuted", "failed"]
Simplifier = Callable[[sp.Basic], sp.Basic]


@dataclass(frozen=True)
class Assumption:
    """A named hypothesis; `stated_in_paper` is False for conditions the paper omits."""

    name: str
    text: str
    stated_in_paper: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "stated_in_paper": self.stated_in_paper}


@dataclass(frozen=True)
class Step:
    """One checked step: `lhs relation rhs`, with its mode, role and (optional) certificate."""

    name: str
    text: str
    lhs: Any
    rhs: Any
    relation: Relation = "eq"
    mode: Mode = "general"
    reason: str = ""
    role: Role = "derivation"
    certificate: Any = None
    simplifier: Simplifier = sp.simplify

    def expressions(self) -> tuple[Any, ...]:
        """The sympy objects this step verifies (hashed into the result)."""
        return (self.lhs, self.rhs, self.certificate)


@dataclass(frozen=True)
class StepResult:
    """Outcome of checking one step."""

    name: str
    text: str
    relation: Relation
    mode: Mode
    role: Role
    reason: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VerificationResult:
    """JSON-serialisable outcome of `Derivation.verify()`; timing is kept apart."""

    derivation_id: str
    claim: str
    verdict: Verdict
    steps: tuple[StepResult, ...]
    symbolic_steps: tuple[str, ...]
    instance_steps: dict[str, str]
    counterexample: dict[str, Any] | None
    expression_hash: str
    elapsed_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "derivation_id": self.derivation_id,
            "claim": self.claim,
            "verdict": self.verdict,
            "steps": [step.to_dict() for step in self.steps],
            "symbolic_steps": list(self.symbolic_steps),
            "instance_steps": dict(self.instance_steps),
            "counterexample": self.counterexample,
            "expression_hash": self.expression_hash,
            "elapsed_seconds": self.elapsed_seconds,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


@dataclass(frozen=True)
class Derivation:
    """A result of the paper with its statement, assumptions and checked steps."""

    id: str
    claim: str
    statement: str
    statement_latex: str
    symbols: dict[str, str]
    assumptions: tuple[Assumption, ...]
    steps: tuple[Step, ...]
    counterexample: dict[str, Any] | None = field(default=None)

    def verify(self) -> VerificationResult:
        """Check every step and combine the outcomes into one verdict."""
        start = time.perf_counter()
        results = tuple(check_step(step) for step in self.steps)
        elapsed = time.perf_counter() - start
        return VerificationResult(
            derivation_id=self.id,
            claim=self.claim,
            verdict=combine_verdict(self.steps, results),
            steps=results,
            symbolic_steps=tuple(s.name for s in self.steps if s.mode != "instance"),
            instance_steps={s.name: s.reason for s in self.steps if s.mode == "instance"},
            counterexample=self.counterexample,
            expression_hash=expression_hash(self.steps),
            elapsed_seconds=round(elapsed, 4),
        )


def combine_verdict(steps: Sequence[Step], results: Sequence[StepResult]) -> Verdict:
    """`refuted` if a step is decided false, `failed` if one is undecided, else proved.

    Only derivation steps decide between `proved` and `proved-on-instances`; the
    counterexample and example steps are exact instances by nature and must merely hold.
    """
    statuses = {r.status for r in results}
    if "refuted" in statuses:
        return "refuted"
    if statuses & {"undecided", "error"} or not results:
        return "failed"
    on_instances = any(s.mode == "instance" and s.role == "derivation" for s in steps)
    return "proved-on-instances" if on_instances else "proved"


def expression_hash(steps: Sequence[Step]) -> str:
    """sha256 of the `sympy.srepr` of every verified object, in step order."""
    digest = hashlib.sha256()
    for step in steps:
        for expr in step.expressions():
            digest.update(srepr_any(expr).encode())
            digest.update(b"\x00")
    return digest.hexdigest()


def srepr_any(obj: Any) -> str:
    """`sympy.srepr` for sympy objects, and a stable text form for Python containers."""
    if obj is None:
        return "None"
    if isinstance(obj, (list, tuple)):
        return "(" + ",".join(srepr_any(o) for o in obj) + ")"
    return _canonical_dummies(sp.srepr(sp.sympify(obj)))


_DUMMY = re.compile(r"Dummy\('([^']*)', dummy_index=-?\d+\)")


def _canonical_dummies(text: str) -> str:
    """Rename `Dummy` symbols in a srepr (whose ``dummy_index`` is a process-dependent counter) by their
    first appearance, so the hash is reproducible. Done on the text: a traversal of the expression does
    not reach every dummy inside unevaluated matrix entries until sympy has simplified them once, which
    made the hash depend on what had run earlier in the process."""
    numbers: dict[str, int] = {}
    return _DUMMY.sub(lambda m: f"Dummy('{m.group(1)}', {numbers.setdefault(m.group(0), len(numbers))})", text)


def check_step(step: Step) -> StepResult:
    """Decide one step; exceptions become status `error` with their message."""
    try:
        status, detail = RELATION_CHECKS[step.relation](step)
    except Exception as exc:  # a malformed (e.g. mutated) step must fail, not crash
        status, detail = "error", f"{type(exc).__name__}: {exc}"
    return StepResult(step.name, step.text, step.relation, step.mode, step.role,
                      step.reason, status, detail)


def _residual(step: Step) -> sp.Basic:
    """`lhs - rhs` after the step's simplifier (entrywise for matrices)."""
    diff = step.lhs - step.rhs
    if isinstance(diff, sp.MatrixBase):
        return diff.applyfunc(step.simplifier)
    return step.simplifier(diff)


def _is_zero(expr: sp.Basic) -> bool | None:
    """Whether `expr` is identically zero: True, False, or None (not decided)."""
    if isinstance(expr, sp.MatrixBase):
        flags = [_is_zero(e) for e in expr]
        if all(f is True for f in flags):
            return True
        return False if any(f is False for f in flags) else None
    if isinstance(expr, sp.MatrixExpr):
        return True if isinstance(expr, sp.ZeroMatrix) else None
    expr = sp.sympify(expr)
    decided = expr.is_zero
    if decided is None and expr.free_symbols and expr.is_rational_function():
        # A rational function whose numerator is a non-zero polynomial is not an identity.
        return False if sp.expand(sp.fraction(sp.cancel(expr))[0]) != 0 else True
    return decided


def _check_eq(step: Step) -> tuple[Status, str]:
    if isinstance(step.lhs, (sp.Set, sp.logic.boolalg.Boolean, bool)):
        same = step.lhs == step.rhs
        return ("proved", "equal") if same else ("refuted", f"{step.lhs} != {step.rhs}")
    residual = _residual(step)
    zero = _is_zero(residual)
    if zero is True:
        return "proved", "lhs - rhs simplifies to 0"
    if zero is False:
        return "refuted", f"lhs - rhs = {_short(residual)}"
    return "undecided", f"lhs - rhs = {_short(residual)} (not decided)"


def _check_ne(step: Step) -> tuple[Status, str]:
    zero = _is_zero(_residual(step))
    if zero is False:
        return "proved", "lhs - rhs is non-zero"
    if zero is True:
        return "refuted", "lhs == rhs"
    return "undecided", "could not decide whether lhs == rhs"


def _sign_check(step: Step, strict: bool) -> tuple[Status, str]:
    if step.certificate is not None:
        identity = step.simplifier(step.lhs - step.rhs - step.certificate)
        if identity.is_zero is not True:
            return ("refuted" if identity.is_zero is False else "undecided",
                    f"lhs - rhs - certificate = {_short(identity)}")
        target = step.certificate
    else:
        target = _residual(step)
    sign = target.is_positive if strict else target.is_nonnegative
    name = "positive" if strict else "non-negative"
    if sign is True:
        return "proved", f"{_short(target)} is {name}"
    if sign is False:
        return "refuted", f"{_short(target)} is not {name}"
    return "undecided", f"sign of {_short(target)} not decided"


def _check_superset(step: Step) -> tuple[Status, str]:
    lhs, rhs = sp.FiniteSet(*step.lhs), sp.FiniteSet(*step.rhs)
    if rhs.is_proper_subset(lhs):
        return "proved", f"{lhs} strictly contains {rhs}"
    return "refuted", f"{lhs} does not strictly contain {rhs}"


RELATION_CHECKS: dict[str, Callable[[Step], tuple[Status, str]]] = {
    "eq": _check_eq,
    "ne": _check_ne,
    "ge": lambda step: _sign_check(step, strict=False),
    "gt": lambda step: _sign_check(step, strict=True),
    "superset": _check_superset,
}


def _short(expr: Any, limit: int = 160) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rotation_2d() -> sp.Matrix:
    """Every 2-D rotation but the half-turn, rationally parametrised by t = tan(angle/2)."""
    t = sp.Symbol("t", real=True)
    c, s = (1 - t**2) / (1 + t**2), 2 * t / (1 + t**2)
    return sp.Matrix([[c, -s], [s, c]])


def unchanged(expr: sp.Basic) -> sp.Basic:
    """Simplifier for exact numbers: leave them as they are and let sympy decide their
    sign by certified numerical evaluation (`is_positive`), which `simplify` would only
    slow down on transcendental constants."""
    return expr


def linearize_sums(expr: sp.Basic, rules: dict[sp.Basic, sp.Basic] | None = None) -> sp.Basic:
    """Use the linearity of finite sums: split each `Sum` over the terms of its expanded
    summand, pull factors that do not involve the summation index out of it, then apply
    `rules` (definitions such as ``Sum(w[k], (k, 1, K)) -> 1``).

    This is what lets sympy prove identities for a general K-term posterior
    (``Sum(..., (k, 1, K))`` with symbolic K), which `simplify` alone does not do.
    """
    split = sp.expand(sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum), _split_sum))
    return sp.expand(split.subs(rules)) if rules else split


def _split_sum(total: sp.Sum) -> sp.Basic:
    index_vars = {limit[0] for limit in total.limits}
    result = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(total.function)):
        outside, inside = sp.S.One, sp.S.One
        for factor in sp.Mul.make_args(term):
            if factor.free_symbols & index_vars:
                inside *= factor
            else:
                outside *= factor
        inner = sp.Sum(inside, *total.limits)
        result += outside * (inner.doit() if inside == 1 else inner)
    return result


def fresh_sympy_cache(build: Callable[..., Derivation]) -> Callable[..., Derivation]:
    """Run a derivation's ``build`` on an empty sympy cache: sympy's derivative cache hands the chain rule's
    ``Subs`` whichever bound variable it made first (a ``Dummy`` or a plain ``x``), so without this the
    built expressions, and their hash, would depend on what ran before in the process."""
    @functools.wraps(build)
    def built(*args: Any, **kwargs: Any) -> Derivation:
        clear_cache()
        return build(*args, **kwargs)
    return built
