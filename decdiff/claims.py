"""The paper's claims as decdiff states them: statement, assumptions, and when they hold.

Each entry restates a result of Wang et al. (AAMAS 2025) in our words. Each assumption
carries the id the checks use in `CheckResult.assumptions` and says whether the paper
states it or decdiff adds it; `decdiff.report.verdicts` computes from these marks and the
results whether a claim holds as stated (docs/claims.md explains each claim's failure,
smallest counterexample and exact condition). Reports render one section per claim from
this catalogue, the symbolic verdicts and the check results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOC = "docs/claims.md"


@dataclass(frozen=True)
class Assumption:
    """An assumption by the id the checks evaluate; `stated` is False when decdiff adds it."""

    id: str
    text: str
    stated: bool

    def label(self) -> str:
        return f"{self.text} (`{self.id}`, {'stated by the paper' if self.stated else 'added by decdiff'})"


def stated(id: str, text: str) -> Assumption:
    return Assumption(id, text, True)


def added(id: str, text: str) -> Assumption:
    return Assumption(id, text, False)


EXACT = stated("exact_denoiser", "no approximation error: the denoiser is the exact f*")
SIGMA_C = added("sigma_below_sigma_c", "sigma below the certified critical level of every consistent state examined")
CO = stated("per_step_co", "collective observability, read per step: the joint observation determines the state")
FACTORED = added("observations_factored", "observations factored across agents given the state (C1)")
OWN_ACTION = added("observations_own_action", "an agent's observation depends on its own action at most (C1)")
SHORT = added("history_length_1_or_static", "history length 1, or a static state")
FOUND = stated("fixed_points_found", "the fixed points the statement is about exist (the flow converged)")
RHO = stated("spectral_radius_below_1", "spectral radius of the Jacobian below 1 at the fixed points")
NEAR = stated("fixed_points_near_states", "the agents' fixed points near the state exist")
ISOTROPIC = added("isotropic_local_maps", "each agent's denoiser is isotropic near its fixed point")


@dataclass(frozen=True)
class Claim:
    """One claim: name, plain and LaTeX statement, assumptions, holding conditions, derivations.

    `stronger_readings` are checks that test more than the statement says (their failure
    is reported but never makes the statement false).
    """

    name: str
    title: str
    statement: str
    latex: str
    assumptions: tuple[Assumption, ...]
    holds_when: str
    derivations: tuple[str, ...] = ()
    stronger_readings: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The claim's section in docs/claims.md ("Corollary 5.1" -> "corollary-5-1")."""
        return self.name.lower().replace(" ", "-").replace(".", "-")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "statement": self.statement, "latex": self.latex,
                "assumptions": [a.label() for a in self.assumptions],
                "assumption_ids": {a.id: "stated" if a.stated else "added" for a in self.assumptions},
                "holds_when": self.holds_when, "derivations": list(self.derivations),
                "stronger_readings": list(self.stronger_readings), "explained_in": f"{DOC}#{self.anchor}"}


