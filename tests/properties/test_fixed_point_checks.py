"""Fixed-point checks of Theorems 1-4 and Finding 1 on the paper's examples, on broken denoisers and on findings."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

from decdiff.checking.registry import check_denoiser
from decdiff.cli import main
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.dpomdp_model import model_from_dpomdp
from decdiff.implementations.models.dpomdp_parser import parse_dpomdp
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget, CheckContext
from decdiff.properties.fixed_point_sets import agent_history_batch, examined_histories
from decdiff.properties.hypothesis_profiles import EXAMPLES, load_profile

IDS = ["theorem1.converged_diffusion", "theorem2.attractors_are_states", "finding1.single_fixed_point",
       "theorem3.shared_fixed_points", "theorem4.shared_fixed_points", "theorem4.posterior_recovery"]


def _verify(model: str) -> list[dict]:
    """`decdiff verify MODEL --json -` restricted to the fixed-point checks: the JSON check records."""
    args = ["verify", model, "--json", "-"]
    for check in IDS:
        args += ["--check", check]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(args) == 0
    return json.loads(out.getvalue())["checks"]


@pytest.fixture(scope="module")
def noisy_ring() -> list[dict]:
    return _verify("sensor-ring-noisy")


def _by_start(records: list[dict]) -> dict[str, dict]:
    return {r["subject"]["start_distribution"]: r for r in records
            if r["id"].startswith("theorem4.posterior_recovery[")}


def test_sensor_ring_holds_everywhere():
    records = _verify("sensor-ring")
    recovery = _by_start(records)
    for r in records:
        if r is recovery["N(0, sigma^2 I)"]:
            # symmetric posteriors: N(0, sigma^2 I) happens to recover them, but it is not the right p_0
            assert r["verdict"] == "outside-assumptions" and r["conclusion_holds"] is True
        else:
            assert r["verdict"] == "holds", (r["id"], r["observed"], r["counterexample"])
            assert all(r["assumptions"].values())


def test_sensor_ring_noisy_shares_areas_1_and_2_on_the_all_zero_observation(noisy_ring):
    records = {r["id"]: r for r in noisy_ring if r["id"].endswith("shared_fixed_points")}
    theorem4 = records["theorem4.shared_fixed_points"]
    assert theorem4["verdict"] == "holds"
    (all_zero,) = [i for i in theorem4["details"]["intersections"] if set(i["observations"][0]) == {"00"}]
    assert all_zero["intersection"] == ["area1", "area2"] == all_zero["joint_support"]
    theorem3 = records["theorem3.shared_fixed_points"]
    assert theorem3["verdict"] == "outside-assumptions" and theorem3["assumptions"]["per_step_co"] is False
    assert theorem3["counterexample"]["intersection"] == ["area1", "area2"]


def test_posterior_recovery_needs_the_appropriate_start_distribution(noisy_ring):
    """docs/claims.md#posterior-recovery: noisy ring, agent 3 sees (0,0): posterior (0.4, 0.2, 0.4) on areas 1, 2, 4."""
    recovery = _by_start(noisy_ring)
    appropriate, algorithm = recovery["p_sigma(y|tau)"], recovery["N(0, sigma^2 I)"]
    assert appropriate["verdict"] == "holds"
    assert algorithm["verdict"] == "outside-assumptions" and algorithm["conclusion_holds"] is False
    assert algorithm["ci"][0] > algorithm["bound"]

    def agent3(record):
        (row,) = [h for h in record["details"]["per_history"] if h["agent"] == 2 and h["observations"] == ["00"]]
        return row

    mine, theirs = agent3(appropriate), agent3(algorithm)
    assert mine["posterior"] == pytest.approx([0.4, 0.2, 0.4])
    assert mine["total_variation"] <= mine["bayes_error"] + appropriate["bound"]
    assert theirs["basin_masses"][1] > mine["posterior"][1] + 0.03      # area 2 over-weighted (paper: 0.258)


def test_theorem1_fails_pointwise_in_the_boundary_band_but_holds_with_high_probability(noisy_ring):
    """docs/claims.md#theorem-1: with unequal weights some starts end at a consistent state that is not their argmax."""
    (theorem1,) = [r for r in noisy_ring if r["id"] == "theorem1.converged_diffusion"]
    assert theorem1["verdict"] == "holds"
    assert theorem1["details"]["ended_at_another_consistent_state"] > 0
    assert theorem1["details"]["ended_away_from_every_consistent_state"] == 0


