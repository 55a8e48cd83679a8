"""Surrogate linear regression residual (paper Definition 5 / Eq. 15, Theorem 6 / Eq. 17).

Statement. For samples (tau_k, s_k), k = 1..N, with means tau_bar, s_bar and covariances
Sigma_s, Sigma_st = Sigma_ts^T, Sigma_t (invertible),

    min_{W, b} (1/N) sum_k ||s_k - W tau_k - b||^2 = Tr Sigma_s - Tr Sigma_st Sigma_t^{-1} Sigma_ts
                                                                          (Eq. 17, R_hat)

attained at b = s_bar - W tau_bar and W* = Sigma_st Sigma_t^{-1} (normal equations). The
anchored, summed, intercept-free residual of Eq. (15) (differences to an anchor sample
(tau, s) in M) is a different quantity: with delta_s = s - s_bar, delta_t = tau - tau_bar
and e = delta_s - W* delta_t (one output coordinate, scalar tau),

    R_15 = N (R_hat + e^2 / (1 + delta_t^2 / Sigma_t)) >= N R_hat,

equal only if the anchor lies on the fitted line. Finally R_hat = 0 whenever
N <= |tau| + 1 with affinely independent tau_k (an affine map interpolates the samples),
so Theorem 6's "D_phi < R_hat" would demand ||D_phi|| < 0: impossible.

The regression decouples over output coordinates (row r of W only enters coordinate r of
the residual), so one output coordinate is used throughout; N is symbolic, |tau| = 2 where
a matrix is needed, and the Eq. 15 / Eq. 17 relation is proved for scalar tau.
"""

from __future__ import annotations

from functools import partial

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, linearize_sums, unchanged

k, N = sp.symbols("k N", integer=True, positive=True)
x, a, b_, c_ = (sp.IndexedBase(name, real=True) for name in ("x", "a", "b", "c"))
x_bar, anchor = sp.symbols("xbar anchor", real=True)
anchor_s, anchor_t, s_bar, t_bar = sp.symbols("s tau s_bar tau_bar", real=True)
w1, w2 = sp.symbols("w1 w2", real=True)
s_var, s_t1, s_t2 = sp.symbols("Sigma_s Sigma_st1 Sigma_st2", real=True)
t11, t12, t22 = sp.symbols("Sigma_t11 Sigma_t12 Sigma_t22", real=True)
SIGMA_ST = sp.Matrix([[s_t1, s_t2]])
SIGMA_T = sp.Matrix([[t11, t12], [t12, t22]])
W = sp.Matrix([[w1, w2]])

#: Eq. (17): Tr Sigma_s - Tr Sigma_st Sigma_t^{-1} Sigma_ts (one output coordinate).
RESIDUAL = s_var - (SIGMA_ST * SIGMA_T.inv() * SIGMA_ST.T)[0]


def centred_objective(weights: sp.Matrix) -> sp.Expr:
    """Tr Sigma_s - 2 Tr(W Sigma_ts) + Tr(W Sigma_t W^T): the objective after b is optimal."""
    return s_var - 2 * (weights * SIGMA_ST.T)[0] + (weights * SIGMA_T * weights.T)[0]


def intercept_step() -> Step:
    """mean_k (x_k - c)^2 = mean_k (x_k - x_bar)^2 + (x_bar - c)^2, N symbolic."""
    rules = {sp.Sum(x[k], (k, 1, N)): N * x_bar}
    return Step("intercept_elimination",
                "mean (x_k - b)^2 = mean (x_k - x_bar)^2 + (x_bar - b)^2 with x_k = s_k - W "
                "tau_k: the optimal b is s_bar - W tau_bar and leaves the centred residual.",
                sp.Sum((x[k] - anchor) ** 2, (k, 1, N)) / N,
                sp.Sum((x[k] - x_bar) ** 2, (k, 1, N)) / N + (x_bar - anchor) ** 2,
                simplifier=partial(linearize_sums, rules=rules))


def moments_step() -> Step:
    """mean_k (a_k - w1 b_k - w2 c_k)^2 in terms of the second moments, N symbolic."""
    pairs = {"aa": (a, a), "ab": (a, b_), "ac": (a, c_), "bb": (b_, b_), "bc": (b_, c_),
             "cc": (c_, c_)}
    moment = {key: sp.Symbol(f"S_{key}") for key in pairs}
    rules = {sp.Sum(u[k] * v[k], (k, 1, N)): N * moment[key] for key, (u, v) in pairs.items()}
    rules.update({sp.Sum(u[k] ** 2, (k, 1, N)): N * moment[key]
                  for key, (u, v) in pairs.items() if u is v})
    expansion = (moment["aa"] - 2 * w1 * moment["ab"] - 2 * w2 * moment["ac"]
                 + w1**2 * moment["bb"] + 2 * w1 * w2 * moment["bc"] + w2**2 * moment["cc"])
    return Step("objective_in_moments",
                "The centred mean squared residual is Tr S_s - 2 Tr(W S_ts) + Tr(W S_t W^T).",
                sp.Sum((a[k] - w1 * b_[k] - w2 * c_[k]) ** 2, (k, 1, N)) / N, expansion,
                mode="fixed-size", reason="|tau| = 2 written out; N symbolic.",
                simplifier=partial(linearize_sums, rules=rules))


