"""Fixed-point shift under a history change (paper Theorem 5, Eqs. 13-14).

Statement. Let y* = f(tau, y*) with J_y = df/dy and J_tau = df/dtau at (tau, y*) and
I - J_y invertible. Differentiating the fixed-point identity y*(tau) = f(tau, y*(tau))
gives (I - J_y) dy*/dtau = J_tau, so to first order

    Delta y* = (I - J_y)^{-1} J_tau Delta tau                          (Eqs. 13-14).

With the Taylor remainder R of f at (tau, y*), ||R|| <= (M/2) ||w||^2 for
w = (Delta tau, Delta y*), the exact shift is Delta y* = (I - J_y)^{-1}(J_tau Delta tau + R),
so Err = (I - J_y)^{-1} R. If J_y is symmetric with spectrum in [0, lambda_max],
lambda_max < 1, then ||(I - J_y)^{-1}||_2 <= 1/(1 - lambda_max); if moreover
m ||w|| <= ||Delta J|| < eps (a lower bound m on the Hessian's action, the paper's
reading of "m"), then ||Err|| <= M eps^2 / (2 (1 - lambda_max) m^2).

The norm bound needs the symmetry: for J = [[0, 3], [0, 0]] (rho(J) = 0) one has
||(I - J)^{-1}||_2^2 = (11 + 3 sqrt 13)/2 > 1 = (1/(1 - rho))^2.
"""

from __future__ import annotations

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, rotation_2d, unchanged

n = sp.Symbol("n", integer=True, positive=True)
h = sp.Symbol("h", integer=True, positive=True)
J_y = sp.MatrixSymbol("J_y", n, n)
J_tau = sp.MatrixSymbol("J_tau", n, h)
d_tau = sp.MatrixSymbol("Delta_tau", h, 1)
remainder = sp.MatrixSymbol("R", n, 1)
identity = sp.Identity(n)
M, eps, m_low = sp.symbols("M epsilon m", positive=True)
p, b = sp.symbols("p b", nonnegative=True)
a = sp.Symbol("a", positive=True)
q = sp.Symbol("q", positive=True)
lam_max = p / (p + q)
lam = lam_max * a / (a + b)

#: The claimed first-order shift of Eq. (13) and error bound of Theorem 5.
SHIFT = (identity - J_y).inv() * J_tau * d_tau
ERROR_BOUND = M * eps**2 / (2 * (1 - lam_max) * m_low**2)


def _matrix_simplify(expr: sp.MatrixExpr) -> sp.MatrixExpr:
    return sp.expand(expr).doit()


def implicit_differentiation_step() -> Step:
    """d/dtau [y(tau) - F(tau, y(tau))] = 0 solved for y'(tau), 2-D y, generic F."""
    tau, dummy = sp.Symbol("tau"), sp.Dummy("T")
    ys = [sp.Function(f"y{i}")(tau) for i in (1, 2)]
    fs = [sp.Function(f"F{i}") for i in (1, 2)]
    derivatives = [sp.diff(y_i, tau) for y_i in ys]
    equations = [sp.diff(ys[i] - fs[i](tau, *ys), tau) for i in range(2)]
    solution = sp.solve(equations, derivatives, dict=True)[0]
    jac_y = sp.Matrix(2, 2, lambda i, j: sp.diff(fs[i](tau, *ys), ys[j]))
    jac_tau = sp.Matrix(2, 1, lambda i, _: sp.diff(fs[i](dummy, *ys), dummy).subs(dummy, tau))
    return Step("implicit_differentiation",
                "Differentiating y = F(tau, y) for a generic C^1 map F (2-D y) gives "
                "y' = (I - J_y)^{-1} J_tau.",
                sp.Matrix([solution[dy] for dy in derivatives]),
                (sp.eye(2) - jac_y).inv() * jac_tau, mode="fixed-size",
                reason="Two generic component functions F1, F2; step "
                       "linearised_equation is the same for symbolic dimension n.")


def counterexample_step() -> Step:
    """A nilpotent non-symmetric J whose resolvent norm exceeds 1/(1 - rho(J))."""
    jac = sp.Matrix([[0, 3], [0, 0]])
    resolvent = (sp.eye(2) - jac).inv()
    norm_squared = max((resolvent.T * resolvent).eigenvals(), key=lambda e: float(e))
    rho = max(abs(e) for e in jac.eigenvals())
    return Step("nonsymmetric_counterexample",
                "J = [[0, 3], [0, 0]]: ||(I - J)^{-1}||_2^2 = (11 + 3 sqrt 13)/2 > "
                "(1/(1 - rho(J)))^2 = 1.",
                norm_squared, (1 / (1 - rho)) ** 2, relation="gt", mode="instance",
                role="counterexample", reason="A single exact 2 x 2 matrix.",
                simplifier=unchanged)


