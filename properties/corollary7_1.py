"""Corollary 7.1 (composite diffusion without collective observability): every consistent state is approached.

"With sufficiently enough initial samples, the composite diffusion algorithm approaches
every possible global state s consistent with joint history tau_{i_1:n} with an upper error
bound max_i D_phi(tau_i, s)" (docs/claims.md#composite-diffusion). Two checks on the composite runs of
`composite_common`:

* ``corollary7_1.every_consistent_state`` (the paper's "every"): each state s of the
  joint-history support has a composite limit within max_i ||D_phi(tau_i, s)|| (+ slack)
  that passes Step 2. "Sufficiently many samples" is made exact by starting one sequence at
  s itself: if even that one leaves, no number of samples helps; if it stays and passes
  Step 2 (whose check (1) makes the orbit attracting), its basin has positive mass. How many
  of the states the N(0, sigma^2 I) starts actually reached is reported as well.
* ``corollary7_1.only_consistent_states`` (the harness's converse, "converges near the
  joint-history support"): every Step-1 sequence passing Step 2 ends within max_i D_phi of
  some state of the joint support. It needs the agents' common consistent states to be the
  joint support (Theorem 4's conditions: factored, own-action observations and one
  observation or a static state, docs/claims.md#support-conditions); with multi-step dynamics composite flows
  can settle at a common state the joint history excludes (docs/claims.md#corollary-7-1).

Both error bounds need isotropic local maps (docs/claims.md#theorem-7), as in Theorem 7.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.properties.common import target_margin
from decdiff.properties.composite_common import (
    TOLERANCES,
    CompositeRun,
    composite_runs,
    describe_sequence,
)
from decdiff.properties.context import NON_CO_CONDITIONS, CheckContext
from decdiff.properties.registration import register_check
from decdiff.properties.theorem7 import (
    ALL_AGENTS,
    acceptance,
    composite_subject,
    local_assumptions,
    worst_accepted_excess,
)
from decdiff.results import CheckResult
from decdiff.tolerances import COMPOSITE_DISTANCE

EVERY = "corollary7_1.every_consistent_state"
ONLY = "corollary7_1.only_consistent_states"


def coverage(runs: list[CompositeRun]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (run, target) pair, flattened: covered from the target itself, reached by an accepted Step-1 start,
    and the (run, target) index pairs ``[P, 2]``."""
    covered, reached, pairs = [], [], []
    for k, run in enumerate(runs):
        if run.targets.size == 0:
            continue
        own = torch.arange(run.targets.size) + run.n_random
        at_own = run.errors[own, torch.arange(run.targets.size)] - run.max_deviation - run.slack <= COMPOSITE_DISTANCE
        covered.append((at_own & run.step2.accepted[own] & run.orbit_converged[own]).numpy())
        accepted = run.step1_accepted & (run.excess[run.random_rows] - run.slack <= COMPOSITE_DISTANCE)
        hits = torch.bincount(run.assigned[run.random_rows][accepted], minlength=run.targets.size) > 0
        reached.append(hits.numpy())
        pairs.append(np.stack([np.full(run.targets.size, k), np.arange(run.targets.size)], axis=1))
    if not pairs:
        return np.zeros(0, bool), np.zeros(0, bool), np.zeros((0, 2), int)
    return np.concatenate(covered), np.concatenate(reached), np.concatenate(pairs)


def every_state_result(ctx: CheckContext, runs: list[CompositeRun], check_id: str, claim: str,
                       agents: str) -> CheckResult:
    """The "every consistent state" check on `runs` (shared with Corollary 7.2)."""
    covered, reached, pairs = coverage(runs)
    observed = float((~covered).mean()) if covered.size else None
    conclusion = None if observed is None else bool(covered.all())
    counterexample = None
    if conclusion is False:
        k, t = (int(v) for v in pairs[int(np.flatnonzero(~covered)[0])])
        run = runs[k]
        counterexample = {**describe_sequence(ctx, run, run.n_random + t),
                          "uncovered_state": ctx.model.state_names[int(run.targets[t])],
                          "uncovered_states": int((~covered).sum())}
    result = CheckResult.make(
        id=check_id, claim=claim, subject=composite_subject(ctx, agents),
        assumptions=local_assumptions(ctx, runs), conclusion_holds=conclusion, observed=observed, bound=0.0, n_cases=int(covered.size), seed=ctx.seed, tolerance=TOLERANCES,
        counterexample=counterexample, reproduce=ctx.reproduce(check_id),
        details={"observed_is": "fraction of (joint history, consistent state s) pairs without a Step-2-accepted "
                                "composite limit within max_i D_phi(tau_i, s) of s (flow started at s)",
                 "reached_from_step1_starts": float(reached.mean()) if reached.size else None,
                 "pairs": int(covered.size), "step2": acceptance(runs)},
    )
    target_margin(result.margin, check_id)
    return result


def only_states_result(ctx: CheckContext, runs: list[CompositeRun], check_id: str, claim: str, agents: str,
                       extra_assumptions: dict[str, bool]) -> CheckResult:
    """The "accepted sequences end near a consistent state" check on `runs` (shared with Corollary 7.2)."""
    observed, k, row = worst_accepted_excess(runs)
    conclusion = None if observed is None else observed <= COMPOSITE_DISTANCE
    result = CheckResult.make(
        id=check_id, claim=claim, subject=composite_subject(ctx, agents),
        assumptions={**extra_assumptions, **local_assumptions(ctx, runs)}, conclusion_holds=conclusion,
        observed=observed, bound=COMPOSITE_DISTANCE, ci=acceptance(runs)["ci"],
        n_cases=sum(r.n_random for r in runs), seed=ctx.seed, tolerance=TOLERANCES,
        counterexample=describe_sequence(ctx, runs[k], row) if conclusion is False else None,
        reproduce=ctx.reproduce(check_id),
        details={"observed_is": "max over Step-2-accepted sequences of min over consistent states s of "
                                "||y^(L) - s|| - max_i ||D_phi(tau_i, s)||, minus COMPOSITE_RELATIVE D_bar",
                 "ci_is": "Wilson interval of the Step-2 acceptance rate", "step2": acceptance(runs)},
    )
    target_margin(result.margin, check_id)
    return result


@register_check(EVERY, "Corollary 7.1", "every state consistent with the joint history has a Step-2-accepted "
                "composite limit within max_i D_phi of it")
def every_consistent_state(ctx: CheckContext) -> list[CheckResult]:
    return [every_state_result(ctx, composite_runs(ctx), EVERY, "Corollary 7.1", ALL_AGENTS)]


@register_check(ONLY, "Corollary 7.1", "composite sequences passing Step 2 end within max_i D_phi of a state "
                "consistent with the joint history")
def only_consistent_states(ctx: CheckContext) -> list[CheckResult]:
    return [only_states_result(ctx, composite_runs(ctx), ONLY, "Corollary 7.1",
                               ALL_AGENTS, ctx.facts_of(*NON_CO_CONDITIONS))]
