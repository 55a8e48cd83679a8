"""Critical noise level of two states (docs/claims.md#critical-sigma; conditions of Theorems 1-2).

Setting. Two states at distance d with posterior weights pi_major and
pi_minor = r * pi_major, 0 < r <= 1. Put the major state at 0 and the minor one at d e
(||e|| = 1) and write y = x d e + z with z orthogonal to e. The exact denoiser maps y to
g(x) d e with the minor-state weight

    g(x) = 1 / (1 + (1/r) exp(a (1/2 - x))),     a = d^2 / sigma^2,

independent of z, so fixed points lie on the segment and solve g(x) = x, with
g'(x) = a g (1 - g) (also the only non-zero eigenvalue of J = Cov/sigma^2).

Statement. (i) Saddle-node: g(x) = x and g'(x) = 1 hold together exactly on the curve
parametrised by u in R:

    x = 1/(1 + e^u),   d^2/sigma^2 = 4 cosh^2(u/2),   ln r = sinh(u) - u,

so sigma_c(d, r) = d / (2 cosh(u_r / 2)) where u_r <= 0 is the unique root of
sinh(u) - u = ln r (the left side is increasing: its derivative is 2 sinh^2(u/2)). It
has no elementary inverse, so `critical_sigma` solves it numerically. (ii) For r = 1 the
root is u = 0 and sigma_c = d/2 (a pitchfork, g(1 - x) = 1 - g(x)). (iii) For
sigma >= d/2 (a <= 4) g' <= 1 everywhere, so there is exactly one fixed point (x = 1/2
when r = 1). (iv) For r < 1 the minor state's stable fixed point exists iff
h(x_+) = g(x_+) - x_+ > 0 at the local maximum x_+ of h(x) = g(x) - x, i.e. iff
sigma < sigma_c(d, r); this is checked exactly on both sides of sigma_c(1, 1/4).
"""

from __future__ import annotations

import math

import sympy as sp
from scipy.optimize import brentq

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, unchanged

x, z, u = sp.symbols("x z u", real=True)
d, sigma, r, a = sp.symbols("d sigma r a", positive=True)
p, q = sp.symbols("p q", positive=True)
G = sp.Symbol("G", real=True)

X_OF_U = 1 / (1 + sp.exp(u))
A_OF_U = 4 * sp.cosh(u / 2) ** 2
LOG_R_OF_U = sp.sinh(u) - u
SIGMA_OF_U = d / (2 * sp.cosh(u / 2))

#: Example instance for the two-sided existence check: d = 1, r = 1/4.
EXAMPLE_R = sp.Rational(1, 4)


def critical_sigma(d: float, r: float) -> float:
    """sigma_c(d, r) = d / (2 cosh(u/2)) with sinh(u) - u = ln r, u <= 0.

    Below sigma_c the minor state (weight ratio r = pi_minor/pi_major in (0, 1]) of two
    states at distance d keeps a stable fixed point; at sigma_c it disappears in a
    saddle-node bifurcation (a pitchfork at r = 1, where sigma_c = d/2).
    """
    if not d > 0 or not 0 < r <= 1:
        raise ValueError(f"need d > 0 and 0 < r <= 1, got d={d}, r={r}")
    log_r = math.log(r)
    if log_r == 0.0:
        return d / 2
    lower = -(math.asinh(-2 * log_r) + 2)
    root = brentq(lambda t: math.sinh(t) - t - log_r, lower, 0.0, xtol=1e-15, rtol=1e-15)
    return d / (2 * math.cosh(root / 2))


def minor_weight(ratio: sp.Expr = r, coupling: sp.Expr = a) -> sp.Expr:
    """g(x) = 1/(1 + (1/r) exp(a (1/2 - x)))."""
    return 1 / (1 + sp.exp(coupling * (sp.Rational(1, 2) - x)) / ratio)


