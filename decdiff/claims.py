"""The paper's claims as decdiff states them: statement, assumptions, and when they hold.

Each entry restates a result of Wang et al. (AAMAS 2025) in our words, with the
assumptions the paper states or leaves implicit (PAPER.md §2-4) and the conditions under
which decdiff's derivations and checks show it holds (PAPER.md §6). Reports render one
section per claim from this catalogue, the symbolic verdicts and the check results.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One claim: its name, a plain and a LaTeX statement, assumptions and holding conditions."""

    name: str
    title: str
    statement: str
    latex: str
    assumptions: tuple[str, ...]
    holds_when: str
    derivations: tuple[str, ...] = ()


CLAIMS: tuple[Claim, ...] = (
    Claim("Theorem 1", "Converged diffusion",
          "Iterating the optimal denoiser conditioned on one agent's history converges to a consistent state, "
          "the one with the largest posterior probability given the starting point.",
          r"\phi_\infty(\tau_i)(y) = \mathop{\mathrm{arg\,max}}_{s \in S_G(\tau_i)} p(s \mid y, \tau_i)",
          ("no approximation error (f = f*)", "sigma small against the distances between consistent states",
           "y not on a basin boundary"),
          "With sigma below the critical level the limit is a consistent state up to the certified radius; "
          "'the posterior argmax for the start' fails in a thin band near basin boundaries when weights differ "
          "(PAPER.md §6.3), so it holds with high probability, not pointwise.",
          ("tweedie", "stability")),
    Claim("Theorem 2", "States as attractors",
          "The attractors of the flow are its stable fixed points, and without approximation error they are the "
          "states consistent with the history.",
          r"\hat S_G(\tau_i) = F_\phi(\tau_i) = \{y^* : y^* = f(\tau_i, y^*),\ \rho(J_f(y^*)) < 1\} \approx S_G(\tau_i)",
          ("no approximation error", "hyperbolic fixed points", "start distribution with full support",
           "sigma below the critical level"),
          "Fixed points sit within a certified radius of the consistent states, not on them, at any finite sigma "
          "(PAPER.md §6.1); above the critical sigma states merge or vanish (§6.2). 'Nothing else is stable' needs "
          "more than sigma below each state's sigma_c: n nearly equally likely states at mutual distance D have a "
          "stable centroid once sigma > D / sqrt(2n) (found on sensor-grid:5x5:targets=2 at sigma = 0.3: 54 "
          "spurious attractors with zero basin mass under p_sigma); below the proved isolation level sigma_iso every "
          "stable fixed point is a certified one.",
          ("jacobian", "stability", "critical_sigma")),
    Claim("Finding 1", "A single fixed point is the state",
          "If an agent's denoiser has one stable fixed point, the agent knows the state.",
          r"F_\phi(\tau_i) = \{y^*\} \Rightarrow s = y^*",
          ("no approximation error",),
          "Holds for the exact denoiser: one consistent state makes f* constant; for trained denoisers up to the "
          "deviation D.", ("jacobian",)),
    Claim("Theorem 3", "Shared fixed points under collective observability",
          "In collectively observable Dec-POMDPs the agents' fixed-point sets intersect exactly at the true state.",
          r"\bigcap_i F_\phi(\tau_i) = \{s\}",
          ("no approximation error", "collective observability (undefined in the paper)"),
          "Holds when observations are factored across agents and depend on the agent's own action at most (C1) "
          "and the joint observation determines the state at every step (C2); the weaker reading 'the joint "
          "history determines the state' and correlated observations both break it (PAPER.md §6.6). At finite "
          "sigma the intersection holds only up to a tolerance.", ("support_algebra",)),
    Claim("Theorem 4", "Shared fixed points without collective observability",
          "Otherwise the intersection is the support of the joint-history posterior, and basin masses recover the "
          "posterior under an appropriate start distribution.",
          r"\bigcap_i F_\phi(\tau_i) = \{s : p(s \mid \boldsymbol\tau) > 0\}",
          ("no approximation error", "appropriate p(y)"),
          "The support claim needs (C1) and either one observation with no action-dependent step before it or a "
          "static state; multi-step dynamics make the intersection a strict superset (PAPER.md §6.6). Posterior "
          "recovery holds for p_0 = p_sigma(y|tau) or a correct probability-flow ODE, not for N(0, sigma^2 I) or "
          "the paper's Eq. 6 jump (§6.5).", ("support_algebra",)),
    Claim("Theorem 5", "Fixed-point sensitivity to the history",
          "A small history change moves a fixed point by the implicit-function shift, with a second-order error.",
          r"\Delta y^* \approx (I - \partial_y f)^{-1} \partial_\tau f\, \Delta\tau,\quad "
          r"\|\mathrm{Err}\| \le \frac{M\varepsilon^2}{2(1-\lambda_{\max}) m^2}",
          ("continuous history input", "C^2 denoiser", "spectral radius < 1", "Hessian bounds M, m"),
          "The 1/(1 - lambda_max) factor needs a symmetric Jacobian with spectrum in [0, lambda_max]; for "
          "non-symmetric Jacobians ||(I - J)^-1|| can be much larger (PAPER.md §6.8).", ("fixed_point_shift",)),
    Claim("Corollary 5.1", "First-layer formula",
          "For a fully connected first layer the shift is U(I - Lambda)^-1 Lambda U^T W_y^+ W_tau Delta tau.",
          r"\Delta y^* \approx U (I-\Lambda)^{-1} \Lambda U^\top W_y^{+} W_\tau \Delta\tau",
          ("symmetric PSD Jacobian", "W_y W_y^+ = I"),
          "Exact only when the first layer's width is at most |s| (full row rank of W_y); false for the wider "
          "networks the paper uses (PAPER.md §6.9).", ("corollary_5_1",)),
    Claim("Finding 3", "Jacobian rank and deviation",
          "Fixed points whose J+ has lower rank than the local regression problem deviate more from the states.",
          r"\operatorname{rank} J_+(y^*\mid\tau) \ge r(M_\varepsilon)",
          ("trained denoiser", "continuous history input"),
          "An empirical correlation, measured with an interval; not a theorem.", ()),
    Claim("Theorem 6", "Surrogate regression bound",
          "The deviation of a fixed point is bounded by the residual of the best linear regression on M.",
          r"D_\phi(\tau, s) < \hat R(M) = \operatorname{Tr}\Sigma_s - "
          r"\operatorname{Tr}\Sigma_{s\tau}\Sigma_\tau^{-1}\Sigma_{\tau s}",
          ("the epsilon condition on Jacobians in M", "network trained to optimality in a class containing "
           "linear maps"),
          "False as stated: R-hat = 0 whenever |M| <= |tau| + 1, and arbitrary networks can deviate more; the "
          "two sides also differ in units (PAPER.md §6.10). Reported as an empirical comparison.",
          ("surrogate_regression",)),
    Claim("Theorem 7", "Composite diffusion approaches the true state",
          "Under collective observability, sequences passing the Step-2 checks approach the true state within "
          "max_i D, in the convex hull of the agents' fixed points.",
          r"\|y^{(L)} - s\| \le \max_i D_\phi(\tau_i, s)",
          ("collective observability", "Step-2 checks pass"),
          "Holds for isotropic local maps and in 1-D; with anisotropic Jacobians the orbit can leave the hull "
          "with error above max D even when both checks pass; the checks guarantee only error < 3 D-bar "
          "(PAPER.md §6.12).", ("composite_hull",)),
    Claim("Corollary 7.1", "Composite diffusion without collective observability",
          "With enough starts, composite diffusion approaches every state consistent with the joint history.",
          r"\forall s: p(s\mid\boldsymbol\tau) > 0 \Rightarrow \exists k: \|y^{(k,L)} - s\| \le \max_i D_\phi",
          ("enough initial samples",),
          "Says 'every', not 'only': with multi-step dynamics common fixed points can include states inconsistent "
          "with the joint history (PAPER.md §4).", ()),
    Claim("Corollary 7.2", "Partial composite diffusion",
          "A subset of agents approaches every state consistent with the subset's histories.",
          r"k < n:\ \|y^{(L)} - s\| \le \max_{t \le k} D_\phi(\tau_{i_t}, s)",
          ("enough initial samples",), "As Corollary 7.1, for the participating agents.", ()),
    Claim("Finding 6", "Composite versus partial composite",
          "Composite diffusion converges to the true state; partial composite diffusion may converge to wrong "
          "states.",
          r"\phi_\infty(\tau_{i_{1:n}}) \to s",
          ("collective observability",),
          "The first half fails unconditionally: the composite flow can settle in a cycle between wrong states "
          "(PAPER.md §6.11); only sequences passing Step 2 are covered by Theorem 7.", ()),
    Claim("Theorem 8", "Composite beats individual",
          "With one fixed point per agent and y^(L) uniform on their hull, composite error is at most the mean "
          "individual error.",
          r"\mathbb{E}\|y^{(L)} - s\| \le \frac{1}{|F_s|}\sum_{y_i^* \in F_s} \|y_i^* - s\|",
          ("one fixed point per agent", "y^(L) uniform on the hull"),
          "Needs affinely independent fixed points (a simplex hull); false otherwise (PAPER.md §6.13); the "
          "uniform assumption is unjustified, the limit being a deterministic cycle.", ("jensen_simplex",)),
)

CLAIMS_BY_NAME = {c.name: c for c in CLAIMS}
