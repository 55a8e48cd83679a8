"""All derivations in a fixed order (the order of the results in the paper)."""

from __future__ import annotations

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

MODULES = (tweedie, jacobian, stability, critical_sigma, fixed_point_shift, corollary_5_1,
           surrogate_regression, support_algebra, composite_hull, jensen_simplex)


def all_derivations() -> list[Derivation]:
    """One `Derivation` per result, in the paper's order."""
    return [module.DERIVATION for module in MODULES]
