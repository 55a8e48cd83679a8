"""Miyasawa/Tweedie (paper Eqs. 2-3): the optimal denoiser and the score.

Statement. Let the posterior p(s|tau) put weight pi_k on K states s_k in R^d and let
y = s + sigma z, z ~ N(0, I). With the posterior weights w_k(y) = p(s_k | y, tau):

(a) for each y the conditional risk  r(f) = sum_k w_k ||s_k - f||^2  is minimised
    exactly at f = m(y) = sum_k w_k s_k = E[s | y, tau] (Eq. 2): its gradient vanishes
    only there, its Hessian is 2 I, and r(f) = r(m) + ||f - m||^2.  Since the MSE of
    Eq. (1) is E_y[r(f(y))], the MSE minimiser over functions f(y) is f* = m.
(b) the noisy marginal p_sigma(y|tau) = sum_k pi_k N(y; s_k, sigma^2 I) has score
    grad_y log p_sigma(y|tau) = (E[s | y, tau] - y) / sigma^2 (Eq. 3).

Both parts are proved for a general K-state posterior (symbolic K) in any dimension d:
the risk splits into d coordinate terms that are proved one coordinate at a time, and
the score is checked along coordinate i with ||y - s_k||^2 = (y_i - s_ki)^2 + R_k, where
R_k collects the other d - 1 coordinates and does not depend on y_i.
"""

from __future__ import annotations

from functools import partial

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, linearize_sums

k, K = sp.symbols("k K", integer=True, positive=True)
d = sp.Symbol("d", integer=True, positive=True)
sigma = sp.Symbol("sigma", positive=True)
f, y_i = sp.symbols("f y_i", real=True)
m = sp.Symbol("m", real=True)
w, s, pi_, R = (sp.IndexedBase(name) for name in ("w", "s", "pi", "R"))

#: Posterior weights are normalised and m is their mean: the rules the sums obey.
WEIGHT_RULES = {sp.Sum(w[k], (k, 1, K)): 1, sp.Sum(s[k] * w[k], (k, 1, K)): m}


def risk(estimate: sp.Expr) -> sp.Expr:
    """One coordinate of the conditional risk sum_k w_k (s_k - estimate)^2."""
    return sp.Sum(w[k] * (s[k] - estimate) ** 2, (k, 1, K))


def mixture_density() -> sp.Expr:
    """p_sigma(y|tau) = sum_k pi_k N(y; s_k, sigma^2 I), written along coordinate i."""
    normaliser = (2 * sp.pi * sigma**2) ** (-d / 2)
    return sp.Sum(pi_[k] * normaliser * sp.exp(-((y_i - s[k]) ** 2 + R[k]) / (2 * sigma**2)),
                  (k, 1, K))


def posterior_mean() -> sp.Expr:
    """Coordinate i of E[s | y, tau] by Bayes' rule: sum_k pi_k N_k s_ki / p_sigma."""
    density = mixture_density()
    return sp.Sum(density.function * s[k], (k, 1, K)) / density


def true_score() -> sp.Expr:
    """d/dy_i log p_sigma(y|tau), differentiated by sympy."""
    return sp.diff(sp.log(mixture_density()), y_i)


def tweedie_score() -> sp.Expr:
    """The right-hand side of Eq. (3) along coordinate i."""
    return (posterior_mean() - y_i) / sigma**2


def _numerator(expr: sp.Expr) -> sp.Expr:
    """Linearised numerator of an expression over a common denominator."""
    return linearize_sums(sp.fraction(sp.together(expr))[0])


@fresh_sympy_cache
def build(score: sp.Expr | None = None, minimiser: sp.Expr = m,
          curvature: sp.Expr = sp.Integer(2)) -> Derivation:
    """The derivation; the keyword arguments replace the claimed expressions."""
    score = tweedie_score() if score is None else score
    by_rules = partial(linearize_sums, rules=WEIGHT_RULES)
    steps = (
        Step("first_order_condition",
             "d r / d f vanishes at the claimed minimiser (weights sum to 1, mean m).",
             sp.diff(risk(f), f).subs(f, minimiser), sp.Integer(0), simplifier=by_rules),
        Step("convexity", "d^2 r / d f^2 = 2 sum_k w_k is the claimed positive constant.",
             sp.diff(risk(f), f, 2), curvature, simplifier=by_rules),
        Step("curvature_positive", "The curvature is positive, so r is strictly convex.",
             curvature, sp.Integer(0), relation="gt"),
        Step("risk_decomposition",
             "r(f) = r(minimiser) + (f - minimiser)^2: the minimiser is global.",
             risk(f), risk(minimiser) + (f - minimiser) ** 2, simplifier=by_rules),
        Step("score_identity",
             "d/dy_i log p_sigma = (E[s_i|y] - y_i)/sigma^2 for K symbolic states.",
             true_score(), score, simplifier=_numerator),
    )
    return Derivation(
        id="tweedie",
        claim="Eqs. 2-3 (Miyasawa/Tweedie)",
        statement=("The MSE-optimal denoiser is the posterior mean f*(y) = E[s|y,tau] = "
                   "sum_k w_k(y) s_k, and grad_y log p_sigma(y|tau) = (E[s|y,tau] - y)/sigma^2 "
                   "for p_sigma(y|tau) = sum_k pi_k N(y; s_k, sigma^2 I), K states in R^d."),
        statement_latex=(r"f^*(\tau,y)=\mathbb{E}[s\mid y,\tau]=\sum_{k=1}^K w_k(y)s_k,\quad "
                         r"\nabla_y\log p_\sigma(y\mid\tau)=\frac{\mathbb{E}[s\mid y,\tau]-y}"
                         r"{\sigma^2},\quad p_\sigma=\sum_{k=1}^K\pi_k\,"
                         r"\mathcal N(y;s_k,\sigma^2I)"),
        symbols={"K": "number of states in the posterior support (symbolic)",
                 "d": "state dimension (symbolic)", "s_k": "the states",
                 "pi_k": "posterior p(s_k|tau)", "w_k": "posterior weights p(s_k|y,tau)",
                 "m": "posterior mean sum_k w_k s_k", "sigma": "noise level",
                 "R_k": "squared distance of y to s_k in the coordinates other than i"},
        assumptions=(
            Assumption("gaussian_noise", "y = s + sigma z with z ~ N(0, I) and sigma > 0."),
            Assumption("discrete_posterior",
                       "p(s|tau) is supported on finitely many states (the harness's "
                       "tabular models); the same argument holds for any posterior with "
                       "a finite second moment.", stated_in_paper=False),
            Assumption("unrestricted_f",
                       "The minimisation is over all measurable f(tau, y), so it can be "
                       "done separately for each (tau, y).", stated_in_paper=False),
        ),
        steps=steps,
    )


DERIVATION = build()