def _rewrite_simplify(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(expr.rewrite(sp.exp))


def reduction_step() -> Step:
    """Bayes weight of the minor state at y = x d e + z equals g(x) with a = d^2/sigma^2."""
    def kernel(offset: sp.Expr) -> sp.Expr:
        return sp.exp(-(offset**2 * d**2 + z**2) / (2 * sigma**2))
    posterior = r * kernel(x - 1) / (kernel(x) + r * kernel(x - 1))
    return Step("one_dimensional_reduction",
                "The minor state's posterior weight depends only on x: it is g(x).",
                posterior, minor_weight(coupling=d**2 / sigma**2))


def saddle_node_steps(log_r_of_u: sp.Expr, sigma_of_u: sp.Expr) -> tuple[Step, ...]:
    """g(x) = x and g'(x) = 1 on the parametrised curve; sigma_c from a = d^2/sigma^2."""
    on_curve = {x: X_OF_U, a: A_OF_U, r: sp.exp(log_r_of_u)}
    g = minor_weight()
    return (
        Step("derivative", "g'(x) = a g (1 - g).", sp.diff(g, x), a * g * (1 - g)),
        Step("saddle_node_fixed_point", "On the curve, g(x) = x.",
             g.subs(on_curve), X_OF_U, simplifier=_rewrite_simplify),
        Step("saddle_node_tangency", "On the curve, g'(x) = a x (1 - x) = 1.",
             (a * x * (1 - x)).subs(on_curve), sp.Integer(1), simplifier=_rewrite_simplify),
        Step("critical_sigma_closed_form", "sigma_c = d/sqrt(a) = d/(2 cosh(u/2)).",
             d / sp.sqrt(A_OF_U), sigma_of_u, simplifier=_rewrite_simplify),
        Step("monotone_parameter",
             "d/du (sinh u - u) = 2 sinh^2(u/2) >= 0: one u per r, u <= 0 iff r <= 1.",
             sp.diff(LOG_R_OF_U, u), sp.Integer(0), relation="ge",
             certificate=2 * sp.sinh(u / 2) ** 2, simplifier=_rewrite_simplify),
        Step("pitchfork_parameter", "r = 1 (ln r = 0) is reached at u = 0.",
             log_r_of_u.subs(u, 0), sp.Integer(0)),
        Step("pitchfork_sigma", "At u = 0, sigma_c = d/2 (docs/claims.md#critical-sigma).",
             sigma_of_u.subs(u, 0), d / 2),
        Step("pitchfork_symmetry", "For r = 1, g(1 - x) = 1 - g(x): attractors pair up.",
             minor_weight(ratio=sp.Integer(1)).subs(x, 1 - x),
             1 - minor_weight(ratio=sp.Integer(1))),
    )


def unique_fixed_point_step() -> Step:
    """For a = 4 p/(p + q) <= 4: 1 - a G(1 - G) = q/(p+q) + a (G - 1/2)^2 >= 0."""
    coupling = 4 * p / (p + q)
    return Step("unique_fixed_point_for_large_sigma",
                "sigma >= d/2 (a <= 4) gives g' <= 1, so g(x) - x is non-increasing and "
                "has exactly one zero.",
                sp.Integer(1), coupling * G * (1 - G), relation="ge",
                certificate=q / (p + q) + coupling * (G - sp.Rational(1, 2)) ** 2)


def excess_at_local_max(coupling: sp.Expr, ratio: sp.Expr) -> sp.Expr:
    """h(x_+) = g(x_+) - x_+ where g(x_+) = (1 + sqrt(1 - 4/a))/2 (needs a > 4)."""
    g_plus = (1 + sp.sqrt(1 - 4 / coupling)) / 2
    x_plus = sp.Rational(1, 2) - sp.log(ratio * (1 - g_plus) / g_plus) / coupling
    return g_plus - x_plus


def _rational(value: float) -> sp.Rational:
    return sp.Rational(f"{value:.6f}")


def instance_steps() -> tuple[Step, ...]:
    """Exact checks at d = 1: docs/claims.md#critical-sigma's numbers and both sides of sigma_c(1, 1/4)."""
    on_instance = {"mode": "instance", "simplifier": unchanged,
                   "reason": "sinh(u) - u = ln r has no closed-form inverse, so sigma_c(1, 1/4) "
                             "is evaluated numerically and the existence claim is checked "
                             "exactly on rational sigma on either side of it."}
    example = {"mode": "instance", "role": "example", "simplifier": unchanged,
               "reason": "The spec's example numbers (d = 1, equal weights)."}
    sigma_c = critical_sigma(1.0, float(EXAMPLE_R))
    u_root = sp.nsolve(LOG_R_OF_U - sp.log(EXAMPLE_R), u, -1.9, prec=40)
    reference = SIGMA_OF_U.subs({d: 1, u: u_root})
    g_045 = minor_weight(ratio=sp.Integer(1), coupling=1 / sp.Rational(9, 20) ** 2)
    excess = {s: excess_at_local_max(1 / s**2, EXAMPLE_R)
              for s in (_rational(0.98 * sigma_c), _rational(1.02 * sigma_c))}
    (below, h_below), (above, h_above) = excess.items()
    return (
        Step("numeric_function_matches", "critical_sigma(1, 1/4) agrees with a 40-digit "
             "root of the closed form to 1e-12.", sp.Rational(1, 10**12),
             sp.Abs(sp.Float(sigma_c, 17) - reference), relation="gt", **on_instance),
        Step("minor_attractor_below", f"sigma = {below} < sigma_c: h(x_+) > 0, the minor "
             "state's stable fixed point exists.", h_below, sp.Integer(0), relation="gt",
             **on_instance),
        Step("no_minor_attractor_above", f"sigma = {above} > sigma_c: h(x_+) < 0, it is "
             "gone.", sp.Integer(0), h_above, relation="gt", **on_instance),
        Step("example_attractor_0152", "sigma = 0.45, r = 1: g(x) - x changes sign on "
             "[0.151, 0.153] (attractors 0.152 and, by symmetry, 0.848).", sp.Integer(0),
             ((g_045 - x).subs(x, sp.Rational(151, 1000)) *
              (g_045 - x).subs(x, sp.Rational(153, 1000))),
             relation="gt", **example),
        Step("example_attractor_0152_stable", "g' < 1 on that bracket: the point attracts.",
             sp.Integer(1), (x / sp.Rational(9, 20) ** 2 * (1 - x)).subs(
                 x, g_045.subs(x, sp.Rational(153, 1000))),
             relation="gt", **example),
        Step("example_single_attractor_055", "sigma = 0.55 >= d/2: a = d^2/sigma^2 <= 4, so "
             "0.5 is the only fixed point.", sp.Integer(4), 1 / sp.Rational(11, 20) ** 2,
             relation="ge", **example),
    )


@fresh_sympy_cache
def build(log_r_of_u: sp.Expr = LOG_R_OF_U, sigma_of_u: sp.Expr = SIGMA_OF_U) -> Derivation:
    """The derivation; the keyword arguments replace the claimed parametrisation."""
    steps = (reduction_step(), *saddle_node_steps(log_r_of_u, sigma_of_u),
             unique_fixed_point_step(), *instance_steps())
    return Derivation(
        id="critical_sigma",
        claim="Theorems 1-2 need sigma < sigma_c (docs/claims.md#critical-sigma)",
        statement=("For two states at distance d with weight ratio r = pi_minor/pi_major in "
                   "(0, 1], the minor state keeps a stable fixed point of the exact denoiser "
                   "iff sigma < sigma_c(d, r) = d/(2 cosh(u_r/2)), sinh(u_r) - u_r = ln r; "
                   "sigma_c(d, 1) = d/2."),
        statement_latex=(r"\sigma_c(d,r)=\frac{d}{2\cosh(u_r/2)},\quad \sinh u_r-u_r=\ln r,"
                         r"\quad g(x)=\Big(1+r^{-1}e^{\frac{d^2}{\sigma^2}(\frac12-x)}\Big)^{-1}"
                         r",\ g(x)=x,\ g'(x)=1\iff x=\tfrac{1}{1+e^{u}},\ \tfrac{d^2}{\sigma^2}="
                         r"4\cosh^2\tfrac u2"),
        symbols={"d": "distance between the two states", "r": "pi_minor / pi_major",
                 "x": "position on the segment (0 = major, 1 = minor state)",
                 "a": "d^2 / sigma^2", "u": "bifurcation-curve parameter, x = 1/(1+e^u)",
                 "g": "minor-state posterior weight along the segment"},
        assumptions=(
            Assumption("exact_denoiser", "f = f* at a single fixed sigma (Eq. 7 iteration)."),
            Assumption("two_states", "The posterior support has exactly two states.",
                       stated_in_paper=False),
            Assumption("small_sigma", "Theorems 1-2 implicitly need sigma < sigma_c.",
                       stated_in_paper=False),
        ),
        steps=steps,
        counterexample={"claim": "Theorems 1-2: every consistent state is an attractor",
                        "states": "0 and 1 (d = 1), equal weights", "sigma": "0.55",
                        "attractors": "only 0.5", "sigma_c": "1/2"},
    )


DERIVATION = build()