class Shifted:
    """f* + c: every fixed point moves by c (a deliberately broken denoiser)."""

    sigma = None

    def __init__(self, model, shift: float) -> None:
        self.exact, self.shift = ExactDenoiser(model), shift

    def __call__(self, histories, y, sigma):
        return y.clone() if y.shape[0] == 0 else self.exact(histories, y, sigma) + self.shift


def test_every_fixed_point_check_fails_on_a_shifted_denoiser():
    model = load_model("sensor-ring")
    results = check_denoiser(Shifted(model, 0.1), model, sigma=0.3, history_length=1, checks=IDS, label="shifted",
                             budget=Budget(starts=64))
    assert {r.id.partition("[")[0] for r in results} == set(IDS)
    for r in results:
        assert r.conclusion_holds is False, r.id
        assert r.verdict == ("violated" if all(r.assumptions.values()) else "outside-assumptions")


def _simplex_model(k: int):
    """One agent, a static state uniform over k one-hot states, an uninformative observation."""
    text = (f"agents: 1\ndiscount: 1.0\nvalues: reward\nstates: {k}\nstart:\nuniform\nactions:\n1\nobservations:\n1\n"
            "T: * :\nidentity\nO: * : * : * : 1.0\nR: * : * : * : * : 0.0\n")
    return model_from_dpomdp(parse_dpomdp(text), f"simplex{k}")


def test_theorem2_spurious_attractor_at_the_centroid_below_sigma_c():
    """Finding: k equally likely one-hot states have a stable fixed point at their centroid once sigma^2 > 1/k.

    There J = Cov_w[s] / sigma^2 = (I/k - 11^T/k^2) / sigma^2 has spectral radius 1 / (k sigma^2);
    for k = 8 and sigma = 0.4 that is 0.78 < 1 while every state is still certified (sigma below
    sigma_c), so "nothing else is stable" fails under the theorem's assumption.
    """
    k, sigma = 8, 0.4
    model = _simplex_model(k)
    (result,) = check_denoiser(ExactDenoiser(model), model, sigma=sigma, history_length=1,
                               checks=["theorem2.attractors_are_states"], label="exact")
    assert result.assumptions == {"sigma_below_sigma_c": True}
    assert result.verdict == "violated"
    extra = [p for p in result.counterexample["fixed_points"] if p["stable"] and not p["within_tolerance"]]
    assert {p["starts"] for p in extra} <= {"posterior", "standard"} and extra
    for centroid in extra:                                    # the same point, from either search
        assert np.allclose(centroid["point"], 1.0 / k, atol=1e-9)
        assert centroid["spectral_radius"] == pytest.approx(1.0 / (k * sigma**2), rel=1e-9)
    assert result.details["stable_fixed_points"] == k + 1     # both searches' points, deduplicated


def test_theorem2_sees_attractors_where_the_posterior_has_no_mass():
    """A history-blind denoiser (the prior's f) attracts to inconsistent states too; starts from
    p_sigma(y | tau) alone never reach them, the N(0, I) exploration does."""
    from decdiff.checking.mutant_denoisers import BASES
    from decdiff.checking.mutation import MUTANTS

    model = load_model("sensor-ring")
    (mutant,) = [m for m in MUTANTS if m.name == "ignores-history"]
    _, broken = mutant.make(model, BASES["smooth-exact"](model, 0.2, 0), 0)
    (result,) = check_denoiser(broken, model, sigma=0.2, history_length=1,
                               checks=["theorem2.attractors_are_states"], label="ignores-history")
    assert result.conclusion_holds is False
    # at sigma = 0.2 p_sigma's tails reach few inconsistent states: most extra attractors come from N(0, I)
    only_explored = result.details["stable_points_only_from_exploration"]
    assert only_explored > result.details["stable_fixed_points"] / 2
    extra = [p for p in result.counterexample["fixed_points"] if p["stable"] and not p["within_tolerance"]]
    assert any(p["starts"] == "standard" for p in extra)


def test_finding1_needs_sigma_below_sigma_c():
    """Above sigma_c the two consistent states of the ring's uncertain agents merge into one attractor."""
    model = load_model("sensor-ring")
    (result,) = check_denoiser(ExactDenoiser(model), model, sigma=0.75, history_length=1,
                               checks=["finding1.single_fixed_point"], label="exact", budget=Budget(starts=64))
    assert result.assumptions == {"sigma_below_sigma_c": False}
    assert result.conclusion_holds is False and result.verdict == "outside-assumptions"
    assert len(result.counterexample["consistent_states"]) == 2


