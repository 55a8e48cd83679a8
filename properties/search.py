"""Counterexample search: random models that violate exactly one assumption of a claim.

For each claim with an assumption, a search draws small random models in which that
assumption fails and the others hold, and asks hypothesis to find (and shrink) one on
which the claim's conclusion fails. Shrinking moves towards fewer agents, states,
actions and observations and seed 0, so the model reported is small. It is written out
as a `.dpomdp` file, and the `decdiff verify` line that reproduces the failure is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from decdiff.implementations.model_facts import (
    joint_history_co,
    observations_factored,
    observations_own_action,
    per_step_co,
    reachable_joint_histories,
)
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.dpomdp_writer import write_dpomdp
from decdiff.implementations.models.strategies import models
from decdiff.implementations.supports import compare_supports
from decdiff.properties.search_composite import composite_scenarios


#: `decdiff verify`'s default noise level.
DEFAULT_SIGMA = 0.3


@dataclass(frozen=True)
class SupportScenario:
    """A claim, the assumption dropped, and how to draw models that drop it (checked at noise level `sigma`)."""

    name: str
    claim: str
    check_id: str
    dropped: str
    history_length: int
    model_options: dict[str, object]
    assumptions_kept: Callable[[DecPOMDP, int], bool]
    conclusion_fails: Callable[[DecPOMDP, int], bool]
    max_examples: int = 300
    sigma: float = DEFAULT_SIGMA
    strategy: Callable[..., SearchStrategy[DecPOMDP]] = models


def _supports(model: DecPOMDP, history_length: int):
    histories = reachable_joint_histories(model, history_length, limit=5_000)
    return compare_supports(model, histories.actions, histories.observations)


def _theorem3_fails(model: DecPOMDP, history_length: int) -> bool:
    comparison = _supports(model, history_length)
    return not bool(np.all(comparison.intersection_is_singleton & comparison.equal))


def _theorem4_fails(model: DecPOMDP, history_length: int) -> bool:
    return not bool(np.all(_supports(model, history_length).equal))


def check_fails_without(check_id: str, dropped: str, sigma: float = DEFAULT_SIGMA) -> Callable[[DecPOMDP, int], bool]:
    """The exact denoiser's check `check_id` at `sigma` finds `dropped` false, every other assumption true,
    and the conclusion false (the default budget, as the reproducing `decdiff verify` line uses)."""
    from decdiff.implementations.denoisers.exact import ExactDenoiser
    from decdiff.registry import check_denoiser

    def condition(model: DecPOMDP, history_length: int) -> bool:
        results = check_denoiser(ExactDenoiser(model), model, sigma=sigma, history_length=history_length,
                                 checks=[check_id], label="exact")
        return any(r.assumptions.get(dropped) is False and r.conclusion_holds is False
                   and all(v for k, v in r.assumptions.items() if k != dropped) for r in results)

    return condition


SMALL = {"max_agents": 2, "max_states": 3, "max_actions": 2, "max_observations": 2, "initial_observation": False}

#: Theorem 2 above sigma_c: one-hot states are sqrt(2) apart, so an equal-weight pair keeps both
#: attractors up to sigma = 0.707 (PAPER.md §6.2) and a failure at 0.6 needs a minor state whose own
#: sigma_c is lower (posterior ratio below ~0.35 for two states, certify.two_state_sigma_c).
THEOREM2_ABOVE_SIGMA_C = 0.6

SCENARIOS: tuple[SupportScenario, ...] = (
    SupportScenario(
        name="theorem3-correlated-observations", claim="Theorem 3", check_id="theorem3.support_intersection",
        dropped="observations_factored", history_length=1,
        model_options={**SMALL, "factored": False, "sparsity": 0.6, "action_observation": False},
        assumptions_kept=lambda m, h: per_step_co(m) and not observations_factored(m),
        conclusion_fails=_theorem3_fails),
    SupportScenario(
        name="theorem3-joint-history-co-only", claim="Theorem 3", check_id="theorem3.support_intersection",
        dropped="per_step_co", history_length=2,
        model_options={**SMALL, "max_states": 4, "factored": True, "deterministic": True, "sparsity": 0.6,
                       "action_observation": False},
        assumptions_kept=lambda m, h: observations_factored(m) and joint_history_co(m, h) and not per_step_co(m),
        conclusion_fails=_theorem3_fails, max_examples=2000),
    SupportScenario(
        name="theorem4-correlated-observations", claim="Theorem 4", check_id="theorem4.support_intersection",
        dropped="observations_factored", history_length=1,
        model_options={**SMALL, "factored": False, "static": True, "action_observation": False},
        assumptions_kept=lambda m, h: not observations_factored(m),
        conclusion_fails=_theorem4_fails),
    SupportScenario(
        name="theorem4-multi-step-dynamics", claim="Theorem 4", check_id="theorem4.support_intersection",
        dropped="history_length_1_or_static", history_length=2,
        model_options={**SMALL, "factored": True, "static": False, "action_observation": False},
        assumptions_kept=lambda m, h: observations_factored(m) and observations_own_action(m),
        conclusion_fails=_theorem4_fails),
    SupportScenario(
        name="theorem2-sigma-above-sigma-c", claim="Theorem 2", check_id="theorem2.attractors_are_states",
        dropped="sigma_below_sigma_c", history_length=1, model_options=SMALL, assumptions_kept=lambda m, h: True,
        conclusion_fails=check_fails_without("theorem2.attractors_are_states", "sigma_below_sigma_c",
                                             THEOREM2_ABOVE_SIGMA_C),
        max_examples=100, sigma=THEOREM2_ABOVE_SIGMA_C),
)
SCENARIOS += composite_scenarios()[:1]      # Finding 6's composite cycle (properties/search_composite.py)


@dataclass(frozen=True)
class FoundCounterexample:
    """The smallest model found, where it was written, and the command that reproduces it."""

    scenario: SupportScenario
    model: DecPOMDP
    path: Path | None
    reproduce: str


def search(scenario: SupportScenario, *, max_examples: int | None = None, seed: int = 0,
           out_dir: Path | None = None) -> FoundCounterexample | None:
    """Find and shrink a model violating `scenario.dropped` on which the conclusion fails.

    `max_examples` defaults to the scenario's budget (rarer failures get more).
    """
    strategy = scenario.strategy(**scenario.model_options)

    def condition(model: DecPOMDP) -> bool:
        return scenario.assumptions_kept(model, scenario.history_length) and \
            scenario.conclusion_fails(model, scenario.history_length)

    try:
        model = find(strategy, condition, random=random.Random(seed),
                     # every setting explicit: the result depends on the seed alone, not on the active profile
                     settings=settings(parent=settings.get_profile("default"),
                                       max_examples=max_examples or scenario.max_examples, database=None, deadline=None,
                                       derandomize=False, suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None
    path = None
    target = model.name
    if out_dir is not None:
        path = write_dpomdp(model, Path(out_dir) / f"{scenario.name}.dpomdp",
                            comment=f"decdiff counterexample: {scenario.claim} without {scenario.dropped}\n"
                                    f"generated from {model.name}")
        target = str(path)
    reproduce = (f"decdiff verify {target} --history-length {scenario.history_length} --sigma {scenario.sigma:g} "
                 f"--check {scenario.check_id}")
    return FoundCounterexample(scenario=scenario, model=model, path=path, reproduce=reproduce)
