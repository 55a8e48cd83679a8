"""Deliberately wrong variants of every derivation must fail `verify()`.

Each mutant is built through the module's `build(...)` keyword overrides (a flipped
sign, a dropped factor, a missing assumption), never by patching internals, and must
fail at the step that checks the mutated claim.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sympy as sp

from decdiff.theory import (
    composite_hull,
    corollary_5_1,
    critical_sigma,
    fixed_point_shift,
    jacobian,
    jensen_simplex,
    stability,
    support_algebra,
    surrogate_regression,
    tweedie,
)
from decdiff.theory.derivation import Derivation
from decdiff.theory.registry import all_derivations

Mutant = tuple[str, Callable[[], Derivation], str]

MUTANTS: list[Mutant] = [
    ("tweedie", lambda: tweedie.build(score=-tweedie.tweedie_score()), "score_identity"),
    ("tweedie", lambda: tweedie.build(minimiser=tweedie.m / 2), "first_order_condition"),
    ("jacobian", lambda: jacobian.build(jacobian=jacobian.covariance_entry() * jacobian.sigma),
     "jacobian_is_covariance"),
    ("jacobian", lambda: jacobian.build(gram_weight_sign=-1), "positive_semidefinite"),
    ("jacobian", lambda: jacobian.build(rank_states=4), "rank_null_vector"),
    ("stability", lambda: stability.build(nonhyperbolic_map=stability.y + stability.y**3),
     "nonhyperbolic_ratio_below_one"),
    ("stability", lambda: stability.build(exponent_shift=1), "schur_scaling"),
    ("critical_sigma", lambda: critical_sigma.build(
        sigma_of_u=critical_sigma.d / (2 * sp.cosh(critical_sigma.u))),
     "critical_sigma_closed_form"),
    ("critical_sigma", lambda: critical_sigma.build(log_r_of_u=-critical_sigma.LOG_R_OF_U),
     "saddle_node_fixed_point"),
    ("fixed_point_shift", lambda: fixed_point_shift.build(
        shift=(fixed_point_shift.identity + fixed_point_shift.J_y).inv()
        * fixed_point_shift.J_tau * fixed_point_shift.d_tau), "linearised_equation"),
    ("fixed_point_shift", lambda: fixed_point_shift.build(
        error_bound=2 * fixed_point_shift.ERROR_BOUND), "bound_composition"),
    ("corollary_5_1", lambda: corollary_5_1.build(width=3, state_dim=2), "right_inverse"),
    ("surrogate_regression", lambda: surrogate_regression.build(
        residual=2 * surrogate_regression.s_var - surrogate_regression.RESIDUAL),
     "complete_the_square"),
    ("support_algebra", lambda: support_algebra.build(final_step_observable=True),
     "dynamics_breaks_theorems_3_4"),
    ("composite_hull", lambda: composite_hull.build(
        local_map=lambda y, y_star, rate: y_star + rate * (y + y_star)), "barycentric_image"),
    ("jensen_simplex", lambda: jensen_simplex.build(expected_weight=1 / jensen_simplex.m),
     "expected_barycentric_weight"),
]


def test_every_derivation_has_a_mutant() -> None:
    assert {d.id for d in all_derivations()} <= {derivation_id for derivation_id, _, _ in MUTANTS}


@pytest.mark.parametrize(("derivation_id", "make", "step"), MUTANTS,
                         ids=[f"{d}-{s}" for d, _, s in MUTANTS])
def test_mutant_fails_at_the_mutated_step(derivation_id: str, make: Callable[[], Derivation],
                                          step: str) -> None:
    result = make().verify()
    assert result.derivation_id == derivation_id
    assert result.verdict in ("refuted", "failed")
    statuses = {s.name: s.status for s in result.steps}
    assert statuses[step] != "proved"