def test_finding1_is_skipped_without_a_single_fixed_point():
    model = load_model("sensor-ring")

    def identity(histories, y, sigma):
        return y.clone()

    identity.sigma = None
    (result,) = check_denoiser(identity, model, sigma=0.3, history_length=1, checks=["finding1.single_fixed_point"],
                               label="identity", budget=Budget(starts=32))
    assert result.verdict == "skipped" and "exactly one stable fixed point" in result.skipped_reason


def test_examined_histories_follow_the_budget():
    model = load_model("sensor-ring-noisy")
    ctx = CheckContext(model=model, denoiser=ExactDenoiser(model), denoiser_label="exact", sigma=0.3,
                       history_length=2, budget=Budget(fixed_point_histories=3))
    examined = examined_histories(ctx)
    assert len(examined) == 3
    supports = sorted(len(e.consistent) for e in examined)
    everything = ExactDenoiser(model).posteriors(agent_history_batch(ctx)).numpy()
    assert supports[0] == int((everything > 0).sum(axis=1).min())      # the smallest support is among them
    assert examined_histories(ctx) is examined                         # shared by the checks of a context


def test_hypothesis_profiles_are_selected_by_the_environment(monkeypatch):
    from hypothesis import settings

    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    try:
        assert load_profile() == "dev" and settings.default.max_examples == EXAMPLES["dev"]
    finally:
        monkeypatch.delenv("HYPOTHESIS_PROFILE")
        assert load_profile() == "ci" and settings.default.max_examples == EXAMPLES["ci"]


@pytest.mark.slow
def test_sensor_grid_5x5_with_histories_of_length_5_names_the_failing_assumptions():
    """The paper's 5x5 network, H = 5: budgeted subsampling; multi-step dynamics break Theorem 4's assumption."""
    model = load_model("sensor-grid:5x5:targets=2")
    results = {(r.id, r.subject.get("start_distribution")): r
               for r in check_denoiser(ExactDenoiser(model), model, sigma=0.3, history_length=5, checks=IDS)}
    theorem4 = results[("theorem4.shared_fixed_points", None)]
    assert theorem4.assumptions["history_length_1_or_static"] is False
    assert theorem4.verdict in ("outside-assumptions", "inconclusive")
    for r in results.values():
        assert r.verdict != "skipped" or r.id == "finding1.single_fixed_point"
        assert r.conclusion_holds is not None or r.verdict in ("skipped", "inconclusive")
    theorem2 = results[("theorem2.attractors_are_states", None)]
    if theorem2.conclusion_holds is False:                   # the spurious centroids of many consistent states
        extra = [p for p in theorem2.counterexample["fixed_points"] if p["stable"] and not p["within_tolerance"]]
        assert extra and all(p["spectral_radius"] < 1 for p in extra)


def test_a_variant_of_a_check_is_selected_by_its_id():
    """`--check theorem4.posterior_recovery[p_sigma]` runs one start distribution; its reproduce line names it."""
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["verify", "sensor-ring", "--json", "-", "--check", "theorem4.posterior_recovery[p_sigma]"]) == 0
    (record,) = json.loads(out.getvalue())["checks"]
    assert record["id"] == "theorem4.posterior_recovery[p_sigma]"
    assert record["subject"]["start_distribution"] == "p_sigma(y|tau)"
    assert record["reproduce"].endswith("--check theorem4.posterior_recovery[p_sigma]")


@pytest.mark.parametrize("sigma, proved", [(0.3, True), (0.6, False)])
def test_theorem2_says_nothing_else_is_stable_only_where_it_is_proved(sigma, proved):
    """Below sigma_iso (exact denoiser) the set is proved complete and the note is empty; above it on some history,
    'holds' only means nothing else was found, and the result says so with the basin mass that could be missed."""
    model = load_model("sensor-ring")
    (result,) = check_denoiser(ExactDenoiser(model), model, sigma=sigma, history_length=1,
                               checks=["theorem2.attractors_are_states"])
    completeness = result.details["completeness"]
    assert (completeness["proved_complete"] == completeness["histories"]) is proved
    if proved:
        assert result.note == "" and completeness["statement"].startswith("proved complete")
    else:
        mass = completeness["missable_basin_mass"]["p_sigma"]
        assert mass == pytest.approx(1 - 0.05 ** (1 / 256))
        assert "not proved" in result.note and f"{mass:.2g}" in result.note
