"""``decdiff inspect`` prints and records each agent's certified fixed points for a sampled joint history."""

from __future__ import annotations

import json

import numpy as np
import pytest

from decdiff.cli import main
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.certify import certify
from decdiff.implementations.dynamics.sigma_bounds import certified_sigma_bound
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.sampling import sample_trajectories


def _strict(text: str) -> dict:
    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def test_inspect_json_carries_certified_fixed_points(capsys):
    assert main(["inspect", "sensor-ring-noisy", "--history-length", "2", "--seed", "3", "--sigma", "0.25",
                 "--starts", "64", "--json"]) == 0
    record = _strict(capsys.readouterr().out)
    fixed = record["fixed_points"]
    assert (fixed["sigma"], fixed["seed"], fixed["history_length"], fixed["starts"]) == (0.25, 3, 2, 64)
    model = sensor_ring(noisy=True)
    trajectories = sample_trajectories(model, 2, 1, seed=3)
    posteriors = ExactDenoiser(model).posteriors(agent_histories(model, trajectories)).numpy()
    states = np.asarray(model.states, dtype=np.float64)
    assert fixed["true_state"] == model.state_names[int(trajectories.states[0, -1])]
    assert [entry["agent"] for entry in fixed["agents"]] == [0, 1, 2, 3]
    for entry, posterior in zip(fixed["agents"], posteriors):
        consistent = [model.state_names[s] for s in np.flatnonzero(posterior > 0)]
        assert [s["state"] for s in entry["states"]] == consistent
        assert fixed["true_state"] in consistent
        for s, c, bound in zip(entry["states"], certify(states, posterior, 0.25),
                               certified_sigma_bound(states, posterior)):
            assert s["certified"] == c.holds
            assert s["location_radius"] == pytest.approx(c.location_radius, rel=1e-12)
            expected = "inf" if np.isinf(c.uniqueness_radius) else pytest.approx(c.uniqueness_radius, rel=1e-12)
            assert s["uniqueness_radius"] == expected
            assert s["sigma_c_certified"] == ("inf" if np.isinf(bound) else pytest.approx(bound, rel=1e-12))
        own = sorted(p["nearest_state"] for p in entry["fixed_points"] if not p["spurious"])
        assert own == sorted(consistent)                                  # below sigma_c: one per state
        for p in entry["fixed_points"]:
            radius = next(s["location_radius"] for s in entry["states"] if s["state"] == p["nearest_state"])
            assert p["certified"] == (p["distance"] <= radius)
            assert p["basin_ci"][0] <= p["basin_mass"] <= p["basin_ci"][1]


def test_inspect_text_lists_each_agent_and_is_deterministic(capsys):
    args = ["inspect", "sensor-ring", "--history-length", "1", "--seed", "1", "--starts", "32", "--max-points", "1"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert "fixed points of f* at sigma = 0.3" in first
    model = sensor_ring()
    for name in model.agent_names:
        assert f"agent {name}:" in first
    assert "r_loc" in first and "sigma_c>=" in first
    ambiguous = sum("more states" in line for line in first.splitlines())
    posteriors = ExactDenoiser(model).posteriors(
        agent_histories(model, sample_trajectories(model, 1, 1, seed=1))).numpy()
    assert ambiguous == int(((posteriors > 0).sum(axis=1) > 1).sum())


@pytest.mark.parametrize("args, needle", [(["--sigma", "-1"], "sigma"), (["--starts", "0"], "--starts")])
def test_inspect_rejects_bad_fixed_point_options(capsys, args, needle):
    assert main(["inspect", "sensor-ring", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("decdiff: error:") and needle in lines[0]


def test_inspect_without_fixed_points_prints_the_facts_alone(capsys):
    assert main(["inspect", "sensor-ring", "--no-fixed-points"]) == 0
    out = capsys.readouterr().out
    assert "joint history of length 1 determines the state" in out and "fixed points of f*" not in out
    assert main(["inspect", "sensor-ring", "--no-fixed-points", "--json"]) == 0
    record = _strict(capsys.readouterr().out)
    assert record["model"] == "sensor-ring" and "fixed_points" not in record


def test_inspect_prints_the_facts_before_the_fixed_points_and_a_progress_bar(capsys):
    assert main(["inspect", "sensor-ring", "--starts", "16", "--saddle-pairs", "4"]) == 0
    captured = capsys.readouterr()
    assert captured.out.index("reachable states") < captured.out.index("fixed points of f*")
    assert "4 closest pairs" in captured.out
    # agents done of all, on stderr (tqdm redraws at most every 0.1 s, so which count shows depends on timing)
    assert "fixed points:" in captured.err and "/4 [" in captured.err
    assert main(["inspect", "sensor-ring", "--saddle-pairs", "-1"]) == 2