CLAIMS: tuple[Claim, ...] = (
    Claim("Theorem 1", "Converged diffusion",
          "Iterating the optimal denoiser conditioned on one agent's history converges to a consistent state, "
          "the one with the largest posterior probability given the starting point.",
          r"\phi_\infty(\tau_i)(y) = \mathop{\mathrm{arg\,max}}_{s \in S_G(\tau_i)} p(s \mid y, \tau_i)",
          (EXACT, SIGMA_C, stated("sigma_is_training_sigma", "a trained denoiser is compared at its training sigma")),
          "With sigma below the critical level the limit is a consistent state up to the certified radius; "
          "'the posterior argmax for the start' fails in a thin band near basin boundaries when weights differ "
          "(docs/claims.md#theorem-1), so it holds with high probability, not pointwise.",
          ("tweedie", "stability")),
    Claim("Theorem 2", "States as attractors",
          "The attractors of the flow are its stable fixed points, and without approximation error they are the "
          "states consistent with the history.",
          r"\hat S_G(\tau_i) = F_\phi(\tau_i) = \{y^* : y^* = f(\tau_i, y^*),\ \rho(J_f(y^*)) < 1\} \approx S_G(\tau_i)",
          (EXACT, SIGMA_C),
          "Fixed points sit within a certified radius of the consistent states, not on them, at any finite sigma; "
          "above the critical sigma states merge or vanish (docs/claims.md#theorem-2). 'Nothing else is stable' "
          "needs more than sigma below each state's sigma_c: n nearly equally likely states at mutual distance D "
          "have a stable centroid once sigma > D / sqrt(2n) (on sensor-grid:5x5:targets=2, H = 5, sigma = 0.3: 27 "
          "stable points far from every consistent state, in histories below their critical level); below the proved isolation level sigma_iso every "
          "stable fixed point is a certified one.",
          ("jacobian", "stability", "critical_sigma")),
    Claim("Finding 1", "A single fixed point is the state",
          "If an agent's denoiser has one stable fixed point, the agent knows the state.",
          r"F_\phi(\tau_i) = \{y^*\} \Rightarrow s = y^*",
          (EXACT, SIGMA_C),
          "Holds for the exact denoiser: one consistent state makes f* constant; for trained denoisers up to the "
          "deviation D.", ("jacobian",)),
    Claim("Theorem 3", "Shared fixed points under collective observability",
          "In collectively observable Dec-POMDPs the agents' fixed-point sets intersect exactly at the true state.",
          r"\bigcap_i F_\phi(\tau_i) = \{s\}",
          (EXACT, CO, FACTORED, OWN_ACTION, SIGMA_C),
          "Holds when observations are factored across agents and depend on the agent's own action at most (C1) "
          "and the joint observation determines the state at every step (C2); the weaker reading 'the joint "
          "history determines the state' and correlated observations both break it (docs/claims.md#theorem-3). "
          "At finite sigma the intersection holds only up to a tolerance.", ("support_algebra",)),
    Claim("Theorem 4", "Shared fixed points without collective observability",
          "Otherwise the intersection is the support of the joint-history posterior, and basin masses recover the "
          "posterior under an appropriate start distribution.",
          r"\bigcap_i F_\phi(\tau_i) = \{s : p(s \mid \boldsymbol\tau) > 0\}",
          (EXACT, FACTORED, OWN_ACTION, SHORT, SIGMA_C,
           stated("appropriate_start_distribution", "the start distribution is p_sigma(y | tau), the 'appropriate "
                  "p(y)' of the statement")),
          "The support claim needs (C1) and either one observation with no action-dependent step before it or a "
          "static state; multi-step dynamics make the intersection a strict superset (docs/claims.md#theorem-4). "
          "Posterior recovery holds for p_0 = p_sigma(y|tau) or a correct probability-flow ODE, not for "
          "N(0, sigma^2 I) or the paper's Eq. 6 jump.", ("support_algebra",)),
    Claim("Theorem 5", "Fixed-point sensitivity to the history",
          "A small history change moves a fixed point by the implicit-function shift, with a second-order error.",
          r"\Delta y^* \approx (I - \partial_y f)^{-1} \partial_\tau f\, \Delta\tau,\quad "
          r"\|\mathrm{Err}\| \le \frac{M\varepsilon^2}{2(1-\lambda_{\max}) m^2}",
          (FOUND, RHO, stated("continuation_converged", "the fixed point could be followed along the history change"),
           stated("network_c2", "the denoiser is C^2 in (tau, y) with continuous history input"),
           stated("jacobian_change_small", "the Jacobian changes by less than epsilon along the change")),
          "The 1/(1 - lambda_max) factor needs a symmetric Jacobian with spectrum in [0, lambda_max]; for "
          "non-symmetric Jacobians ||(I - J)^-1|| can be much larger (docs/claims.md#theorem-5).",
          ("fixed_point_shift",)),
    Claim("Corollary 5.1", "First-layer formula",
          "For a fully connected first layer the shift is U(I - Lambda)^-1 Lambda U^T W_y^+ W_tau Delta tau.",
          r"\Delta y^* \approx U (I-\Lambda)^{-1} \Lambda U^\top W_y^{+} W_\tau \Delta\tau",
          (FOUND, RHO, stated("jacobian_symmetric", "the Jacobian is symmetric"),
           stated("jacobian_psd", "the Jacobian is positive semi-definite"),
           added("first_layer_width_le_state_dim", "first-layer width at most |s|, so that W_y W_y^+ = I")),
          "Exact only when the first layer's width is at most |s| (full row rank of W_y); false for the wider "
          "networks the paper uses (docs/claims.md#corollary-5-1).", ("corollary_5_1",)),
    Claim("Finding 3", "Jacobian rank and deviation",
          "Fixed points whose J+ has lower rank than the local regression problem deviate more from the states.",
          r"\operatorname{rank} J_+(y^*\mid\tau) \ge r(M_\varepsilon)",
          (FOUND, stated("rank_varies", "the rank of J_+ varies across the fixed points, so ranks can be compared")),
          "An empirical correlation, measured with an interval; not a theorem (docs/claims.md#finding-3).", ()),
    Claim("Theorem 6", "Surrogate regression bound",
          "The deviation of a fixed point is bounded by the residual of the best linear regression on M.",
          r"D_\phi(\tau, s) < \hat R(M) = \operatorname{Tr}\Sigma_s - "
          r"\operatorname{Tr}\Sigma_{s\tau}\Sigma_\tau^{-1}\Sigma_{\tau s}",
          (FOUND, added("nondegenerate_sets_exist", "some set M has more than |tau| + 1 affinely independent "
                        "members, so that R_hat(M) > 0")),
          "False as stated: R-hat = 0 whenever |M| <= |tau| + 1, and arbitrary networks can deviate more; the "
          "two sides also differ in units (docs/claims.md#theorem-6). Reported as an empirical comparison.",
          ("surrogate_regression",)),
    Claim("Theorem 7", "Composite diffusion approaches the true state",
          "Under collective observability, sequences passing the Step-2 checks approach the true state within "
          "max_i D, in the convex hull of the agents' fixed points.",
          r"\|y^{(L)} - s\| \le \max_i D_\phi(\tau_i, s)",
          (CO, FACTORED, OWN_ACTION, NEAR, ISOTROPIC),
          "Holds for isotropic local maps and in 1-D; with anisotropic Jacobians the orbit can leave the hull "
          "with error above max D even when both checks pass; the checks guarantee only error < 3 D-bar "
          "(docs/claims.md#theorem-7).", ("composite_hull",)),
    Claim("Corollary 7.1", "Composite diffusion without collective observability",
          "With enough starts, composite diffusion approaches every state consistent with the joint history.",
          r"\forall s: p(s\mid\boldsymbol\tau) > 0 \Rightarrow \exists k: \|y^{(k,L)} - s\| \le \max_i D_\phi",
          (NEAR, ISOTROPIC, FACTORED, OWN_ACTION, SHORT),
          "Says 'every', not 'only': with multi-step dynamics common fixed points can include states inconsistent "
          "with the joint history (docs/claims.md#corollary-7-1).", (),
          ("corollary7_1.only_consistent_states",)),
    Claim("Corollary 7.2", "Partial composite diffusion",
          "A subset of agents approaches every state consistent with the subset's histories.",
          r"k < n:\ \|y^{(L)} - s\| \le \max_{t \le k} D_\phi(\tau_{i_t}, s)",
          (NEAR, ISOTROPIC), "As Corollary 7.1, for the participating agents (docs/claims.md#corollary-7-2).", (),
          ("corollary7_2.only_consistent_states",)),
    Claim("Finding 6", "Composite versus partial composite",
          "Composite diffusion converges to the true state; partial composite diffusion may converge to wrong "
          "states.",
          r"\phi_\infty(\tau_{i_{1:n}}) \to s",
          (CO, FACTORED, OWN_ACTION,
           added("step2_accepts_every_sequence", "every composite sequence passes the Step-2 checks")),
          "The first half fails unconditionally: the composite flow can settle in a cycle between wrong states "
          "(docs/claims.md#finding-6); only sequences passing Step 2 are covered by Theorem 7.", ()),
    Claim("Theorem 8", "Composite beats individual",
          "With one fixed point per agent and y^(L) uniform on their hull, composite error is at most the mean "
          "individual error.",
          r"\mathbb{E}\|y^{(L)} - s\| \le \frac{1}{|F_s|}\sum_{y_i^* \in F_s} \|y_i^* - s\|",
          (NEAR, stated("one_fixed_point_per_agent", "one fixed point per agent"),
           stated("final_iterate_uniform", "the final iterate y^(L) is uniform on the hull"),
           added("fixed_points_affinely_independent", "the agents' fixed points are affinely independent (a "
                 "simplex hull)"),
           stated("at_least_two_seeds", "at least two training seeds, so that an interval across seeds exists")),
          "Needs affinely independent fixed points (a simplex hull); false otherwise (docs/claims.md#theorem-8); "
          "the uniform assumption is unjustified, the limit being a deterministic cycle.", ("jensen_simplex",)),
)

CLAIMS_BY_NAME = {c.name: c for c in CLAIMS}
