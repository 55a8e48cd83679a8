"""Theorem 7, Corollaries 7.1 / 7.2, Finding 6 and Theorem 8: hold for f* under their assumptions, fail without.

Broken denoisers (each check must catch at least one):
* `PriorDenoiser` ignores the history (E[s | y] under a uniform prior): composite flows settle
  at wrong states that every agent's flow leaves in place, so Step 2 accepts them;
* `OverstepDenoiser` over-relaxes the denoising step, y + 2.5 (f* - y): no attracting orbit
  near any state;
* `CollinearConstantDenoiser` ignores y and the history except the agent id and returns
  points on a line, so F_s is not a simplex and Eq. 18 fails under the uniform law.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from decdiff.checking.registry import check_denoiser
from decdiff.cli import main
from decdiff.implementations.denoisers.exact import ExactDenoiser, mixture_mean
from decdiff.implementations.model_facts import per_step_co
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.properties.context import Budget
from decdiff.properties.search import search
from decdiff.properties.search_composite import composite_scenarios, static_co_models

COMPOSITE_IDS = ("theorem7.composite_convergence", "theorem7.convex_hull", "corollary7_1.every_consistent_state",
                 "corollary7_1.only_consistent_states", "corollary7_2.every_consistent_state",
                 "corollary7_2.only_consistent_states", "finding6.composite_true_state",
                 "theorem8.composite_vs_individual", "theorem8.uniform_hull")
SMALL_BUDGET = Budget(histories=8, starts=32, iterations=200)


def _run(denoiser, model, checks=COMPOSITE_IDS, budget=SMALL_BUDGET, history_length=1, sigma=0.3):
    results = check_denoiser(denoiser, model, sigma=sigma, history_length=history_length, checks=list(checks),
                             label=type(denoiser).__name__, budget=budget)
    return {r.id: r for r in results}


class PriorDenoiser:
    """E[s | y] under a uniform prior over all states: ignores the history (broken on purpose)."""

    sigma = None

    def __init__(self, model) -> None:
        self.states = torch.from_numpy(np.ascontiguousarray(model.states, dtype=np.float64))
        self.log_weights = torch.zeros(model.n_states, dtype=torch.float64)

    def __call__(self, histories, y, sigma):
        return mixture_mean(self.log_weights, self.states, y, sigma)


class OverstepDenoiser:
    """y + 2.5 (f*(y) - y): an over-relaxed step, Jacobian ~ -1.5 I near every state (broken on purpose)."""

    sigma = None

    def __init__(self, model) -> None:
        self.exact = ExactDenoiser(model)

    def __call__(self, histories, y, sigma):
        return y + 2.5 * (self.exact(histories, y, sigma) - y)


class CollinearConstantDenoiser:
    """state 0 + delta (i / (n - 1))^2 u for agent i, whatever y and the history (broken on purpose)."""

    sigma = None

    def __init__(self, model, delta: float = 0.2) -> None:
        n = model.n_agents
        direction = torch.zeros(model.state_dim, dtype=torch.float64)
        direction[:2] = torch.tensor([1.0, -1.0]) / np.sqrt(2)
        base = torch.from_numpy(np.ascontiguousarray(model.states[0], dtype=np.float64))
        self.points = base + delta * (torch.arange(n, dtype=torch.float64) / (n - 1))[:, None] ** 2 * direction

    def __call__(self, histories, y, sigma):
        return self.points[histories.agents] + 0.0 * y


def test_sensor_ring_composite_checks():
    """The CO ring: every composite claim holds for f*, except Theorem 8's assumptions (agents that see
    no target have two fixed points, and the composite limit is a deterministic cycle, not uniform)."""
    results = _run(ExactDenoiser(sensor_ring()), sensor_ring(), budget=Budget(starts=64))
    for check_id in COMPOSITE_IDS:
        if check_id != "theorem8.composite_vs_individual":
            assert results[check_id].verdict == "holds", (check_id, results[check_id].counterexample)
    theorem7 = results["theorem7.composite_convergence"]
    assert theorem7.details["step2"]["rate"] == 1.0
    assert theorem7.ci[1] == pytest.approx(1.0) and 0.9 < theorem7.ci[0] < 1
    assert 0 < theorem7.details["max_dbar"] < 1e-4  # fixed points off the states: docs/claims.md#finite-sigma
    theorem8 = results["theorem8.composite_vs_individual"]
    assert theorem8.verdict == "outside-assumptions"
    assert not theorem8.assumptions["one_fixed_point_per_agent"] and not theorem8.assumptions["final_iterate_uniform"]
    # composite diffusion resolves what one agent cannot (Finding 5): individual flows end at wrong states
    assert theorem8.details["mean_individual_diffusion_error"] > 100 * theorem8.details["mean_composite_error"]
    for result in results.values():
        assert result.reproduce.endswith(f"--check {result.id}") and result.tolerance


@settings(max_examples=8)
@given(model=st.tuples(st.integers(2, 3), st.integers(2, 4)).flatmap(lambda size: static_co_models(*size)))
def test_exact_composite_checks_hold_under_their_assumptions(model):
    """Random collectively observable static models with skewed priors (`static_co_models`)."""
    assume(per_step_co(model))
    results = _run(ExactDenoiser(model), model)
    assume(results["theorem7.composite_convergence"].details["max_dbar"] > 0)     # some agent is unsure
    for result in results.values():
        assert result.verdict != "violated", (result.id, result.counterexample)
        if all(result.assumptions.values()) and result.conclusion_holds is not None:
            assert result.verdict == "holds"


def test_history_blind_denoiser_fails_the_composite_claims():
    model = sensor_ring()
    results = _run(PriorDenoiser(model), model, budget=Budget(histories=4, starts=32, iterations=100))
    for check_id in ("theorem7.composite_convergence", "theorem7.convex_hull", "corollary7_1.only_consistent_states",
                     "corollary7_2.only_consistent_states", "finding6.composite_true_state",
                     "theorem8.composite_vs_individual"):
        assert results[check_id].conclusion_holds is False, check_id
        assert results[check_id].counterexample is not None
    theorem7 = results["theorem7.composite_convergence"]
    assert theorem7.verdict == "violated"                      # Step 2 accepts the wrong limits
    example = theorem7.counterexample
    assert example["step2"]["accepted"] and example["orbit"][-1]["nearest_state"] != example["target_state"]


def test_overstepping_denoiser_has_no_attractor_near_the_states():
    model = sensor_ring()
    results = _run(OverstepDenoiser(model), model, budget=Budget(histories=4, starts=16, iterations=60))
    for check_id in ("corollary7_1.every_consistent_state", "corollary7_2.every_consistent_state",
                     "finding6.composite_true_state"):
        assert results[check_id].conclusion_holds is False, check_id
    assert results["theorem7.composite_convergence"].details["step2"]["accepted"] == 0
    assert results["theorem7.composite_convergence"].verdict == "inconclusive"   # nothing to judge: never a pass


def test_collinear_fixed_points_break_eq18():
    model = sensor_ring()
    (result,) = _run(CollinearConstantDenoiser(model), model, checks=["theorem8.uniform_hull"]).values()
    assert result.conclusion_holds is False and result.verdict == "outside-assumptions"
    assert not result.assumptions["fixed_points_affinely_independent"]
    assert result.counterexample["affine_rank"] == 1
    assert result.counterexample["uniform_hull_mean_distance"] > result.counterexample["mean_fixed_point_distance"]


@pytest.mark.parametrize(("name", "seed"), [("finding6-composite-cycle", 1), ("theorem7-anisotropic-jacobians", 1),
                                            ("theorem8-non-simplex", 1)])
def test_search_finds_a_reproducible_counterexample(name, seed, tmp_path, capsys):
    (scenario,) = [s for s in composite_scenarios() if s.name == name]
    found = search(scenario, seed=seed, out_dir=tmp_path)          # its seed alone decides (test_search.py)
    assert found.found and found.path.is_file()
    assert found.model.n_states == 3 and found.model.n_agents == scenario.model_options["agents"]
    assert main(found.reproduce.split()[1:] + ["--json", "-"]) == 0      # outside-assumptions: no violation
    (record,) = json.loads(capsys.readouterr().out)["checks"]
    assert record["id"] == scenario.check_id and record["verdict"] == "outside-assumptions"
    assert record["conclusion_holds"] is False and record["assumptions"][scenario.dropped] is False
    assert all(v for k, v in record["assumptions"].items() if k != scenario.dropped)
    if name == "finding6-composite-cycle":                   # a period-2 orbit between two wrong states
        example = record["counterexample"]
        visited = {point["nearest_state"] for point in example["orbit"]}
        assert len(visited) == 2 and example["target_state"] not in visited
        assert not example["step2"]["accepted"]             # check (2) rejects it (docs/claims.md#finding-6)
