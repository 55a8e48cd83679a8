"""The trained-denoiser checks on a trained sensor-ring denoiser, on the exact denoiser (skipped), and on
denoisers built to fail them."""

from __future__ import annotations

import math
import time

import pytest

from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.training import TrainingConfig, train_denoiser

IDS = ["theorem5.fixed_point_shift", "corollary5_1.first_layer_formula", "finding3.rank_deviation",
       "theorem6.surrogate_bound", "trained.reference_mse"]


@pytest.fixture(scope="module")
def trained_results(ring, trained_ring):
    denoiser, _, _ = trained_ring
    started = time.perf_counter()
    results = check_denoiser(denoiser, ring, sigma=0.3, history_length=1, label="ring.pt", checks=IDS)
    print(f"\nfive checks in {time.perf_counter() - started:.2f}s")
    return {r.id: r for r in results}


def test_every_check_reports_its_numbers(trained_results):
    assert set(trained_results) == set(IDS)
    for r in trained_results.values():
        print(f"{r.id:<36} {r.verdict:<20} observed {r.observed} bound {r.bound} assumptions {r.assumptions}")
        assert r.verdict != "skipped" and r.tolerance and r.id in r.reproduce and r.n_cases > 0
        assert r.subject["model"] == "sensor-ring" and r.seed == 0
        r.to_json()                                              # serialisable


def test_theorem5_holds_on_the_trained_network(trained_results):
    r = trained_results["theorem5.fixed_point_shift"]
    assert r.verdict == "holds", r.details
    assert all(r.assumptions.values())
    assert r.details["slope_vs_eps"]["median"] == pytest.approx(2.0, abs=0.05)


def test_corollary5_1_fails_for_a_wide_first_layer(trained_results):
    r = trained_results["corollary5_1.first_layer_formula"]
    assert r.assumptions["first_layer_width_le_state_dim"] is False
    assert r.verdict == "outside-assumptions" and r.conclusion_holds is False
    assert r.observed > 0.5 and r.counterexample["first_layer_width"] == 256


def test_finding3_reports_rank_and_its_sensitivity(trained_results):
    r = trained_results["finding3.rank_deviation"]
    ranks = r.details["ranks"]
    assert all(0 <= k <= 4 for k in ranks)                       # rank J_+ <= |s| = 4
    assert set(r.details["rank_sensitivity"]) == {"0.1", "0.01", "0.001", "0.0001", "1e-06"}
    if len(set(ranks)) < 2:                                      # a constant rank cannot correlate
        assert r.verdict == "inconclusive" and r.assumptions["rank_varies"] is False
    else:
        assert r.ci is not None and r.ci[0] <= r.observed <= r.ci[1]


def test_theorem6_reports_degenerate_sets_and_all_three_comparisons(trained_results):
    r = trained_results["theorem6.surrogate_bound"]
    per = r.details["per_epsilon"]
    assert len(per) == 5
    assert per[0]["degenerate_sets"] > 0                         # tiny epsilon: sets of one repeated pair
    usable = [p for p in per if p["fraction_bounded_norm"] is not None]
    assert usable, per
    for p in usable:
        for key in ("fraction_bounded_norm", "fraction_bounded_sqrt", "fraction_bounded_squared"):
            assert 0.0 <= p[key] <= 1.0
    assert (r.verdict == "holds") == (r.observed < 0)


def test_reference_mse_holds_for_the_trained_network(trained_results):
    r = trained_results["trained.reference_mse"]
    print(r.observed, r.ci, r.details)
    assert r.verdict == "holds" and r.ci[1] <= 0.1


def test_exact_denoiser_skips_them_with_a_reason(ring):
    results = check_denoiser(ExactDenoiser(ring), ring, sigma=0.3, history_length=1, label="exact", checks=IDS)
    for r in results:
        assert r.verdict == "skipped"
        assert r.skipped_reason in ("needs a trained denoiser (exact is not one)",
                                    "needs a denoiser that accepts continuous histories (exact is not one)")


def test_checks_fail_where_they_should(ring):
    # an untrained network is far from f*; a width-4 first layer makes Corollary 5.1 exact
    config = TrainingConfig(history_length=1, sigma=0.3, samples=200, epochs=3, width=4, depth=2, seed=1, threads=1)
    narrow, _ = train_denoiser(ring, config)
    results = {r.id: r for r in check_denoiser(narrow, ring, sigma=0.3, history_length=1, label="narrow.pt",
                                               checks=["trained.reference_mse", "corollary5_1.first_layer_formula"])}
    bad = results["trained.reference_mse"]
    assert bad.verdict == "violated" and bad.counterexample is not None
    cor = results["corollary5_1.first_layer_formula"]
    assert cor.assumptions["first_layer_width_le_state_dim"] and cor.conclusion_holds is True
    assert cor.observed < 1e-8


def test_relu_network_is_outside_theorem5(ring):
    config = TrainingConfig(history_length=1, sigma=0.3, samples=200, epochs=3, width=32, depth=2,
                            activation="relu", seed=1, threads=1)
    relu, _ = train_denoiser(ring, config)
    (r,) = check_denoiser(relu, ring, sigma=0.3, history_length=1, label="relu.pt",
                          checks=["theorem5.fixed_point_shift"])
    assert r.assumptions["network_c2"] is False and r.verdict in ("outside-assumptions", "inconclusive")
    assert r.observed is None or math.isfinite(r.observed)


def test_noise_blind_denoiser_checked_at_another_sigma_is_outside_the_premise(ring, trained_ring):
    denoiser, _, _ = trained_ring
    (r,) = check_denoiser(denoiser, ring, sigma=0.5, history_length=1, label="ring.pt",
                          checks=["trained.reference_mse"])
    assert r.assumptions["sigma_is_training_sigma"] is False and r.verdict != "holds"
