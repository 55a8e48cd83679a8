"""Shared supports of the agents' posteriors (paper Theorems 3-4; docs/claims.md#support-conditions).

Statement. With the exact denoiser and sigma -> 0 the agents' stable fixed points are the
supports S_G(tau_i) = supp p(s | tau_i) (Theorem 2), so Theorems 3-4 are claims about
intersections of supports. Under

  (C1) factored observations, O(o | s) = prod_i O_i(o_i | s), and
  (C2) per-step collective observability at the current step (O(o | s') = 0 for every
       s' other than the true state),

agent i's likelihood of its own observation is O_i(o_i | s) (the other factors sum to 1),
a product of non-negative factors is positive iff every factor is, so
  joint support at history length 1 = intersection of the individual supports (Thm. 4),
  and under (C2) that intersection is {s_true} (Thm. 3; at the last step of any history,
  since a zero likelihood factor removes s' from that agent's support).

Both break without the conditions (exact counterexamples, rational probabilities):
correlated observations (o_2 = o_1 XOR s: the joint observation identifies s while each
marginal is uninformative), and multi-step dynamics (agents justify the same current
state with incompatible pasts: intersection {u, w} strictly contains the joint support
{w}). The sensor-ring examples of Fig. 1 are checked exactly as instances.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

from decdiff.theory.derivation import Assumption, Derivation, Step, fresh_sympy_cache

Half = sp.Rational(1, 2)


@dataclass(frozen=True)
class Trajectory:
    """A possible run: its probability, final state and joint observation history
    (one tuple per time step with one observation per agent)."""

    probability: sp.Rational
    final_state: object
    observations: tuple[tuple[object, ...], ...]

    def agent_history(self, agent: int) -> tuple[object, ...]:
        return tuple(step[agent] for step in self.observations)


def joint_support(runs: list[Trajectory], history: tuple[tuple[object, ...], ...]) -> sp.FiniteSet:
    """supp p(s_T | joint history)."""
    return sp.FiniteSet(*{r.final_state for r in runs
                          if r.probability > 0 and r.observations == history})


def agent_support(runs: list[Trajectory], agent: int,
                  history: tuple[tuple[object, ...], ...]) -> sp.FiniteSet:
    """supp p(s_T | tau_i), tau_i = agent i's own part of the joint history."""
    own = tuple(step[agent] for step in history)
    return sp.FiniteSet(*{r.final_state for r in runs
                          if r.probability > 0 and r.agent_history(agent) == own})


def intersection_of_supports(runs: list[Trajectory],
                             history: tuple[tuple[object, ...], ...]) -> sp.FiniteSet:
    agents = range(len(history[0]))
    return sp.Intersection(*(agent_support(runs, i, history) for i in agents))


RING_AREAS = ((1, 2), (4, 1), (2, 3), (3, 4))


def sensor_ring(miss: dict[int, sp.Rational]) -> list[Trajectory]:
    """Fig. 1's ring: uniform target area, each sensor reports presence bits of its two
    areas and misses a target in area k independently with probability miss[k]."""
    runs = []
    for area in range(1, 5):
        watchers = [i for i, areas in enumerate(RING_AREAS) if area in areas]
        for seen in itertools.product((0, 1), repeat=len(watchers)):
            probability = sp.Rational(1, 4)
            for bit in seen:
                probability *= (1 - miss.get(area, 0)) if bit else miss.get(area, 0)
            sees = dict(zip(watchers, seen))
            obs = tuple(tuple(int(a == area and sees.get(i, 0) == 1) for a in areas)
                        for i, areas in enumerate(RING_AREAS))
            runs.append(Trajectory(probability, area, (obs,)))
    return runs


def correlated_model() -> list[Trajectory]:
    """Two states, o_1 a fair coin, o_2 = o_1 XOR s: not factored, yet per-step CO."""
    return [Trajectory(Half * Half, state, ((o1, o1 ^ state),))
            for state in (0, 1) for o1 in (0, 1)]


def dynamics_model(final_step_observable: bool = False) -> list[Trajectory]:
    """s_0 uniform on {a, b, c}; a, b -> u and c -> w. At t = 0 agent 1 sees [s_0 = a],
    agent 2 sees [s_0 = b] (per-step CO); at t = 1 both see nothing, unless
    `final_step_observable`, where agent 1 sees [s_1 = u] (per-step CO at t = 1)."""
    successor = {"a": "u", "b": "u", "c": "w"}
    runs = []
    for start, end in successor.items():
        last = (int(end == "u") if final_step_observable else 0, 0)
        runs.append(Trajectory(sp.Rational(1, 3), sp.Symbol(end),
                               ((int(start == "a"), int(start == "b")), last)))
    return runs


def symbolic_support_steps() -> tuple[Step, ...]:
    """Marginalisation of factored likelihoods and positivity of products (3 agents)."""
    own, q2, q3 = sp.symbols("O_1 q_2 q_3", nonnegative=True)
    marginal = sum(own * f2 * f3 for f2 in (q2, 1 - q2) for f3 in (q3, 1 - q3))
    factors = sp.symbols("prior O1 O2 O3", positive=True)
    patterns = list(itertools.product((False, True), repeat=len(factors)))

    def positive_product(pattern: tuple[bool, ...]) -> bool:
        kept = sp.Mul(*(f if keep else 0 for f, keep in zip(factors, pattern)))
        return bool(kept.is_positive)

    reason = "Three agents with binary observations; every n is the same computation."
    return (
        Step("factored_marginal",
             "sum over o_2, o_3 of O_1 O_2 O_3 = O_1: agent i's likelihood is O_i(o_i|s).",
             marginal, own, mode="fixed-size", reason=reason, simplifier=sp.expand),
        Step("product_support",
             "prior * prod_i O_i > 0 exactly when prior > 0 and each O_i > 0: the joint "
             "support is the intersection of the individual supports.",
             sp.FiniteSet(*(sp.Tuple(*p) for p in patterns if positive_product(p))),
             sp.FiniteSet(*(sp.Tuple(*p) for p in patterns if all(p))),
             mode="fixed-size", reason="All 16 zero patterns of four symbolic factors."),
    )


