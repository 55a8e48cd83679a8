"""Chain rule through a fully connected first layer (paper Corollary 5.1).

Statement. For f(tau, y) = g(act(W_tau tau + W_y y + b)) with an element-wise activation,
the chain rule gives df/dy = G D W_y and df/dtau = G D W_tau (G = Jacobian of g,
D = diag(act'(pre-activation))). Hence

    df/dtau = (df/dy) W_y^+ W_tau    whenever    W_y W_y^+ = I_h,

and then, with df/dy = U Lambda U^T symmetric, Eq. (14) becomes
Delta y* = U (I - Lambda)^{-1} Lambda U^T W_y^+ W_tau Delta tau. W_y is h x |s|;
W_y W_y^+ = I_h needs full row rank, i.e. width h <= |s|, and then
W_y^+ = W_y^T (W_y W_y^T)^{-1}. For h > |s|, W_y W_y^T is singular (the paper's formula
is undefined) and with the Moore-Penrose inverse the identity fails: for h = 2, |s| = 1
the exact sensitivity is 1 while the corollary predicts 0.

Checked with symbolic entries at fixed sizes (|s| = 3, h = 2, |tau| = 2, generic
activation; rotation U in 2-D) and the counterexample with exact rationals.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, rotation_2d, unchanged

act = sp.Function("act")
_x = sp.Symbol("x")


def _symbol_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i + 1}{j + 1}", real=True))


@dataclass(frozen=True)
class FirstLayerNet:
    """f = G act(W_tau tau + W_y y + b) with symbolic weights; `slopes` = act'(pre)."""

    f: sp.Matrix
    tau: sp.Matrix
    y: sp.Matrix
    w_y: sp.Matrix
    w_tau: sp.Matrix
    gain: sp.Matrix
    slopes: sp.Matrix


def first_layer_network(width: int, state_dim: int, history_dim: int) -> FirstLayerNet:
    """The network of Corollary 5.1 with a linear read-out G standing for g's Jacobian."""
    w_y, w_tau = _symbol_matrix("a", width, state_dim), _symbol_matrix("c", width, history_dim)
    gain, bias = _symbol_matrix("g", state_dim, width), _symbol_matrix("b", width, 1)
    tau, y = _symbol_matrix("tau", history_dim, 1), _symbol_matrix("y", state_dim, 1)
    pre = w_tau * tau + w_y * y + bias
    slopes = sp.diag(*[sp.diff(act(_x), _x).subs(_x, e) for e in pre])
    return FirstLayerNet(gain * pre.applyfunc(act), tau, y, w_y, w_tau, gain, slopes)


def moore_penrose(w_y: sp.Matrix) -> sp.Matrix:
    """Moore-Penrose inverse of a generic (full-rank) W_y: the paper's
    W_y^T (W_y W_y^T)^{-1} when h <= |s|, and (W_y^T W_y)^{-1} W_y^T when h > |s|."""
    rows, cols = w_y.shape
    return w_y.T * (w_y * w_y.T).inv() if rows <= cols else (w_y.T * w_y).inv() * w_y.T


def holding_steps(width: int, state_dim: int, history_dim: int = 2) -> tuple[Step, ...]:
    """Chain rule and the corollary's identity for symbolic weights of the given sizes."""
    net = first_layer_network(width, state_dim, history_dim)
    common = {"mode": "fixed-size", "simplifier": sp.cancel,
              "reason": f"Symbolic weights with |s| = {state_dim}, h = {width}, "
                        f"|tau| = {history_dim} and a generic activation; the identity only "
                        "uses W_y W_y^+ = I_h."}
    return (
        Step("chain_rule_y", "df/dy = G D W_y.", net.f.jacobian(net.y),
             net.gain * net.slopes * net.w_y, **common),
        Step("chain_rule_tau", "df/dtau = G D W_tau.", net.f.jacobian(net.tau),
             net.gain * net.slopes * net.w_tau, **common),
        Step("right_inverse", "W_y W_y^+ = I_h, true for full row rank (h <= |s|).",
             net.w_y * moore_penrose(net.w_y), sp.eye(width), **common),
        Step("corollary_identity", "(df/dy) W_y^+ W_tau = df/dtau.",
             net.f.jacobian(net.y) * moore_penrose(net.w_y) * net.w_tau,
             net.f.jacobian(net.tau), **common),
    )


def eigen_form_step() -> Step:
    """(I - J)^{-1} J = U (I - Lambda)^{-1} Lambda U^T for J = U Lambda U^T (2-D)."""
    l1, l2 = sp.symbols("lambda1 lambda2", real=True)
    rotation = rotation_2d()
    jac = rotation * sp.diag(l1, l2) * rotation.T
    return Step("eigen_form", "(I - J)^{-1} J = U (I - Lambda)^{-1} Lambda U^T.",
                (sp.eye(2) - jac).inv() * jac,
                rotation * sp.diag(l1 / (1 - l1), l2 / (1 - l2)) * rotation.T,
                mode="fixed-size", reason="2 x 2 symmetric J with a symbolic rotation U.",
                simplifier=sp.cancel)


def wide_gram_singular_step() -> Step:
    """det(W_y W_y^T) = 0 for every 3 x 2 W_y: the paper's W_y^+ does not exist."""
    w_y = _symbol_matrix("a", 3, 2)
    return Step("wide_gram_singular",
                "h = 3 > |s| = 2: det(W_y W_y^T) = 0 identically (rank <= |s| < h).",
                (w_y * w_y.T).det(), sp.Integer(0), mode="fixed-size",
                reason="Symbolic 3 x 2 W_y; in general rank(W_y W_y^T) <= |s| < h.",
                simplifier=sp.expand)


