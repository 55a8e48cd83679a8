"""Theorems 3 and 4 in support form: hold under their assumptions, and fail without them."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from decdiff.checking.registry import check_denoiser
from decdiff.cli import main
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models
from decdiff.properties.search import SCENARIOS, search

SMALL = dict(max_agents=3, max_states=4, max_actions=2, max_observations=2)


def _result(model, check_id, history_length):
    (result,) = check_denoiser(ExactDenoiser(model), model, sigma=0.3, history_length=history_length,
                               checks=[check_id], label="exact")
    return result


@given(model=models(**SMALL, factored=True, action_observation=False), history_length=st.integers(1, 3))
def test_theorem3_holds_under_factored_per_step_co(model, history_length):
    result = _result(model, "theorem3.support_intersection", history_length)
    assume(all(result.assumptions.values()))
    assert result.verdict == "holds", result.counterexample


@given(model=models(**SMALL, factored=True, action_observation=False, initial_observation=True),
       static=st.booleans(), history_length=st.integers(1, 3))
def test_theorem4_holds_for_one_observation_or_static_state(model, static, history_length):
    result = _result(model, "theorem4.support_intersection", 1 if not static else history_length)
    assume(all(result.assumptions.values()))
    assert result.verdict == "holds", result.counterexample


def test_sensor_ring_noisy_all_zero_observation_is_areas_1_and_2(capsys):
    """Theorem 4 on the paper's non-CO example: the all-(0,0) joint observation leaves areas 1 and 2."""
    result = _result(sensor_ring(noisy=True), "theorem3.support_intersection", 1)
    assert result.verdict == "outside-assumptions" and not result.assumptions["per_step_co"]
    assert result.counterexample["intersection"] == ["area1", "area2"] == result.counterexample["joint_support"]
    assert _result(sensor_ring(noisy=True), "theorem4.support_intersection", 1).verdict == "holds"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_search_finds_a_reproducible_counterexample(scenario, tmp_path, capsys):
    found = search(scenario, out_dir=tmp_path)
    assert found.found, f"no counterexample for {scenario.name}"
    sizes = scenario.model_options                       # shrinking keeps it within its family's sizes
    assert found.model.n_agents <= sizes.get("max_agents", sizes.get("agents"))
    assert found.model.n_states <= sizes.get("max_states", sizes.get("states"))
    args = found.reproduce.split()[1:] + ["--json", "-"]
    assert main(args) == 0                     # outside-assumptions is not a violation
    (record,) = json.loads(capsys.readouterr().out)["checks"]
    assert record["id"] == scenario.check_id and record["conclusion_holds"] is False
    assert record["verdict"] == "outside-assumptions"
    assert record["assumptions"].get(scenario.dropped, False) is False