def normal_equation_steps(residual: sp.Expr) -> tuple[Step, ...]:
    """W* = Sigma_st Sigma_t^{-1} zeroes the gradient; completing the square gives Eq. 17."""
    optimum = SIGMA_ST * SIGMA_T.inv()
    gap = W - optimum
    reason = "|tau| = 2 with a symbolic symmetric Sigma_t; one output coordinate."
    return (
        Step("normal_equations", "The gradient in W vanishes at W* = Sigma_st Sigma_t^{-1}.",
             sp.Matrix([sp.diff(centred_objective(W), w) for w in (w1, w2)]).subs(
                 dict(zip((w1, w2), optimum))), sp.zeros(2, 1),
             mode="fixed-size", reason=reason),
        Step("complete_the_square",
             "Objective = R_hat + (W - W*) Sigma_t (W - W*)^T, so R_hat is the minimum.",
             centred_objective(W), residual + (gap * SIGMA_T * gap.T)[0],
             mode="fixed-size", reason=reason, simplifier=sp.cancel),
    )


def anchored_steps() -> tuple[Step, ...]:
    """Eq. 15 around an anchor versus Eq. 17 (scalar tau, one output coordinate)."""
    var_s, cov, var_t, d_s, d_t = sp.symbols("Sigma_s Sigma_st Sigma_t delta_s delta_t",
                                             real=True)
    var_t_pos = sp.Symbol("Sigma_t", positive=True)
    slope = cov / var_t
    anchored = (var_s + d_s**2) - (cov + d_s * d_t) ** 2 / (var_t + d_t**2)
    relation = var_s - cov**2 / var_t + (d_s - slope * d_t) ** 2 / (1 + d_t**2 / var_t)
    return (
        Step("anchored_moments",
             "mean (s - s_k)(tau - tau_k) = Sigma_st + delta_s delta_t (N symbolic).",
             sp.Sum((anchor_s - a[k]) * (anchor_t - b_[k]), (k, 1, N)) / N,
             sp.Sum((a[k] - s_bar) * (b_[k] - t_bar), (k, 1, N)) / N
             + (anchor_s - s_bar) * (anchor_t - t_bar),
             simplifier=partial(linearize_sums, rules={sp.Sum(a[k], (k, 1, N)): N * s_bar,
                                                       sp.Sum(b_[k], (k, 1, N)): N * t_bar})),
        Step("anchored_vs_centred",
             "R_15 / N = R_hat + e^2/(1 + delta_t^2/Sigma_t), e = delta_s - W* delta_t.",
             anchored, relation, mode="fixed-size", reason="Scalar tau (|tau| = 1).",
             simplifier=sp.cancel),
        Step("anchored_at_least_centred", "The extra term is a non-negative square ratio.",
             relation.subs(var_t, var_t_pos), (var_s - cov**2 / var_t).subs(var_t, var_t_pos),
             relation="ge", mode="fixed-size", reason="Scalar tau (|tau| = 1).",
             certificate=(d_s - cov / var_t_pos * d_t) ** 2 / (1 + d_t**2 / var_t_pos)),
    )


def sample_residuals(taus: list[sp.Expr], states: list[sp.Expr],
                     anchor_index: int = 0) -> tuple[sp.Expr, sp.Expr]:
    """(R_15, R_hat) for scalar tau and s: anchored sum versus centred mean."""
    n = len(taus)
    t_bar, s_bar = sum(taus) / n, sum(states) / n
    cov = sum((t - t_bar) * (s - s_bar) for t, s in zip(taus, states)) / n
    var_t = sum((t - t_bar) ** 2 for t in taus) / n
    var_s = sum((s - s_bar) ** 2 for s in states) / n
    d_t = [taus[anchor_index] - t for t in taus]
    d_s = [states[anchor_index] - s for s in states]
    r15 = sum(v * v for v in d_s) - sum(u * v for u, v in zip(d_t, d_s)) ** 2 / sum(
        u * u for u in d_t)
    return r15, var_s - cov**2 / var_t


#: The counterexample's set M = {(tau, s)}: two samples, |tau| = 1 (a tuple is (tau, s)).
_EXAMPLE_M = ((0, 3), (1, 5))


