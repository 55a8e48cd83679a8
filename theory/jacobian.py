"""The exact denoiser's Jacobian (paper Eq. 9, docs/claims.md#exact-denoiser; used by Thm. 2, Cor. 5.1).

Statement. For f*(y) = sum_k w_k(y) s_k with softmax posterior weights
w_k(y) = pi_k exp(-||y - s_k||^2 / (2 sigma^2)) / Z(y) over K states s_k in R^d,

    J(y) = d f*/d y = Cov_w[s] / sigma^2,   Cov_w[s] = sum_k w_k (s_k - m)(s_k - m)^T,

with m = f*(y). Hence J is symmetric, positive semi-definite (v^T Cov v is a weighted sum
of squares), and rank J <= (number of states with pi_k > 0) - 1, because the K centred
vectors s_k - m satisfy sum_k w_k (s_k - m) = 0 with every w_k > 0.

Proved for symbolic K: entry (l, i) of J (coordinate split ||y - s_k||^2 =
(y_i - s_ki)^2 + R_k, valid for l = i and l != i), symmetry, the centred form and the
linear dependence. The quadratic form is proved for symbolic K in d = 3 (every d is the
same computation), and the rank bound's null vector for K = 3 states in d = 3 with
symbolic entries (n = (s_1 - s_3) x (s_2 - s_3) spans the complement of their plane).
"""

from __future__ import annotations

from functools import partial

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache, linearize_sums

k, K = sp.symbols("k K", integer=True, positive=True)
i, l = sp.symbols("i l", integer=True, positive=True)
sigma = sp.Symbol("sigma", positive=True)
y_i = sp.Symbol("y_i", real=True)
pi_ = sp.IndexedBase("pi", positive=True)
w = sp.IndexedBase("w", nonnegative=True)
s, R, m = sp.IndexedBase("s", real=True), sp.IndexedBase("R"), sp.IndexedBase("m", real=True)
DIM = 3
v = sp.symbols(f"v1:{DIM + 1}", real=True)


def _unnormalised_weight() -> sp.Expr:
    return pi_[k] * sp.exp(-((y_i - s[k, i]) ** 2 + R[k]) / (2 * sigma**2))


def weighted_mean(expr: sp.Expr) -> sp.Expr:
    """E_w[expr] = sum_k e_k expr / sum_k e_k with e_k the unnormalised weights."""
    weight = _unnormalised_weight()
    return sp.Sum(weight * expr, (k, 1, K)) / sp.Sum(weight, (k, 1, K))


def jacobian_entry() -> sp.Expr:
    """d f*_l / d y_i, differentiated by sympy."""
    return sp.diff(weighted_mean(s[k, l]), y_i)


def covariance_entry() -> sp.Expr:
    """Cov_w[s]_{l i} / sigma^2 in raw-moment form."""
    raw = weighted_mean(s[k, l] * s[k, i]) - weighted_mean(s[k, l]) * weighted_mean(s[k, i])
    return raw / sigma**2


def _numerator(expr: sp.Expr) -> sp.Expr:
    return linearize_sums(sp.fraction(sp.together(expr))[0])


def _moment_rules(coords: tuple[sp.Expr, ...]) -> dict[sp.Basic, sp.Basic]:
    """Normalised weights: sum_k w_k = 1 and sum_k w_k s_{k,c} = m_c."""
    rules: dict[sp.Basic, sp.Basic] = {sp.Sum(w[k], (k, 1, K)): 1}
    rules.update({sp.Sum(s[k, c] * w[k], (k, 1, K)): m[c] for c in coords})
    return rules