def _counterexample_network() -> tuple[sp.Expr, dict, sp.Matrix, sp.Matrix, sp.Symbol, sp.Symbol]:
    """h = 2, |s| = |tau| = 1, f = (1/2, 0) tanh(W_tau tau + W_y y), evaluated at (tau, y*) = (0, 0)."""
    tau, y = sp.symbols("tau y", real=True)
    w_y, w_tau = sp.Matrix([[1], [1]]), sp.Matrix([[1], [-1]])
    f = (sp.Matrix([[sp.Rational(1, 2), 0]]) * (w_tau * tau + w_y * y).applyfunc(sp.tanh))[0]
    return f, {tau: 0, y: 0}, w_y, w_tau, tau, y


def counterexample_assumptions() -> dict[str, bool]:
    """The counterexample's values of the assumptions the Corollary 5.1 check evaluates (same ids)."""
    f, point, w_y, _, _, y = _counterexample_network()
    j_y = sp.Matrix([[sp.diff(f, y).subs(point)]])
    return {"fixed_points_found": f.subs(point) == 0, "jacobian_symmetric": j_y == j_y.T,
            "jacobian_psd": all(v >= 0 for v in j_y.eigenvals()),
            "spectral_radius_below_1": all(abs(v) < 1 for v in j_y.eigenvals()),
            "first_layer_width_le_state_dim": w_y.shape[0] <= w_y.shape[1]}


def counterexample_steps() -> tuple[Step, ...]:
    """h = 2, |s| = |tau| = 1, f = (1/2, 0) tanh(W_tau tau + W_y y) at (tau, y*) = (0, 0)."""
    f, point, w_y, w_tau, tau, y = _counterexample_network()
    j_y, j_tau = sp.diff(f, y).subs(point), sp.diff(f, tau).subs(point)
    exact = j_tau / (1 - j_y)
    predicted = (j_y / (1 - j_y) * w_y.pinv() * w_tau)[0]
    reason = "A single exact network; the failure is structural for every h > |s|."
    common = {"mode": "instance", "role": "counterexample", "reason": reason,
              "simplifier": unchanged}
    return (
        Step("counterexample_fixed_point", "y* = 0 is a fixed point at tau = 0.",
             f.subs(point), sp.Integer(0), **common),
        Step("counterexample_gram_singular", "W_y W_y^T = [[1, 1], [1, 1]] is singular.",
             (w_y * w_y.T).det(), sp.Integer(0), **common),
        Step("counterexample_not_identity", "With the pseudo-inverse, W_y W_y^+ != I_2.",
             w_y * w_y.pinv(), sp.eye(2), relation="ne", **common),
        Step("counterexample_sensitivity",
             "Exact dy*/dtau = 1, the corollary's formula gives 0.",
             exact, predicted, relation="ne", **common),
    )


@fresh_sympy_cache
def build(width: int = 2, state_dim: int = 3) -> Derivation:
    """The derivation; `width` > `state_dim` drops the assumption the identity needs."""
    steps = (*holding_steps(width, state_dim), eigen_form_step(), wide_gram_singular_step(),
             *counterexample_steps())
    return Derivation(
        id="corollary_5_1",
        claim="Corollary 5.1",
        statement=("For f = g(act(W_tau tau + W_y y + b)): df/dtau = (df/dy) W_y^+ W_tau, and "
                   "Delta y* = U (I - Lambda)^{-1} Lambda U^T W_y^+ W_tau Delta tau, provided "
                   "the width h <= |s| (W_y of full row rank); false for h > |s|."),
        statement_latex=(r"h\le|s|:\ rac{\partial f}{\partial	au}=rac{\partial f}{\partial y}"
                         r"W_y^+W_	au,\ \Delta y^*pprox U(I-\Lambda)^{-1}\Lambda U^	op W_y^+"
                         r"W_	au\Delta	au,\ W_y^+=W_y^	op(W_yW_y^	op)^{-1}"),
        symbols={"W_y": "first-layer weights on y (h x |s|)",
                 "W_tau": "first-layer weights on tau (h x |tau|)", "h": "first-layer width",
                 "G": "Jacobian of the later layers g", "D": "diag(act'(pre-activation))",
                 "U, Lambda": "eigendecomposition of the symmetric df/dy"},
        assumptions=(
            Assumption("fully_connected_first_layer", "f = g(act(W_tau tau + W_y y + b))."),
            Assumption("symmetric_jacobian", "df/dy = U Lambda U^T, I - Lambda invertible."),
            Assumption("narrow_first_layer", "h <= |s| and W_y has full row rank, so that "
                       "W_y W_y^+ = I_h.", stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "Corollary 5.1 for width h > |s|", "h": 2, "state_dim": 1,
                        "W_y": "[[1], [1]]", "W_tau": "[[1], [-1]]",
                        "f": "(1/2) tanh(tau + y)", "fixed_point": "(tau, y*) = (0, 0)",
                        "exact_sensitivity": "1", "corollary_prediction": "0",
                        "assumptions": counterexample_assumptions(),
                        "refuting_steps": [s.name for s in steps if s.role == "counterexample"]},
    )


DERIVATION = build()
