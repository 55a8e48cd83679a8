"""Counterexample search: random models that violate exactly one assumption of a claim.

For each claim with an assumption, a search draws small random models in which that
assumption fails and the others hold, and asks hypothesis to find (and shrink) one on
which the claim's conclusion fails. Shrinking moves towards fewer agents, states,
actions and observations and seed 0, so the model reported is small. It is written out
as a `.dpomdp` file, and the `decdiff verify` line that reproduces the failure is given.
Every search also records the worst (smallest) margin of the conclusion over all the
models it evaluated in scope, and the model that produced it, so that a search that finds
nothing still says how close it came (`SearchResult`).

A scenario and its outcome on one model are defined in `search_scenarios`; this module
lists the support-form and Theorem 2 scenarios, adds the composite ones of
`search_composite`, and runs the search.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample

from decdiff.implementations.model_facts import (
    joint_history_co,
    observations_factored,
    observations_own_action,
    per_step_co,
    reachable_joint_histories,
)
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.dpomdp_writer import write_dpomdp
from decdiff.implementations.supports import compare_supports
from decdiff.properties.hypothesis_profiles import seed_only_generation
from decdiff.properties.search_composite import composite_scenarios
from decdiff.properties.search_scenarios import Outcome, SupportScenario, check_outcome


def _support_outcome(failing: np.ndarray) -> Outcome:
    """Support form on every reachable joint history: margin = 0 - fraction of histories where it fails,
    as theorem3/theorem4.support_intersection define it (bound 0, observed the failing fraction)."""
    return Outcome(in_scope=True, fails=bool(failing.any()), margin=0.0 - float(failing.mean()))


def _supports(model: DecPOMDP, history_length: int):
    histories = reachable_joint_histories(model, history_length, limit=5_000)
    return compare_supports(model, histories.actions, histories.observations)


def _theorem3_outcome(model: DecPOMDP, history_length: int) -> Outcome:
    comparison = _supports(model, history_length)
    return _support_outcome(~(comparison.intersection_is_singleton & comparison.equal))


def _theorem4_outcome(model: DecPOMDP, history_length: int) -> Outcome:
    return _support_outcome(~_supports(model, history_length).equal)


SMALL = {"max_agents": 2, "max_states": 3, "max_actions": 2, "max_observations": 2, "initial_observation": False}

#: Theorem 2 above sigma_c: one-hot states are sqrt(2) apart, so an equal-weight pair keeps both
#: attractors up to sigma = 0.707 (half their distance) and a failure at 0.6 needs a minor state whose own
#: sigma_c is lower (posterior ratio below ~0.35 for two states, sigma_bounds.two_state_sigma_c).
THEOREM2_ABOVE_SIGMA_C = 0.6

SCENARIOS: tuple[SupportScenario, ...] = (
    SupportScenario(
        name="theorem3-correlated-observations", claim="Theorem 3", check_id="theorem3.support_intersection",
        dropped="observations_factored", history_length=1,
        model_options={**SMALL, "factored": False, "sparsity": 0.6, "action_observation": False},
        assumptions_kept=lambda m, h: per_step_co(m) and not observations_factored(m),
        conclusion=_theorem3_outcome, max_examples=1000),      # 300 found one at 3 of seeds 0-5, 1000 at 10 of 0-9
    SupportScenario(
        name="theorem3-joint-history-co-only", claim="Theorem 3", check_id="theorem3.support_intersection",
        dropped="per_step_co", history_length=2,
        model_options={**SMALL, "max_states": 4, "factored": True, "deterministic": True, "sparsity": 0.6,
                       "action_observation": False},
        assumptions_kept=lambda m, h: observations_factored(m) and joint_history_co(m, h) and not per_step_co(m),
        conclusion=_theorem3_outcome, max_examples=2000),
    SupportScenario(
        name="theorem4-correlated-observations", claim="Theorem 4", check_id="theorem4.support_intersection",
        dropped="observations_factored", history_length=1,
        model_options={**SMALL, "factored": False, "static": True, "action_observation": False},
        assumptions_kept=lambda m, h: not observations_factored(m),
        conclusion=_theorem4_outcome),
    SupportScenario(
        name="theorem4-multi-step-dynamics", claim="Theorem 4", check_id="theorem4.support_intersection",
        dropped="history_length_1_or_static", history_length=2,
        model_options={**SMALL, "factored": True, "static": False, "action_observation": False},
        assumptions_kept=lambda m, h: observations_factored(m) and observations_own_action(m),
        conclusion=_theorem4_outcome),
    SupportScenario(
        name="theorem2-sigma-above-sigma-c", claim="Theorem 2", check_id="theorem2.attractors_are_states",
        dropped="sigma_below_sigma_c", history_length=1, model_options=SMALL, assumptions_kept=lambda m, h: True,
        conclusion=check_outcome("theorem2.attractors_are_states", "sigma_below_sigma_c", THEOREM2_ABOVE_SIGMA_C),
        max_examples=100, sigma=THEOREM2_ABOVE_SIGMA_C),
)
SCENARIOS += composite_scenarios()      # Finding 6, Theorem 7 and Theorem 8 (properties/search_composite.py)


@dataclass
class _Log:
    """What a search saw: models evaluated, those in scope, the worst margin and its model, the last failing margin."""

    examples: int = 0
    in_scope: int = 0
    worst_margin: float | None = None
    worst_model: DecPOMDP | None = None
    failure_margin: float | None = None

    def record(self, model: DecPOMDP, outcome: Outcome) -> None:
        self.in_scope += outcome.in_scope
        if outcome.margin is not None and (self.worst_margin is None or outcome.margin < self.worst_margin):
            self.worst_margin, self.worst_model = outcome.margin, model
        if outcome.fails:
            self.failure_margin = outcome.margin


@dataclass(frozen=True)
class SearchResult:
    """A search's outcome: the shrunk counterexample (`model` None when none was found) and how close it came.

    `examples` counts the models evaluated (generation and shrinking), `in_scope` those on
    which the dropped assumption was false and every other true; `worst_margin` is the
    smallest margin of the conclusion over those (negative: it fails) and `worst_model` the
    first model that reached it; `margin` is the counterexample's own. Files (when
    written) and ``decdiff verify`` lines reproduce both models.
    """

    scenario: SupportScenario
    seed: int
    max_examples: int
    examples: int
    in_scope: int
    worst_margin: float | None
    worst_model: DecPOMDP | None
    model: DecPOMDP | None
    margin: float | None
    path: Path | None
    reproduce: str | None
    worst_path: Path | None
    worst_reproduce: str | None

    @property
    def found(self) -> bool:
        """Whether a counterexample was found."""
        return self.model is not None

    def to_json(self, root: Path | None = None) -> dict[str, Any]:
        """The result as JSON (no timings, so deterministic); paths relative to `root` when given."""

        def shown(path: Path | None, line: str | None) -> tuple[str | None, str | None]:
            if path is None or root is None:
                return (None if path is None else str(path)), line
            relative = path.relative_to(root).as_posix()
            return relative, None if line is None else line.replace(str(path), relative)

        file, reproduce = shown(self.path, self.reproduce)
        worst_file, worst_reproduce = shown(self.worst_path, self.worst_reproduce)
        scenario = self.scenario
        return {"scenario": scenario.name, "claim": scenario.claim, "dropped_assumption": scenario.dropped,
                "check": scenario.check_id, "seed": self.seed, "max_examples": self.max_examples,
                "examples": self.examples, "in_scope": self.in_scope, "found": self.found,
                "model": None if self.model is None else self.model.name, "margin": self.margin,
                "file": file, "reproduce": reproduce,
                "worst_margin": self.worst_margin,
                "worst_model": None if self.worst_model is None else self.worst_model.name,
                "worst_file": worst_file, "worst_reproduce": worst_reproduce}


def _write(scenario: SupportScenario, model: DecPOMDP, out_dir: Path | None, stem: str,
           comment: str) -> tuple[Path | None, str]:
    """Write `model` to ``out_dir/stem.dpomdp`` (if `out_dir`) and give the ``decdiff verify`` line for it."""
    path = None
    if out_dir is not None:
        path = write_dpomdp(model, Path(out_dir) / f"{stem}.dpomdp",
                            comment=f"decdiff {comment}: {scenario.claim} without {scenario.dropped}\n"
                                    f"generated from {model.name}")
    target = model.name if path is None else str(path)
    return path, (f"decdiff verify {target} --history-length {scenario.history_length} "
                  f"--sigma {scenario.sigma:g} --check {scenario.check_id}")


def search(scenario: SupportScenario, *, max_examples: int | None = None, seed: int = 0,
           out_dir: Path | None = None) -> SearchResult:
    """Find and shrink a model violating `scenario.dropped` on which the conclusion fails.

    `max_examples` defaults to the scenario's budget (rarer failures get more). The result
    depends on the scenario, the budget and `seed` alone: every hypothesis setting is
    explicit (not the active profile) and no constant harvested from loaded source files is
    drawn (`seed_only_generation`). With `out_dir`, the counterexample is written to
    ``NAME.dpomdp`` and the worst-margin model to ``NAME.worst.dpomdp``.
    """
    budget = max_examples or scenario.max_examples
    strategy = scenario.strategy(**scenario.model_options)
    log = _Log()

    def condition(model: DecPOMDP) -> bool:
        log.examples += 1
        if not scenario.assumptions_kept(model, scenario.history_length):
            return False
        outcome = scenario.conclusion(model, scenario.history_length)
        log.record(model, outcome)
        return outcome.fails

    with seed_only_generation():
        try:
            model = find(strategy, condition, random=random.Random(seed),
                         # every setting explicit: the result depends on the seed alone, not on the active profile
                         settings=settings(parent=settings.get_profile("default"), max_examples=budget,
                                           database=None, deadline=None, derandomize=False,
                                           suppress_health_check=list(HealthCheck)))
        except NoSuchExample:
            model = None
    path = reproduce = worst_path = worst_reproduce = None
    margin = None
    if model is not None:
        # find returns the model of the last call that returned True (its replay of the shrunk example)
        margin = log.failure_margin
        path, reproduce = _write(scenario, model, out_dir, scenario.name, "counterexample")
    if log.worst_model is not None:
        worst_path, worst_reproduce = _write(scenario, log.worst_model, out_dir, f"{scenario.name}.worst",
                                             f"model of the worst margin seen ({log.worst_margin:.6g})")
    return SearchResult(scenario=scenario, seed=seed, max_examples=budget, examples=log.examples,
                        in_scope=log.in_scope, worst_margin=log.worst_margin, worst_model=log.worst_model,
                        model=model, margin=margin, path=path, reproduce=reproduce,
                        worst_path=worst_path, worst_reproduce=worst_reproduce)
