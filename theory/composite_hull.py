"""Composite diffusion stays near the true state (paper Theorem 7; docs/claims.md#theorem-7).

Statement (corrected). If every agent's local denoiser is an isotropic contraction
f_i(y) = y*_i + lambda_i (y - y*_i), lambda_i in [0, 1), then f_i(y) =
lambda_i y + (1 - lambda_i) y*_i is a convex combination, so H = conv{y*_j} is invariant
under every f_i and the composite limit cycle (the limit of iterates started in H)
lies in H. For z = sum_j beta_j y*_j in H, ||z - s|| <= sum_j beta_j ||y*_j - s||
<= max_j ||y*_j - s|| (triangle inequality, proved via Lagrange's identity).

Without isotropy the claim fails even when both Step-2 checks pass: with s = 0,
a = (1/10, 0), b = -a, A = (99/100) u u^T, B = (99/100) v v^T, u at 60 and v at 120
degrees, the composite 2-cycle is z = (+-1/505, -99 sqrt(3)/1010): off the segment [a, b],
at distance 0.1698 > max D = 1/10, while ||z - a||, ||z - b|| < 2 D (check 2) and
spec(A) = spec(B) = {0, 99/100} (check 1). The checks only guarantee ||z - s|| < 3 D_bar.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, unchanged

Map = Callable[[sp.Expr, sp.Expr, sp.Expr], sp.Expr]
p, q = sp.symbols("p q", positive=True)
lam = p / (p + q)
_mass = sp.symbols("c1:4", positive=True)
BETA = tuple(c / sum(_mass) for c in _mass)
vertices = sp.symbols("ystar1:4", real=True)
D_bar, gap1 = sp.symbols("Dbar g1", positive=True)
gap2 = sp.Symbol("g2", nonnegative=True)


def isotropic_map(y: sp.Expr, y_star: sp.Expr, rate: sp.Expr) -> sp.Expr:
    """f_i(y) = y*_i + lambda_i (y - y*_i), one coordinate."""
    return y_star + rate * (y - y_star)


def hull_steps(local_map: Map) -> tuple[Step, ...]:
    """f_1 maps conv{y*_1, y*_2, y*_3} into itself: new barycentric weights are valid."""
    point = sum(b * v for b, v in zip(BETA, vertices))
    new_weights = (lam * BETA[0] + 1 - lam, lam * BETA[1], lam * BETA[2])
    reason = ("Three vertices, one symbolic coordinate (the map acts coordinatewise); "
              "more vertices only add terms lambda beta_j.")
    return (
        Step("barycentric_image",
             "f_1(sum_j beta_j y*_j) = sum_j beta'_j y*_j with beta'_1 = lambda beta_1 + 1 - "
             "lambda, beta'_j = lambda beta_j.",
             local_map(point, vertices[0], lam), sum(b * v for b, v in zip(new_weights, vertices)),
             mode="fixed-size", reason=reason),
        Step("weights_sum_to_one", "sum_j beta'_j = 1.", sum(new_weights), sp.Integer(1),
             mode="fixed-size", reason=reason),
        Step("weights_nonnegative",
             "beta'_1 = lambda beta_1 + (1 - lambda) >= 0 for lambda in [0, 1).",
             new_weights[0], sp.Integer(0), relation="ge",
             certificate=lam * BETA[0] + q / (p + q), mode="fixed-size", reason=reason),
    )


def cauchy_schwarz_step() -> Step:
    """||x||^2 ||y||^2 - (x.y)^2 = sum_{i<j} (x_i y_j - x_j y_i)^2 >= 0 in R^3."""
    x, y = sp.symbols("x1:4", real=True), sp.symbols("y1:4", real=True)
    dot = sum(a * b for a, b in zip(x, y))
    lagrange = sum((x[i] * y[j] - x[j] * y[i]) ** 2 for i in range(3) for j in range(i + 1, 3))
    return Step("cauchy_schwarz",
                "||x||^2 ||y||^2 - (x.y)^2 = sum_{i<j} (x_i y_j - x_j y_i)^2 >= 0, hence "
                "||x + y|| <= ||x|| + ||y||.",
                sum(a * a for a in x) * sum(b * b for b in y) - dot**2, sp.Integer(0),
                relation="ge", certificate=lagrange, mode="fixed-size",
                reason="Three-dimensional vectors with symbolic entries.", simplifier=sp.expand)


def norm_steps() -> tuple[Step, ...]:
    """Triangle inequality and the convex-combination and 3 D_bar bounds."""
    slack = sp.symbols("e1:4", nonnegative=True)
    return (
        cauchy_schwarz_step(),
        Step("convex_combination_bound",
             "With d_j = Dmax - e_j (e_j >= 0): Dmax - sum_j beta_j d_j = sum_j beta_j e_j.",
             D_bar, sum(b * (D_bar - e) for b, e in zip(BETA, slack)), relation="ge",
             certificate=sum(b * e for b, e in zip(BETA, slack)), mode="fixed-size",
             reason="Three vertices; the identity is linear in their number.",
             simplifier=sp.cancel),
        Step("checks_give_three_dbar",
             "||z - y*_i|| = 2 Dbar - g1 < 2 Dbar and ||y*_i - s|| = Dbar - g2 <= Dbar give "
             "||z - s|| < 3 Dbar.",
             3 * D_bar, (2 * D_bar - gap1) + (D_bar - gap2), relation="gt",
             certificate=gap1 + gap2),
    )


def anisotropic_cycle() -> dict[str, sp.Matrix]:
    """The spec's Sec. 6.12 instance and its exact composite 2-cycle."""
    rate, root3 = sp.Rational(99, 100), sp.sqrt(3)
    u, v = sp.Matrix([sp.Rational(1, 2), root3 / 2]), sp.Matrix([-sp.Rational(1, 2), root3 / 2])
    a = sp.Matrix([sp.Rational(1, 10), 0])
    jac_a, jac_b = rate * u * u.T, rate * v * v.T
    cycle = (sp.eye(2) - jac_a * jac_b).solve(a - jac_a * a + jac_a * (-a - jac_b * -a))
    return {"a": a, "b": -a, "A": jac_a, "B": jac_b, "z1": cycle.applyfunc(sp.radsimp)}


