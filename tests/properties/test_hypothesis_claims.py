"""On random models that satisfy each claim's assumptions, the exact denoiser's fixed-point checks hold.

Subjects (model, history length, sigma) come from `decdiff.properties.strategies`; the
number of examples follows the active hypothesis profile (`ci` by default, scaled down
because every example runs fixed-point searches). Each test asserts on every result
whose assumptions all hold, and `assume`s that at least one such result exists.
"""

from __future__ import annotations

from hypothesis import assume, given, settings

from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.properties.context import Budget
from decdiff.properties.hypothesis_profiles import scaled_examples
from decdiff.properties.strategies import sigmas, subjects

#: Small enough for a second per example, large enough for decided Monte-Carlo verdicts.
BUDGET = Budget(histories=16, starts=64, iterations=300, fixed_point_histories=6, fixed_point_work=2**14)
PER_HISTORY = ["theorem1.converged_diffusion", "theorem2.attractors_are_states", "finding1.single_fixed_point",
               "theorem4.posterior_recovery"]
SHARED = ["theorem3.shared_fixed_points", "theorem4.shared_fixed_points"]
SMALL = dict(max_agents=2, max_states=4, max_actions=2, max_observations=2)


def _results(subject, checks):
    model = subject.model
    return check_denoiser(ExactDenoiser(model), model, sigma=subject.sigma, history_length=subject.history_length,
                          checks=checks, label="exact", budget=BUDGET)


def _assert_holds_where_assumed(results) -> None:
    applicable = [r for r in results if r.verdict != "skipped" and all(r.assumptions.values())]
    assume(applicable)
    for r in applicable:
        assert r.verdict == "holds", (r.id, r.subject, r.observed, r.ci, r.counterexample)


@settings(max_examples=scaled_examples(8))
@given(subject=subjects(**SMALL, sigma=sigmas(0.05, 0.4)))
def test_per_history_claims_hold_below_sigma_c(subject):
    """Theorems 1, 2, Finding 1 and posterior recovery under p_sigma(y | tau), sigma below the certified sigma_c."""
    results = _results(subject, PER_HISTORY)
    assert [r.id for r in results if r.verdict == "skipped"] in ([], ["finding1.single_fixed_point"])
    _assert_holds_where_assumed(results)


@settings(max_examples=scaled_examples(8))
@given(subject=subjects(**SMALL, factored=True, action_observation=False, sigma=sigmas(0.05, 0.4)))
def test_shared_fixed_points_hold_under_their_assumptions(subject):
    """Theorems 3 and 4 in fixed-point form on factored models (per-step CO, one observation or static)."""
    _assert_holds_where_assumed(_results(subject, SHARED))