def ring_steps() -> tuple[Step, ...]:
    """Fig. 1's two ring examples, target in area 1, history length 1."""
    co_obs = (((1, 0), (0, 1), (0, 0), (0, 0)),)
    silent = (((0, 0),) * 4,)
    noisy = sensor_ring({1: Half, 2: Half})
    reason = "The paper's 2 x 2 example (Fig. 1) with the spec's ring layout."
    common = {"mode": "instance", "role": "example", "reason": reason}
    return (
        Step("ring_co_intersection", "CO ring: intersection of supports = {1} = joint.",
             intersection_of_supports(sensor_ring({}), co_obs),
             joint_support(sensor_ring({}), co_obs), **common),
        Step("ring_co_true_state", "... and it is the true state {1}.",
             joint_support(sensor_ring({}), co_obs), sp.FiniteSet(1), **common),
        Step("ring_nonco_intersection",
             "Non-CO ring, all sensors silent: intersection = joint support = {1, 2}.",
             intersection_of_supports(noisy, silent), joint_support(noisy, silent), **common),
    )


def counterexample_steps(final_step_observable: bool = False) -> tuple[Step, ...]:
    """Correlated observations and multi-step dynamics break the shared-support claim."""
    common = {"mode": "instance", "role": "counterexample",
              "reason": "Smallest exact tabular model of this failure."}
    xor_runs, xor_obs = correlated_model(), ((0, 1),)
    runs = dynamics_model(final_step_observable)
    history = ((0, 0), (0, 0))
    restored = dynamics_model(final_step_observable=True)
    return (
        Step("correlated_joint_identifies", "o = (0, 1) pins s = 1 (per-step CO holds).",
             joint_support(xor_runs, xor_obs), sp.FiniteSet(1), **common),
        Step("correlated_breaks_theorem_3",
             "... but each agent's support is {0, 1}: the intersection is larger.",
             intersection_of_supports(xor_runs, xor_obs), joint_support(xor_runs, xor_obs),
             relation="superset", **common),
        Step("dynamics_breaks_theorems_3_4",
             "Multi-step: intersection {u, w} strictly contains the joint support {w}.",
             intersection_of_supports(runs, history), joint_support(runs, history),
             relation="superset", **common),
        Step("dynamics_restored_by_c2",
             "Making the last step collectively observable restores intersection = {w}.",
             intersection_of_supports(restored, history), sp.FiniteSet(sp.Symbol("w")),
             mode="instance", role="example",
             reason="The same model with per-step CO at t = 1."),
    )


@fresh_sympy_cache
def build(final_step_observable: bool = False) -> Derivation:
    """The derivation; `final_step_observable=True` silently adds (C2) to the multi-step
    counterexample, which must then stop being one."""
    steps = (*symbolic_support_steps(), *ring_steps(),
             *counterexample_steps(final_step_observable))
    return Derivation(
        id="support_algebra",
        claim="Theorems 3-4",
        statement=("Under (C1) factored observations, at history length 1 the intersection "
                   "of the agents' posterior supports equals the joint support (Thm. 4); with "
                   "(C2) per-step collective observability it is {s_true} (Thm. 3). Without "
                   "(C1), or with multi-step dynamics, the intersection can be strictly larger."),
        statement_latex=(r"\text{(C1)}:\ \bigcap_i\operatorname{supp}p(s\mid o_i)=\operatorname"
                         r"{supp}p(s\mid o_{1:n});\quad\text{(C1)+(C2)}:\ \bigcap_i\operatorname"
                         r"{supp}p(s\mid\tau_i)=\{s_{\mathrm{true}}\}"),
        symbols={"O_i": "agent i's observation likelihood", "tau_i": "agent i's history",
                 "supp": "set of states with positive posterior probability"},
        assumptions=(
            Assumption("exact_fixed_points", "F_phi(tau_i) = S_G(tau_i) (exact denoiser, "
                       "sigma -> 0, Theorem 2)."),
            Assumption("collective_observability", "Per-step CO at the current step (C2); the "
                       "paper only cites the notion.", stated_in_paper=False),
            Assumption("factored_observations", "O(o|s) = prod_i O_i(o_i|s) (C1).",
                       stated_in_paper=False),
            Assumption("history_length_one", "Theorem 4's equality needs history length 1 "
                       "(or a static state).", stated_in_paper=False),
        ),
        steps=steps,
        counterexample={
            "correlated": {"states": "{0, 1} uniform", "observations": "o_1 fair coin, "
                           "o_2 = o_1 XOR s", "joint_observation": "(0, 1)",
                           "agent_supports": "{0, 1} and {0, 1}", "joint_support": "{1}"},
            "multi_step": {"states": "s_0 uniform on {a, b, c}; a, b -> u; c -> w",
                           "observations": "t=0: agent 1 [s_0 = a], agent 2 [s_0 = b]; "
                           "t=1: none", "joint_history": "((0, 0), (0, 0))",
                           "agent_supports": "{u, w} and {u, w}", "joint_support": "{w}"},
        },
    )


DERIVATION = build()