def anisotropic_steps() -> tuple[Step, ...]:
    """Both Step-2 checks pass, yet the cycle leaves the hull and exceeds max D."""
    data = anisotropic_cycle()
    a, b, jac_a, jac_b, z1 = (data[key] for key in ("a", "b", "A", "B", "z1"))
    z2 = b + jac_b * (z1 - b)
    max_d2 = sp.Rational(1, 100)
    common = {"mode": "instance", "role": "counterexample", "simplifier": unchanged,
              "reason": "The spec's exact anisotropic instance (c = 99/100, 60 and 120 deg)."}
    return (
        Step("check1_spectrum", "spec(A) = spec(B) = {0, 99/100}: check (1) passes.",
             sp.FiniteSet(*jac_a.eigenvals(), *jac_b.eigenvals()),
             sp.FiniteSet(0, sp.Rational(99, 100)), **common),
        Step("two_cycle", "z1 = f_1(f_2(z1)) with z2 = f_2(z1).",
             a + jac_a * (z2 - a), z1, **{**common, "simplifier": sp.radsimp}),
        Step("check2_near_a", "||z1 - a||^2 < (2 D)^2.", 4 * max_d2,
             (z1 - a).dot(z1 - a), relation="gt", **common),
        Step("check2_near_b", "||z1 - b||^2 < (2 D)^2.", 4 * max_d2,
             (z1 - b).dot(z1 - b), relation="gt", **common),
        Step("outside_hull", "z1 has a non-zero second coordinate: off the segment [a, b].",
             z1[1], sp.Integer(0), relation="ne", **common),
        Step("error_exceeds_max_d", "||z1 - s||^2 > (max D)^2 = 1/100.",
             z1.dot(z1), max_d2, relation="gt", **common),
        Step("error_within_three_dbar", "||z1 - s||^2 < (3 D)^2, as the checks guarantee.",
             9 * max_d2, z1.dot(z1), relation="gt", **{**common, "role": "example"}),
    )


@fresh_sympy_cache
def build(local_map: Map = isotropic_map) -> Derivation:
    """The derivation; `local_map` replaces the claimed isotropic contraction."""
    steps = (*hull_steps(local_map), *norm_steps(), *anisotropic_steps())
    return Derivation(
        id="composite_hull",
        claim="Theorem 7",
        statement=("Composites of isotropic contractions f_i(y) = y*_i + lambda_i (y - y*_i), "
                   "lambda_i in [0, 1), keep conv{y*_i} invariant, so the limit cycle is within "
                   "max_i ||y*_i - s|| of s. With anisotropic Jacobians this fails although both "
                   "Step-2 checks pass; the checks only give ||z - s|| < 3 D_bar."),
        statement_latex=(r"f_i(y)=y_i^*+\lambda_i(y-y_i^*),\ \lambda_i\in[0,1)\Rightarrow f_i("
                         r"\operatorname{conv}\{y_j^*\})\subseteq\operatorname{conv}\{y_j^*\},\ "
                         r"\|z-s\|\le\max_i\|y_i^*-s\|;\quad\text{checks}\Rightarrow"
                         r"\|z-s\|<3\bar D"),
        symbols={"y*_i": "agent i's fixed point near s", "lambda_i": "contraction rate "
                 "(p/(p+q) in the proof)", "beta_j": "barycentric coordinates c_j / sum(c)",
                 "D_bar": "bound on the deviations ||y*_i - s||", "z": "composite-cycle point"},
        assumptions=(
            Assumption("isotropic_local_maps", "Each f_i is y*_i + lambda_i (y - y*_i) near s.",
                       stated_in_paper=False),
            Assumption("step2_checks", "The last iterates pass checks (1) and (2) of Sec. 5.1."),
            Assumption("collective_observability", "The agents' fixed points near s exist."),
        ),
        steps=steps,
        counterexample={"claim": "Theorem 7's convex hull and max-D bound",
                        "s": "(0, 0)", "a": "(1/10, 0)", "b": "(-1/10, 0)",
                        "A": "(99/100) u u^T, u = (1/2, sqrt(3)/2)",
                        "B": "(99/100) v v^T, v = (-1/2, sqrt(3)/2)",
                        "cycle": "(1/505, -99*sqrt(3)/1010), (-1/505, -99*sqrt(3)/1010)",
                        "error": "0.16979", "max_D": "1/10"},
    )


DERIVATION = build()