@fresh_sympy_cache
def build(shift: sp.MatrixExpr = SHIFT, error_bound: sp.Expr = ERROR_BOUND) -> Derivation:
    """The derivation; the keyword arguments replace the claimed shift and bound."""
    l1, l2 = sp.symbols("lambda1 lambda2", real=True)
    rotation = rotation_2d()
    steps = (
        Step("linearised_equation",
             "The claimed shift solves (I - J_y) Delta y = J_tau Delta tau (any n, h).",
             (identity - J_y) * shift, J_tau * d_tau, simplifier=_matrix_simplify),
        implicit_differentiation_step(),
        Step("error_is_resolvent_times_remainder",
             "Exact shift minus Eq. 13's shift equals (I - J_y)^{-1} R.",
             (identity - J_y).inv() * (J_tau * d_tau + remainder) - shift,
             (identity - J_y).inv() * remainder, simplifier=_matrix_simplify),
        Step("symmetric_resolvent",
             "J = U diag(l) U^T gives (I - J)^{-1} = U diag(1/(1 - l)) U^T: its 2-norm is "
             "max 1/(1 - l_i).",
             (sp.eye(2) - rotation * sp.diag(l1, l2) * rotation.T).inv(),
             rotation * sp.diag(1 / (1 - l1), 1 / (1 - l2)) * rotation.T,
             mode="fixed-size", reason="2 x 2 symmetric J with a symbolic rotation U.",
             simplifier=sp.cancel),
        Step("resolvent_eigenvalue_bound",
             "For 0 <= l <= lambda_max < 1: 1/(1 - l) <= 1/(1 - lambda_max).",
             1 / (1 - lam_max), 1 / (1 - lam), relation="ge",
             certificate=sp.factor(1 / (1 - lam_max) - 1 / (1 - lam))),
        Step("bound_composition",
             "||Err|| <= ||(I-J)^{-1}|| (M/2) ||w||^2 with ||w|| <= eps/m gives the bound.",
             1 / (1 - lam_max) * M / 2 * (eps / m_low) ** 2, error_bound),
        counterexample_step(),
    )
    return Derivation(
        id="fixed_point_shift",
        claim="Theorem 5, Eqs. 13-14",
        statement=("Delta y* = (I - df/dy)^{-1} df/dtau Delta tau + (I - df/dy)^{-1} R; for "
                   "symmetric df/dy with spectrum in [0, lambda_max], lambda_max < 1, and "
                   "m ||w|| <= ||Delta J|| < eps, ||Err|| <= M eps^2/(2 (1 - lambda_max) m^2)."),
        statement_latex=(r"\Delta y^*=(I-\partial_yf)^{-1}\partial_\tau f\,\Delta\tau+\mathrm{Err},"
                         r"\quad\|\mathrm{Err}\|\le\frac{M\varepsilon^2}{2(1-\lambda_{\max})m^2}"),
        symbols={"J_y": "df/dy at (tau, y*)", "J_tau": "df/dtau at (tau, y*)",
                 "R": "second-order Taylor remainder", "M": "upper bound on the Hessian norm",
                 "m": "lower bound on ||H w||/||w||", "eps": "bound on the Jacobian change",
                 "lambda_max": "largest eigenvalue of J_y (p/(p+q) in the proof)",
                 "n": "state dimension |s|", "h": "history dimension |tau|"},
        assumptions=(
            Assumption("c2_denoiser", "f is C^2 in (tau, y) with continuous tau.",
                       stated_in_paper=False),
            Assumption("invertible", "I - J_y is invertible (1 is not an eigenvalue).",
                       stated_in_paper=False),
            Assumption("hessian_bounds", "||Hessian|| <= M and ||H w|| >= m ||w||."),
            Assumption("symmetric_jacobian",
                       "J_y symmetric with spectrum in [0, lambda_max], lambda_max < 1 "
                       "(stated for Corollary 5.1 only; the norm bound needs it).",
                       stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "||(I - J)^{-1}|| <= 1/(1 - lambda_max) without symmetry",
                        "J": "[[0, 3], [0, 0]]", "spectral_radius": "0",
                        "norm_squared": "(11 + 3*sqrt(13))/2", "bound_squared": "1"},
    )


DERIVATION = build()
