"""Composite versus individual accuracy (paper Theorem 8, Eq. 18; docs/claims.md#theorem-8).

Statement (corrected). Let F_s = {y*_0, ..., y*_m} be affinely independent (so
m <= |s| and conv F_s is an m-simplex) and let y be uniform on conv F_s. The affine
bijection beta -> sum_j beta_j y*_j from the standard simplex has a constant Jacobian, so
the barycentric coordinates are Dirichlet(1, ..., 1); each beta_j has the Beta(1, m)
density m (1 - t)^(m - 1) and E[beta_j] = 1/(m + 1) = 1/|F_s|. Then, by the triangle
inequality and linearity,

    E ||y - s|| = E || sum_j beta_j (y*_j - s) || <= sum_j E[beta_j] ||y*_j - s||
                = (1/|F_s|) sum_j ||y*_j - s||                               (Eq. 18).

Proved for symbolic m and symbolic |F_s|. Without affine independence the uniform law on
the hull is not the image of Dirichlet(1, ..., 1) and Eq. 18 fails: in 1-D with s = 0 and
the 11 points 1/10, 1001/10000, ..., 1009/10000, 1, the uniform law on [1/10, 1] has
E|y| = 11/20 while the mean distance is 4009/22000.
"""

from __future__ import annotations

import sympy as sp

from decdiff.theory.composite_hull import cauchy_schwarz_step
from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, linearize_sums

m = sp.Symbol("m", integer=True, positive=True)
t = sp.Symbol("t", positive=True)
j, n_points = sp.symbols("j n", integer=True, positive=True)
dist = sp.IndexedBase("d", nonnegative=True)

#: E[beta_j] for the uniform law on an m-simplex.
EXPECTED_WEIGHT = 1 / (m + 1)
DEPENDENT_POINTS = (*(sp.Rational(1000 + i, 10000) for i in range(10)), sp.Integer(1))


def marginal_density() -> sp.Expr:
    """Beta(1, m) density of one barycentric coordinate under Dirichlet(1, ..., 1)."""
    return m * (1 - t) ** (m - 1)


def _integrate(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(sp.integrate(expr, (t, 0, 1), conds="none"))


def uniform_mean_distance(low: sp.Expr, high: sp.Expr) -> sp.Expr:
    """E|y| for y uniform on [low, high] with 0 <= low (s = 0)."""
    y = sp.Symbol("y", real=True)
    return sp.integrate(y, (y, low, high)) / (high - low)


def mean_distance(points: tuple[sp.Expr, ...]) -> sp.Expr:
    return sum(abs(point) for point in points) / len(points)


def simplex_steps(expected_weight: sp.Expr) -> tuple[Step, ...]:
    """Dirichlet(1, ..., 1) marginal, its mean, the triangle-area check and linearity."""
    x, y = sp.symbols("x y", nonnegative=True)
    triangle_mean = (sp.integrate(sp.integrate(x, (y, 0, 1 - x)), (x, 0, 1))
                     / sp.integrate(sp.integrate(1, (y, 0, 1 - x)), (x, 0, 1)))
    weight_of_n = expected_weight.subs(m, n_points - 1)
    return (
        Step("marginal_density_normalised", "int_0^1 m (1 - t)^(m-1) dt = 1 (symbolic m).",
             _integrate(marginal_density()), sp.Integer(1)),
        Step("expected_barycentric_weight", "E[beta_j] = int_0^1 t m (1 - t)^(m-1) dt.",
             _integrate(t * marginal_density()), expected_weight),
        Step("triangle_check", "On the triangle (m = 2) the mean of beta_1 is the claim at m=2.",
             triangle_mean, expected_weight.subs(m, 2), mode="fixed-size",
             reason="Direct double integral over the standard 2-simplex."),
        cauchy_schwarz_step(),
        Step("linearity",
             "sum_j E[beta_j] d_j = (1/n) sum_j d_j for n = m + 1 vertices (n symbolic).",
             sp.Sum(weight_of_n * dist[j], (j, 1, n_points)),
             sp.Sum(dist[j], (j, 1, n_points)) / n_points, simplifier=linearize_sums),
    )


def counterexample_steps() -> tuple[Step, ...]:
    """Spec Sec. 6.13: 11 affinely dependent points in 1-D; and an independent pair."""
    hull_mean = uniform_mean_distance(DEPENDENT_POINTS[0], DEPENDENT_POINTS[-1])
    common = {"mode": "instance", "role": "counterexample",
              "reason": "The spec's exact 1-D example (11 agents)."}
    pair = (DEPENDENT_POINTS[0], DEPENDENT_POINTS[-1])
    return (
        Step("dependent_hull_mean", "Uniform on [1/10, 1]: E|y - 0| = 11/20.",
             hull_mean, sp.Rational(11, 20), **common),
        Step("dependent_mean_distance", "Mean of the 11 distances = 4009/22000.",
             mean_distance(DEPENDENT_POINTS), sp.Rational(4009, 22000), **common),
        Step("dependent_violates_eq18", "11/20 > 4009/22000: Eq. 18 fails.",
             hull_mean, mean_distance(DEPENDENT_POINTS), relation="gt", **common),
        Step("independent_pair_holds", "For the affinely independent pair {1/10, 1}, "
             "Eq. 18 holds (with equality: s lies outside the hull).",
             mean_distance(pair), uniform_mean_distance(*pair), relation="ge",
             mode="instance", role="example", reason="Two of the 1-D points."),
    )


@fresh_sympy_cache
def build(expected_weight: sp.Expr = EXPECTED_WEIGHT) -> Derivation:
    """The derivation; `expected_weight` replaces the claimed E[beta_j]."""
    steps = (*simplex_steps(expected_weight), *counterexample_steps())
    return Derivation(
        id="jensen_simplex",
        claim="Theorem 8, Eq. 18",
        statement=("For y uniform on the simplex conv F_s with affinely independent F_s, "
                   "E||y - s|| <= (1/|F_s|) sum_i ||y*_i - s||; false for affinely dependent "
                   "F_s."),
        statement_latex=(r"y\sim\mathcal U(\operatorname{conv}F_s),\ F_s\text{ affinely "
                         r"independent}\Rightarrow\mathbb E\|y-s\|\le\frac{1}{|F_s|}\sum_{y_i^*"
                         r"\in F_s}\|y_i^*-s\|,\quad\mathbb E[\beta_j]=\frac{1}{m+1}"),
        symbols={"F_s": "the agents' fixed points near s (m + 1 of them)",
                 "beta_j": "barycentric coordinates of y", "m": "simplex dimension",
                 "d_j": "||y*_j - s||", "n": "|F_s| = m + 1 (symbolic)"},
        assumptions=(
            Assumption("uniform_final_iterate", "y^(L) is uniform on conv F_s."),
            Assumption("affinely_independent", "F_s is affinely independent (|F_s| <= |s| + 1).",
                       stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "Eq. 18 for affinely dependent F_s", "s": "0",
                        "F_s": "1/10, 1001/10000, ..., 1009/10000, 1 (11 points, 1-D)",
                        "E_uniform_hull": "11/20", "mean_distance": "4009/22000"},
    )


DERIVATION = build()
