"""Fixed-point stability (paper Theorem 2, Eq. 11).

Statement. Let y* = f(y*) with f twice continuously differentiable near y*, Jacobian
J = f'(y*) and spectral radius rho(J) < 1. Then y* is locally attracting: there is a
norm ||.||_* and a radius r0 > 0 with ||f(y) - y*||_* <= ((1 + q)/2) ||y - y*||_* for
||y - y*||_* <= r0, where q < 1 bounds ||J||_*, so the iteration (Eq. 7) converges
geometrically. For the exact denoiser J is symmetric (see `jacobian`), so the Euclidean
norm already has ||J||_2 = rho(J).

Proof. (1) Schur form J = U T U^H with T upper triangular, diagonal = eigenvalues. With
D = diag(1, delta, delta^2, ...), D^{-1} T D keeps the diagonal and multiplies entry
(i, j) by delta^(j - i), so its max-row-sum norm is <= rho + delta * beta (beta bounds the
off-diagonal row sums, delta <= 1); delta = (1 - rho)/(2 beta) gives q = (1 + rho)/2 < 1.
(2) Linearisation: e' = J e + r(e) with ||r(e)|| <= C ||e||^2, so for
||e|| <= (1 - q)/(2C), ||e'|| <= q||e|| + C||e||^2 <= ((1 + q)/2) ||e||.

The non-hyperbolic case rho = 1 is not decided by J: y -> y - y^3 has the single fixed
point 0 with f'(0) = 1 (so 0 is not in F_phi of Eq. 11) yet attracts every |y0| <= 1,
since f(y)/y = 1 - y^2 lies in [0, 1); y -> y + y^3 has the same Jacobian and repels.
"""

from __future__ import annotations

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache

y = sp.Symbol("y", real=True)
delta = sp.Symbol("delta", positive=True)
beta, C, gap = sp.symbols("beta C g", positive=True)
a, b = sp.symbols("a b", positive=True)
SIZE = 3

#: The paper's example of an attracting fixed point with spectral radius 1.
NONHYPERBOLIC_MAP = y - y**3


def schur_form() -> sp.Matrix:
    """A 3 x 3 upper-triangular matrix with symbolic eigenvalues and off-diagonal entries."""
    return sp.Matrix(SIZE, SIZE, lambda r, c: sp.Symbol(f"t{r + 1}{c + 1}") if r <= c else 0)


def scaled_schur_form(exponent_shift: int = 0) -> sp.Matrix:
    """Claimed D^{-1} T D: entry (i, j) scaled by delta^(j - i + exponent_shift)."""
    t = schur_form()
    return sp.Matrix(SIZE, SIZE, lambda r, c: t[r, c] * delta ** (c - r + exponent_shift)
                     if r < c else t[r, c])


def scaling_step(exponent_shift: int) -> Step:
    scaling = sp.diag(*[delta**p for p in range(SIZE)])
    return Step("schur_scaling",
                "D^{-1} T D multiplies the (i, j) entry of the Schur form by delta^(j-i).",
                scaling.inv() * schur_form() * scaling, scaled_schur_form(exponent_shift),
                mode="fixed-size", reason="3 x 3 Schur form with symbolic entries; the "
                "n x n case scales entry (i, j) by the same delta^(j - i).")


def norm_below_one_step() -> Step:
    """1 > rho + beta * delta with delta = (1 - rho)/(2 beta), rho = 1 - g."""
    rho = 1 - gap
    return Step("scaled_norm_below_one",
                "With delta = (1 - rho)/(2 beta) every row sum is <= (1 + rho)/2 < 1.",
                sp.Integer(1), rho + beta * (1 - rho) / (2 * beta), relation="gt",
                certificate=gap / 2)


def local_contraction_step() -> Step:
    """((1+q)/2) E - (q E + C E^2) >= 0 for E = t (1 - q)/(2C), t = a/(a+b) in (0, 1)."""
    q = 1 - gap
    t = a / (a + b)
    radius = t * (1 - q) / (2 * C)
    return Step("local_contraction",
                "||e|| <= (1 - q)/(2C) implies q||e|| + C||e||^2 <= ((1 + q)/2)||e||.",
                (1 + q) / 2 * radius, q * radius + C * radius**2, relation="ge",
                certificate=radius * gap / 2 * b / (a + b))