def interpolation_steps() -> tuple[Step, ...]:
    """N = |tau| + 1 affinely independent samples are fitted exactly: R_hat = 0."""
    t1, t2, s1, s2 = sp.symbols("tau1 tau2 s1 s2", real=True)
    r15, r_hat = sample_residuals([t1, t2], [s1, s2])
    design = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"tau{i + 1}_{j + 1}") if j < 2 else 1)
    targets = sp.Matrix(sp.symbols("s1:4"))
    coefficients = design.LUsolve(targets)
    example_r15, example_r_hat = sample_residuals(
        [sp.Integer(v) for v in (0, 1, 2)], [sp.Integer(v) for v in (0, 1, 0)])
    instance = {"mode": "instance", "role": "counterexample", "simplifier": unchanged,
                "reason": "A three-sample exact data set."}
    return (
        Step("two_samples_zero_residual", "N = 2, |tau| = 1: R_hat = 0 for any data.",
             r_hat, sp.Integer(0), mode="fixed-size", reason="|tau| = 1, N = 2."),
        Step("affine_interpolation",
             "N = 3, |tau| = 2, det[tau_k, 1] != 0: an affine map fits every s_k exactly.",
             design * coefficients, targets, mode="fixed-size",
             reason="|tau| = 2, N = 3 symbolic samples."),
        Step("two_samples_anchored_zero", "The anchored residual of Eq. 15 vanishes too.",
             r15, sp.Integer(0), mode="fixed-size", reason="|tau| = 1, N = 2."),
        Step("eq15_differs_from_eq17",
             "tau = (0, 1, 2), s = (0, 1, 0), anchor 0: R_15 = 4/5 but N R_hat = 2/3.",
             example_r15, 3 * example_r_hat, relation="ne", **instance),
    )


@fresh_sympy_cache
def build(residual: sp.Expr = RESIDUAL) -> Derivation:
    """The derivation; `residual` replaces the claimed closed form of Eq. 17."""
    steps = (intercept_step(), moments_step(), *normal_equation_steps(residual),
             *anchored_steps(), *interpolation_steps())
    return Derivation(
        id="surrogate_regression",
        claim="Theorem 6 (Eq. 17) and Definition 5 (Eq. 15)",
        statement=("min_{W,b} mean ||s - W tau - b||^2 = Tr Sigma_s - Tr Sigma_st Sigma_t^{-1} "
                   "Sigma_ts; Eq. 15's anchored sum equals N (R_hat + e^2/(1 + delta_t^2/"
                   "Sigma_t)) >= N R_hat; R_hat = 0 when |M| <= |tau| + 1 with affinely "
                   "independent tau, so 'D_phi < R_hat' cannot hold."),
        statement_latex=(r"\hat R=\min_{W,b}\tfrac1N\sum_k\|s_k-W\tau_k-b\|^2=\operatorname{Tr}"
                         r"\Sigma_s-\operatorname{Tr}\Sigma_{s\tau}\Sigma_\tau^{-1}\Sigma_{\tau s},"
                         r"\quad R_{15}=N\Big(\hat R+\frac{e^2}{1+\delta_\tau^2/\Sigma_\tau}\Big)"),
        symbols={"Sigma_s, Sigma_st, Sigma_t": "sample (co)variances of the N samples",
                 "W*": "Sigma_st Sigma_t^{-1}", "delta_s, delta_t": "anchor minus sample mean",
                 "e": "delta_s - W* delta_t", "N": "number of samples |M| (symbolic)"},
        assumptions=(
            Assumption("invertible_sigma_t", "Sigma_t is invertible (else use the "
                       "pseudo-inverse).", stated_in_paper=False),
            Assumption("enough_samples", "|M| > |tau| + 1 (otherwise R_hat = 0 and the bound "
                       "of Theorem 6 is violated trivially).", stated_in_paper=False),
            Assumption("same_residual", "Eq. 15 and Eq. 17 are read as the same residual; "
                       "they are not.", stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "Theorem 6: D_phi(tau, s) < R_hat(M)",
                        "M": "{(tau, s)} = {(0, 3), (1, 5)}", "R_hat": "0",
                        # two samples, |tau| = 1: not more than |tau| + 1 members; any network with a fixed point
                        "assumptions": {"nondegenerate_sets_exist": len(_EXAMPLE_M) > len(_EXAMPLE_M[0]) - 1 + 1,
                                        "fixed_points_found": True},
                        "refuting_steps": ["two_samples_zero_residual"],
                        "consequence": "||D_phi|| < 0 is impossible for any network",
                        "eq15_vs_eq17": {"tau": "(0, 1, 2)", "s": "(0, 1, 0)", "anchor": "0",
                                         "R_15": "4/5", "R_hat": "2/9"}},
    )


DERIVATION = build()
