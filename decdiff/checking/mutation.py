"""Proof that every check can fail: deliberately broken denoisers and models, and the kill table.

Mutation testing of the checks (issue 8). Each **mutant** is a subject (model, denoiser)
with one deliberate defect, built from a **base** subject that the checks accept:

* ``smooth-exact``: `SmoothExactDenoiser`, the exact f* (Eq. 2) written as a smooth function
  of the float history features, so that it has a continuous history input and declares the
  capabilities of a (perfectly) trained network; every check can run on it and its mutants;
* ``narrow-mlp``: a briefly trained `MLPDenoiser` whose first layer is no wider than |s|, the
  case where Corollary 5.1's formula is exact;
* ``exact``: the `ExactDenoiser` of a model; model mutants change the model and keep f*.

A check is **killed** by a mutant when it fails on the mutant (a result ``violated``, or a
conclusion evaluated false) and does not fail on the mutant's base: the failure is the
defect's doing. `mutation_table` runs every registered check (`decdiff.checking.registry.all_checks`)
on every base and mutant and returns the mutants x checks table and the kill rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from decdiff.checking.mutant_denoisers import (
    BASES,
    FeatureMutant,
    MutantConstants,
    Transform,
    collinear_bias,
    detached_history,
    identity,
    ignores_agent_id,
    ignores_history,
    perturbed,
    prior_mean,
    rank_growing_bias,
    rare_histories_wrong,
    shifted,
    wrong_sigma,
)
from decdiff.checking.mutant_models import correlated_observations
from decdiff.checking.mutant_reference import REFERENCE_MUTANTS, unseen_reason
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.properties.context import Budget, CheckContext
from decdiff.properties.registration import all_checks, run_checks
from decdiff.results import CheckResult


@dataclass(frozen=True)
class Mutant:
    """One deliberate defect: a name, what is broken, the base it is applied to, and how to build it.

    ``make(model, base_denoiser, seed)`` returns the mutant's (model, denoiser); ``unseen(model)`` says
    why no check can tell the mutant from its base on that model (None when one can).
    """

    name: str
    defect: str
    base: str
    make: Callable[[DecPOMDP, object, int], tuple[DecPOMDP, object]]
    unseen: Callable[[DecPOMDP], str | None] = lambda model: None


def _feature(name: str, transform: Transform, base: str = "smooth-exact") -> Mutant:
    def make(model: DecPOMDP, denoiser, seed: int):
        constants = MutantConstants(model, denoiser.encoding.dim, seed)
        return model, FeatureMutant(denoiser, transform, name, constants)

    return Mutant(name, " ".join((transform.__doc__ or "").split()), base, make)


def _model(name: str, mutate: Callable[[DecPOMDP], DecPOMDP]) -> Mutant:
    def make(model: DecPOMDP, denoiser, seed: int):
        mutated = mutate(model)
        return mutated, BASES["exact"](mutated, 0.0, seed)

    return Mutant(name, " ".join((mutate.__doc__ or "").split("\n\n")[0].split()), "exact", make)


def _reference(name: str) -> Mutant:
    defect, build = REFERENCE_MUTANTS[name]
    return Mutant(name, defect, "exact", lambda model, denoiser, seed: (model, build(model)),
                  lambda model: unseen_reason(name, model))


MUTANTS: tuple[Mutant, ...] = (
    _feature("ignores-history", ignores_history),
    _feature("ignores-agent-id", ignores_agent_id),
    _feature("shifted", shifted),
    _feature("wrong-sigma", wrong_sigma),
    _feature("identity", identity),
    _feature("prior-mean", prior_mean),
    _feature("slightly-perturbed", perturbed),
    _feature("rare-histories-wrong", rare_histories_wrong),
    _feature("rank-growing-bias", rank_growing_bias),
    _feature("detached-history", detached_history),
    _feature("collinear-bias", collinear_bias),
    _feature("mlp-ignores-history", ignores_history, base="narrow-mlp"),
    _model("correlated-observations", correlated_observations),
    *(_reference(name) for name in REFERENCE_MUTANTS),
)

#: The work each check may do on each subject of the table: sensor-ring with H = 1 has 4 joint
#: histories, all enumerated; 32 starts and 200 steps settle every flow of f* at sigma = 0.2
#: (its contraction factor near a consistent state is below 1e-4).
MUTATION_BUDGET = Budget(histories=8, starts=32, iterations=200)


def fails(results: list[CheckResult]) -> bool:
    """A check fails on a subject when a result is ``violated`` or its conclusion was evaluated false."""
    return any(r.verdict == "violated" or r.conclusion_holds is False for r in results)


@dataclass(frozen=True)
class Cell:
    """One check on one subject: its verdicts (one per result), whether it fails, or the error it raised."""

    verdicts: tuple[str, ...]
    fails: bool
    error: str | None = None

    @property
    def label(self) -> str:
        if self.error:
            return "error"
        return "/".join(sorted(set(self.verdicts))) + (" (conclusion false)" if self.fails and
                                                       "violated" not in self.verdicts else "")


def run_cell(ctx: CheckContext, check_id: str) -> Cell:
    """Run one check; an exception is recorded (a check that crashes on a subject is a finding, not a kill)."""
    try:
        results = run_checks(ctx, [check_id])
    except Exception as error:  # the table reports crashes per cell instead of stopping at the first
        return Cell((), False, f"{type(error).__name__}: {' '.join(str(error).split())[:200]}")
    return Cell(tuple(r.verdict for r in results), fails(results))


@dataclass(frozen=True)
class MutationTable:
    """Every registered check on every base and mutant, and which mutants kill which checks."""

    subject: dict
    checks: tuple[str, ...]
    mutants: tuple[Mutant, ...]
    bases: dict[str, dict[str, Cell]]
    cells: dict[str, dict[str, Cell]]

    def killed(self, mutant: Mutant, check: str) -> bool:
        """The check fails on the mutant and not on its base."""
        return self.cells[mutant.name][check].fails and not self.bases[mutant.base][check].fails

    def killers(self, check: str) -> list[str]:
        return [m.name for m in self.mutants if self.killed(m, check)]

    @property
    def unkilled(self) -> list[str]:
        return [c for c in self.checks if not self.killers(c)]

    @property
    def kill_rate(self) -> float:
        return 1.0 - len(self.unkilled) / len(self.checks) if self.checks else 0.0

    @property
    def errors(self) -> dict[str, str]:
        """``"subject / check" -> error`` for every cell that raised."""
        rows = {f"base {b}": row for b, row in self.bases.items()} | self.cells
        return {f"{name} / {check}": cell.error for name, row in rows.items() for check, cell in row.items()
                if cell.error}

    def to_json(self) -> dict:
        return {"subject": self.subject, "checks": list(self.checks), "kill_rate": self.kill_rate,
                "unkilled": self.unkilled, "errors": self.errors,
                "killers": {c: self.killers(c) for c in self.checks},
                "bases": {b: {c: cell.label for c, cell in row.items()} for b, row in self.bases.items()},
                "mutants": [{"name": m.name, "base": m.base, "defect": m.defect,
                             "cells": {c: {"verdict": cell.label, "killed": self.killed(m, c)}
                                       for c, cell in self.cells[m.name].items()}} for m in self.mutants]}

    def to_markdown(self) -> str:
        """The mutants x checks table (K: killed; x: fails, but its base fails too; .: not failing; E: error)."""
        def mark(m: Mutant, c: str) -> str:
            cell = self.cells[m.name][c]
            return "E" if cell.error else "K" if self.killed(m, c) else "x" if cell.fails else "."

        lines = ["| mutant | base | " + " | ".join(self.checks) + " |",
                 "|---|---|" + "---|" * len(self.checks)]
        lines += [f"| {m.name} | {m.base} | " + " | ".join(mark(m, c) for c in self.checks) + " |"
                  for m in self.mutants]
        lines.append(f"\nkill rate {self.kill_rate:.0%} ({len(self.checks) - len(self.unkilled)} of "
                     f"{len(self.checks)} checks killed)" + (f"; not killed: {', '.join(self.unkilled)}"
                                                            if self.unkilled else ""))
        return "\n".join(lines)


def mutation_table(model: str = "sensor-ring", *, sigma: float = 0.2, history_length: int = 1, seed: int = 0,
                   budget: Budget = MUTATION_BUDGET, mutants: tuple[Mutant, ...] = MUTANTS,
                   progress: Callable[[str], None] | None = None) -> MutationTable:
    """Run every registered check on every base and mutant of `model` (module docstring)."""
    from decdiff.implementations.models.registry import load_model

    base_model = load_model(model)
    checks = tuple(c.id for c in all_checks())

    def row(name: str, subject_model: DecPOMDP, denoiser) -> dict[str, Cell]:
        if progress is not None:
            progress(name)
        ctx = CheckContext(model=subject_model, denoiser=denoiser, denoiser_label=name, sigma=sigma,
                           history_length=history_length, seed=seed, budget=budget)
        return {c: run_cell(ctx, c) for c in checks}

    with intra_op_threads(1):          # small batches: one thread costs ~5x less CPU on a shared machine
        base_denoisers = {b: BASES[b](base_model, sigma, seed) for b in sorted({m.base for m in mutants})}
        bases = {b: row(f"base {b}", base_model, d) for b, d in base_denoisers.items()}
        cells = {}
        for m in mutants:
            subject_model, denoiser = m.make(base_model, base_denoisers[m.base], seed)
            cells[m.name] = row(m.name, subject_model, denoiser)
    subject = {"model": base_model.name, "sigma": sigma, "history_length": history_length, "seed": seed,
               "budget": {"histories": budget.histories, "starts": budget.starts, "iterations": budget.iterations}}
    return MutationTable(subject, checks, tuple(mutants), bases, cells)