def nonhyperbolic_steps(mapping: sp.Expr) -> tuple[Step, ...]:
    """Fixed point 0 with derivative 1, attracting on [-1, 1]; y^2 = a/(a+b) in (0, 1)."""
    ratio = sp.cancel(mapping / y).subs(y**2, a / (a + b))
    return (
        Step("nonhyperbolic_fixed_points", "The map's only real fixed point is 0.",
             sp.solveset(mapping - y, y, sp.S.Reals), sp.FiniteSet(0)),
        Step("nonhyperbolic_derivative", "f'(0) = 1: spectral radius 1, so 0 is not in F_phi.",
             sp.diff(mapping, y).subs(y, 0), sp.Integer(1)),
        Step("nonhyperbolic_ratio_below_one", "f(y)/y < 1 for 0 < y^2 < 1 (and f(+-1) = 0).",
             sp.Integer(1), ratio, relation="gt"),
        Step("nonhyperbolic_ratio_nonnegative",
             "f(y)/y >= 0 for y^2 < 1: |y_n| decreases to the only fixed point, 0.",
             ratio, sp.Integer(0), relation="ge"),
        Step("repelling_twin_same_jacobian",
             "y + y^3 has f'(0) = 1 too but f(y)/y - 1 = y^2 > 0: the Jacobian cannot decide.",
             sp.cancel((y + y**3) / y).subs(y**2, a / (a + b)), sp.diff(y + y**3, y).subs(y, 0),
             relation="gt", role="counterexample"),
    )


@fresh_sympy_cache
def build(nonhyperbolic_map: sp.Expr = NONHYPERBOLIC_MAP, exponent_shift: int = 0) -> Derivation:
    """The derivation; the keyword arguments replace the claimed map or scaling."""
    steps = (scaling_step(exponent_shift), norm_below_one_step(), local_contraction_step(),
             *nonhyperbolic_steps(nonhyperbolic_map))
    return Derivation(
        id="stability",
        claim="Theorem 2, Eq. 11",
        statement=("A fixed point y* = f(y*) of a C^2 map with spectral radius rho(J) < 1 is "
                   "locally (geometrically) attracting. At rho(J) = 1 the Jacobian does not "
                   "decide: y -> y - y^3 attracts at 0 although |lambda_max| = 1, so F_phi "
                   "of Eq. 11 misses non-hyperbolic attractors."),
        statement_latex=(r"y^*=f(y^*),\ \rho(J_f(y^*))<1\Rightarrow\exists\,r_0,\|\cdot\|_*:\ "
                         r"\|y-y^*\|_*\le r_0\Rightarrow\|f(y)-y^*\|_*\le\tfrac{1+q}{2}"
                         r"\|y-y^*\|_*,\ q<1;\quad f(y)=y-y^3:\ f'(0)=1,\ y_n\to0"),
        symbols={"J": "Jacobian of f at y*", "rho": "spectral radius of J",
                 "T": "Schur form of J", "delta": "diagonal scaling", "beta":
                 "bound on the off-diagonal row sums of T", "C": "bound on the Taylor "
                 "remainder, ||r(e)|| <= C ||e||^2", "q": "norm of J in the scaled norm",
                 "g": "spectral gap 1 - rho (resp. 1 - q)"},
        assumptions=(
            Assumption("fixed_point", "y* = f(y*)."),
            Assumption("spectral_radius_below_one",
                       "rho(J) < 1; the paper writes |lambda_max| < 1, which for complex "
                       "eigenvalues must be read as the spectral radius."),
            Assumption("c2_map", "f is C^2 near y*, so the linearisation error is "
                       "O(||y - y*||^2).", stated_in_paper=False),
            Assumption("hyperbolic", "Equivalence of attractors and F_phi needs rho(J) != 1 "
                       "at every attractor.", stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "every attractor has |lambda_max| < 1 (Eq. 11 equivalence)",
                        "map": str(NONHYPERBOLIC_MAP), "fixed_point": "0",
                        "derivative_at_fixed_point": "1", "basin": "[-1, 1]"},
    )


DERIVATION = build()