def centred_covariance(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """sum_k w_k (s_ka - m_a)(s_kb - m_b)."""
    return sp.Sum(w[k] * (s[k, a] - m[a]) * (s[k, b] - m[b]), (k, 1, K))


def quadratic_form() -> sp.Expr:
    """v^T Cov_w[s] v in d = 3, with Cov in centred form."""
    coords = range(1, DIM + 1)
    return sum(v[a - 1] * v[b - 1] * centred_covariance(a, b) for a in coords for b in coords)


def gram_certificate(weight_sign: int = 1) -> sp.Expr:
    """sum_k w_k (v^T (s_k - m))^2: a weighted sum of squares."""
    projection = sum(v[a - 1] * (s[k, a] - m[a]) for a in range(1, DIM + 1))
    return sp.Sum(weight_sign * w[k] * projection**2, (k, 1, K))


def weighted_covariance(states: sp.Matrix, weights: tuple[sp.Expr, ...]) -> sp.Matrix:
    """Cov_w of the columns of `states` (d x K) for weights that sum to 1."""
    mean = states * sp.Matrix(weights)
    centred = states - mean * sp.ones(1, states.shape[1])
    return centred * sp.diag(*weights) * centred.T


def rank_null_vector_step(n_states: int = 3) -> Step:
    """Cov of K = `n_states` symbolic states in R^3 annihilates the normal of s_1..s_3."""
    states = sp.Matrix(3, n_states, lambda r, c: sp.Symbol(f"s{c + 1}_{r + 1}", real=True))
    free = [sp.Symbol(f"w{c + 1}", positive=True) for c in range(n_states - 1)]
    weights = (*free, 1 - sum(free))
    normal = (states[:, 0] - states[:, 2]).cross(states[:, 1] - states[:, 2])
    return Step("rank_null_vector",
                "Cov of K = 3 states has the null vector (s1 - s3) x (s2 - s3): rank <= K - 1.",
                weighted_covariance(states, weights) * normal, sp.zeros(3, 1),
                mode="fixed-size", simplifier=sp.expand,
                reason="K = 3 states with symbolic coordinates in d = 3; the general bound "
                       "is the linear dependence proved in step linear_dependence.")


@fresh_sympy_cache
def build(jacobian: sp.Expr | None = None, gram_weight_sign: int = 1,
          rank_states: int = 3) -> Derivation:
    """The derivation; the keyword arguments replace claimed objects for mutants."""
    jacobian = covariance_entry() if jacobian is None else jacobian
    pair_rules = partial(linearize_sums, rules=_moment_rules((l, i)))
    all_rules = partial(linearize_sums, rules=_moment_rules(tuple(range(1, DIM + 1))))
    steps = (
        Step("jacobian_is_covariance",
             "d f*_l/d y_i equals Cov_w[s]_{li}/sigma^2 (symbolic K; l = i allowed).",
             jacobian_entry(), jacobian, simplifier=_numerator),
        Step("symmetric", "Cov_w[s]_{li} = Cov_w[s]_{il}: J is symmetric.",
             centred_covariance(l, i), centred_covariance(i, l), simplifier=pair_rules),
        Step("centred_form",
             "sum_k w_k s_kl s_ki - m_l m_i = sum_k w_k (s_kl - m_l)(s_ki - m_i).",
             sp.Sum(w[k] * s[k, l] * s[k, i], (k, 1, K)) - m[l] * m[i],
             centred_covariance(l, i), simplifier=pair_rules),
        Step("positive_semidefinite",
             "v^T Cov v = sum_k w_k (v^T (s_k - m))^2 >= 0 (general K, d = 3).",
             quadratic_form(), sp.Integer(0), relation="ge",
             certificate=gram_certificate(gram_weight_sign), mode="fixed-size",
             reason="d = 3 coordinates written out; K symbolic.", simplifier=all_rules),
        Step("linear_dependence",
             "sum_k w_k (s_k - m) = 0, so the K centred states span <= K - 1 dimensions.",
             sp.Sum(w[k] * (s[k, l] - m[l]), (k, 1, K)), sp.Integer(0), simplifier=pair_rules),
        rank_null_vector_step(rank_states),
    )
    return Derivation(
        id="jacobian",
        claim="Eq. 9 with f = f* (docs/claims.md#exact-denoiser)",
        statement=("The Jacobian of the exact denoiser is J = Cov_w[s]/sigma^2, with w the "
                   "softmax posterior weights; J is symmetric, positive semi-definite, and "
                   "rank J <= |supp pi| - 1."),
        statement_latex=(r"\frac{\partial f^*}{\partial y}=\frac{1}{\sigma^2}\sum_k w_k(y)"
                         r"(s_k-m)(s_k-m)^\top=J^\top\succeq0,\quad \operatorname{rank}J\le"
                         r"|\operatorname{supp}\pi|-1"),
        symbols={"K": "number of states with pi_k > 0 (symbolic)", "s_k": "states in R^d",
                 "w_k": "softmax posterior weights at y", "m": "f*(y) = sum_k w_k s_k",
                 "R_k": "squared distance of y to s_k in the coordinates other than i"},
        assumptions=(
            Assumption("exact_denoiser", "f = f*, the posterior mean of a discrete posterior."),
            Assumption("positive_weights",
                       "Every state in the support has pi_k > 0, so every w_k(y) > 0.",
                       stated_in_paper=False),
        ),
        steps=steps,
    )


DERIVATION = build()
