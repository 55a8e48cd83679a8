"""Corollary 7.2 (partial composite diffusion): states consistent with the participants' histories.

"With sufficient initial samples, the partial composite diffusion algorithm approaches
every possible global state s consistent with tau_{i_1:k}, k < n, with an upper error bound
max_t D_phi(tau_{i_t}, s)" (docs/claims.md#composite-diffusion, Sec. 5.2). On every examined joint history a
seeded random ordered subset of k in [1, n - 1] agents runs the partial composite flow
(`composite_common.partial_runs`); "consistent with tau_{i_1:k}" is read as consistent with
every participant's history, s in intersection_t S_G(tau_{i_t}) (the states the
participants' fixed-point sets share; it equals the subset's joint support under Theorem 4's
conditions, docs/claims.md#support-conditions). The two checks are Corollary 7.1's on these runs:

* ``corollary7_2.every_consistent_state``: every such state has a Step-2-accepted partial
  composite limit within max_t ||D_phi(tau_{i_t}, s)|| of it (the flow started at s);
* ``corollary7_2.only_consistent_states``: every partial composite sequence from
  N(0, sigma^2 I) that passes Step 2 ends within that bound of such a state.

Skipped for one-agent models (no proper subset).
"""

from __future__ import annotations

from decdiff.properties.composite_common import partial_runs
from decdiff.properties.context import CheckContext
from decdiff.properties.corollary7_1 import every_state_result, only_states_result
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult

EVERY = "corollary7_2.every_consistent_state"
ONLY = "corollary7_2.only_consistent_states"
AGENTS = "seeded random ordered subset of 1..n-1 agents per joint history"


def _skipped(ctx: CheckContext, check_id: str) -> list[CheckResult]:
    return [CheckResult.make(id=check_id, claim="Corollary 7.2", subject=ctx.subject(), assumptions={},
                             conclusion_holds=None, skipped_reason="one agent: no partial composite (k < n) exists",
                             reproduce=ctx.reproduce(check_id), seed=ctx.seed)]


@register_check(EVERY, "Corollary 7.2", "every state consistent with the participants' histories has a "
                "Step-2-accepted partial composite limit within max_t D_phi of it")
def every_consistent_state(ctx: CheckContext) -> list[CheckResult]:
    if ctx.model.n_agents < 2:
        return _skipped(ctx, EVERY)
    return [every_state_result(ctx, partial_runs(ctx), EVERY, "Corollary 7.2", AGENTS)]


@register_check(ONLY, "Corollary 7.2", "partial composite sequences passing Step 2 end within max_t D_phi of a "
                "state consistent with the participants' histories")
def only_consistent_states(ctx: CheckContext) -> list[CheckResult]:
    if ctx.model.n_agents < 2:
        return _skipped(ctx, ONLY)
    return [only_states_result(ctx, partial_runs(ctx), ONLY, "Corollary 7.2", AGENTS, {})]
