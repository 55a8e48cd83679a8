"""Theorem 1's premise "without approximation errors" for ANY denoiser: compare it with the exact f*.

Every denoiser other than the exact one is compared with f*(tau, y) = E[s | y, tau] (Eq. 2)
on held-out rows (properties/reference_sample.py), with no capability required. A noise-blind
denoiser (attribute ``sigma``) is compared at its own sigma. Three figures:

* ``reference.excess_mse``: E||f - f*||^2 / E||s - f*||^2, the excess over the Bayes MSE;
* ``reference.max_deviation``: max over rows of ||f - f*||; a violation names that row (history, y,
  sigma). For a denoiser claiming exactness the rows are the held-out ones, the exploration rows
  y ~ N(0, I) included (f* is claimed everywhere). A trained network is not owed a sup over R^d;
  it is judged on balls around the consistent states of the examined histories, where its fixed
  points must live (below);
* ``reference.fixed_points``: for each examined agent history, the distance from each stable
  fixed point of f to the nearest stable fixed point of f* (not to the states).

What "close" means depends on what the denoiser claims:

* a denoiser that does not declare the capability ``trained`` claims to compute f* itself, in
  its own floating-point form. |f - f*| must then stay within round-off,
  ``reference_round_off`` (decdiff/tolerances.py) of the row's logits and the output dtype's
  epsilon: delta_b per row. So excess <= mean(delta_b^2), and a fixed point z of f lies within
  (delta + r_z + r_*) / (1 - rho*) of f*'s fixed point y* (f* is a contraction of factor rho*,
  its spectral radius, near y*: its Jacobian is symmetric; r are the Newton residuals);
* a trained denoiser (capability ``trained``) approximates f*: excess / Bayes <=
  TRAINED_REFERENCE_RELATIVE (decided by its bootstrap interval); stable fixed points within
  the deviation FIXED_POINT_DEVIATION_FRACTION x the state spacing (delta) that the fixed-point
  checks admit for non-exact denoisers; and on the ball B(s, R), R = r_min + delta around each
  consistent state s whose certificate holds (r_min: f*'s location radius), outputs within
  R - M(R) of f* (M: the image bound of implementations/dynamics/contraction.py), the largest
  deviation for which f maps the ball into itself and so, by Brouwer's theorem, has a fixed
  point within R of s.
"""

from __future__ import annotations

import numpy as np
import torch

from decdiff.implementations.dynamics.fixed_points import fixed_points
from decdiff.implementations.histories import concatenate_histories
from decdiff.properties.context import CheckContext
from decdiff.properties.fixed_point_sets import (
    deviation_tolerance,
    examined_histories,
    history_description,
    is_exact,
    stable_points,
)
from decdiff.properties.reference_sample import ReferenceSample, ball_sample, interval_below, reference_sample
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult
from decdiff.tolerances import (
    CONFIDENCE_LEVEL,
    FIXED_POINT_DEVIATION_FRACTION,
    FIXED_POINT_RESIDUAL,
    REFERENCE_ROUND_OFF_FACTOR,
    TRAINED_REFERENCE_RELATIVE,
    noise_widening,
    reference_round_off,
)

CLAIM = "Theorem 1"


def claims_exactness(ctx: CheckContext) -> bool:
    """A denoiser that does not declare ``trained`` claims to compute f* (to round-off)."""
    return "trained" not in frozenset(getattr(ctx.denoiser, "capabilities", ()))


def compared_sigma(ctx: CheckContext) -> float:
    """The denoiser's own sigma when it is noise-blind, else the context's."""
    own = getattr(ctx.denoiser, "sigma", None)
    return float(own) if own is not None else ctx.sigma


def reference_check(check_id: str, summary: str):
    """`register_check` for a reference check ``fn(ctx, sample) -> results``: skipped on the exact denoiser
    itself, otherwise given the held-out rows at `compared_sigma`."""
    def decorate(fn):
        def run(ctx: CheckContext) -> list[CheckResult]:
            if is_exact(ctx):
                return [CheckResult.make(id=check_id, claim=CLAIM, subject=ctx.subject(), assumptions={},
                                         conclusion_holds=None, skipped_reason="the exact denoiser is the reference "
                                         "itself", reproduce=ctx.reproduce(check_id), seed=ctx.seed)]
            return fn(ctx, reference_sample(ctx, compared_sigma(ctx)))
        register_check(check_id, CLAIM, summary)(run)
        return run
    return decorate


def round_off_per_row(ctx: CheckContext, sample: ReferenceSample) -> np.ndarray:
    """``[N]`` delta_b = `reference_round_off` of each row's largest |logit| over its consistent states, plus
    how far the denoiser's call-to-call noise can move a row where the probe measured one
    (implementations/denoisers/probes.py, `noise_widening`)."""
    key = ("reference_round_off", sample.sigma)
    if key not in ctx.shared:
        states = ctx.reference.states
        prepared = ctx.reference.prepare(sample.histories)
        support = states[prepared.support]
        log_weights = prepared.log_weights().expand(len(sample.histories), -1)
        logits = log_weights - torch.cdist(sample.y, support) ** 2 / (2.0 * sample.sigma ** 2)
        scale = torch.where(torch.isfinite(logits), logits.abs(), torch.zeros_like(logits)).amax(dim=1)
        diameter = float(torch.cdist(states, states).max())
        norm = float(states.norm(dim=1).max())
        noise = noise_widening(float(getattr(ctx.denoiser, "call_noise_rms", 0.0)), states.shape[1],
                               len(sample.histories))                     # measured by the denoiser probe
        ctx.shared[key] = np.array([reference_round_off(sample.eps, float(s), diameter, norm) for s in scale]) + noise
    return ctx.shared[key]


def _tolerance(ctx: CheckContext, sample: ReferenceSample) -> dict[str, object]:
    if claims_exactness(ctx):
        return {"regime": "exact (no 'trained' capability): round-off", "round_off_factor": REFERENCE_ROUND_OFF_FACTOR,
                "eps": sample.eps, "call_noise": float(getattr(ctx.denoiser, "call_noise", 0.0)),
                "largest_round_off": float(round_off_per_row(ctx, sample).max())}
    return {"regime": "trained: approximation", "relative_excess_mse": TRAINED_REFERENCE_RELATIVE,
            "confidence": CONFIDENCE_LEVEL, "deviation_fraction": FIXED_POINT_DEVIATION_FRACTION,
            "deviation": deviation_tolerance(ctx)}


def _result(ctx: CheckContext, check_id: str, sample: ReferenceSample, **rest: object) -> CheckResult:
    subject = ctx.subject(compared_at_sigma=sample.sigma)
    result = CheckResult.make(id=check_id, claim=CLAIM, subject=subject, assumptions={}, seed=ctx.seed,
                              tolerance=_tolerance(ctx, sample), reproduce=ctx.reproduce(check_id), **rest)
    return result


@reference_check("reference.excess_mse", "any denoiser against the exact f*: excess MSE relative to the "
                "Bayes MSE on held-out histories (round-off for a denoiser claiming exactness)")
def excess_mse(ctx: CheckContext, sample: ReferenceSample) -> list[CheckResult]:
    check_id = "reference.excess_mse"
    ratio, low, high = sample.ratio()
    bayes = float(sample.bayes.mean())
    if claims_exactness(ctx):
        bound = float((round_off_per_row(ctx, sample)[:sample.n_data] ** 2).mean()) / bayes
        conclusion = ratio <= bound
    else:
        bound = TRAINED_REFERENCE_RELATIVE
        conclusion = interval_below(low, high, bound)
    worst = int(np.argmax(sample.excess))
    return [_result(ctx, check_id, sample, conclusion_holds=conclusion, observed=ratio, bound=bound, ci=(low, high),
                    n_cases=int(sample.excess.size),
                    counterexample=None if conclusion is not False else sample.row(worst),
                    details={"observed_is": "E||f - f*||^2 / E||s - f*||^2 on held-out histories",
                             "excess_mse": float(sample.excess.mean()), "bayes_mse": bayes})]


@reference_check("reference.max_deviation", "any denoiser against the exact f*: the largest ||f - f*||, on "
                "held-out rows for a denoiser claiming exactness, on balls around the consistent states for a "
                "trained one")
def max_deviation(ctx: CheckContext, sample: ReferenceSample) -> list[CheckResult]:
    check_id = "reference.max_deviation"
    if not claims_exactness(ctx):
        return [_trained_max_deviation(ctx, sample)]
    distance, allowed = sample.deviation, round_off_per_row(ctx, sample)
    worst = int(np.argmax(distance / allowed))
    conclusion = bool((distance <= allowed).all())
    return [_result(ctx, check_id, sample, conclusion_holds=conclusion, observed=float(distance[worst]),
                    bound=float(allowed[worst]), n_cases=int(distance.size),
                    counterexample=None if conclusion else sample.row(worst),
                    details={"observed_is": "||f - f*|| at the row closest to (or furthest past) its bound",
                             "largest_deviation": float(distance.max())})]


def _trained_max_deviation(ctx: CheckContext, sample: ReferenceSample) -> CheckResult:
    """A trained network approximates f*, so no sup over all of R^d is owed; what its fixed points need is
    a small deviation where they live. On B(s, R) around each certified consistent state s (`ball_sample`,
    R = r_min + the deviation the fixed-point checks admit), sup ||f - f*|| <= R - M(R) makes f map the ball
    into itself, so f has a fixed point within R of s. The largest deviation on the data rows is reported."""
    examined = examined_histories(ctx)
    balls = ball_sample(ctx, sample.sigma, concatenate_histories([e.history for e in examined]),
                        np.stack([e.posterior for e in examined]), deviation_tolerance(ctx))
    details = {"observed_is": "||f - f*|| at the ball row closest to (or furthest past) its allowed deviation "
                              "R - M(R)", "balls": balls.balls, "states_without_certificate": balls.uncertified,
               "largest_deviation_on_data_rows": float(sample.deviation[:sample.n_data].max())}
    if balls.balls == 0:
        return _result(ctx, "reference.max_deviation", sample, conclusion_holds=None, n_cases=0,
                       details=details | {"reason": "no consistent state of the examined histories is certified at "
                                          "this sigma (sigma above sigma_c), so no ball has a derived bound"})
    distance = balls.deviation
    worst = int(np.argmax(distance / balls.slack))
    conclusion = bool((distance <= balls.slack).all())
    return _result(ctx, "reference.max_deviation", sample, conclusion_holds=conclusion,
                   observed=float(distance[worst]), bound=float(balls.slack[worst]), n_cases=int(distance.size),
                   counterexample=None if conclusion else balls.row(worst),
                   details=details | {"largest_deviation": float(distance.max()),
                                      "smallest_allowed_deviation": float(balls.slack.min())})


def _reference_stable(ctx: CheckContext, examined, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``([M, d], [M])``: f*'s stable fixed points of one history at `sigma` and their spectral radii."""
    found = fixed_points(ctx.reference, ctx.model, examined.history, sigma, policy=ctx.policy, start="posterior",
                         n_starts=ctx.budget.starts, seed=ctx.seed, max_steps=ctx.budget.iterations)
    stable = found.stable()
    if not stable:
        return np.zeros((0, ctx.model.state_dim)), np.zeros(0)
    return np.array([p.point for p in stable]), np.array([p.spectral_radius for p in stable])


@reference_check("reference.fixed_points", "any denoiser against the exact f*: each stable fixed point lies "
                "near a stable fixed point of f* (the distance the output deviation allows)")
def fixed_point_distance(ctx: CheckContext, sample: ReferenceSample) -> list[CheckResult]:
    check_id = "reference.fixed_points"
    sigma = sample.sigma
    exact_claim = claims_exactness(ctx)
    delta = float(round_off_per_row(ctx, sample).max()) if exact_claim else 0.0
    worst: tuple[float, float, float, object] | None = None          # (ratio, distance, tolerance, history)
    compared = 0
    for examined in examined_histories(ctx):
        own = stable_points(ctx, examined)
        reference, radius = _reference_stable(ctx, examined, sigma)
        if own.shape[0] == 0:
            continue
        if reference.shape[0] == 0:
            distance, tolerance = np.full(own.shape[0], np.inf), np.full(own.shape[0], 0.0)
        else:
            gaps = np.linalg.norm(own[:, None, :] - reference[None, :, :], axis=-1)
            nearest = gaps.argmin(axis=1)
            distance = gaps[np.arange(own.shape[0]), nearest]
            tolerance = ((delta + 2 * FIXED_POINT_RESIDUAL) / (1.0 - radius[nearest]) if exact_claim
                         else np.full(own.shape[0], deviation_tolerance(ctx)))
        compared += own.shape[0]
        k = int(np.argmax(distance / tolerance))
        if worst is None or distance[k] / tolerance[k] > worst[0]:
            worst = (float(distance[k] / tolerance[k]), float(distance[k]), float(tolerance[k]),
                     history_description(ctx, examined) | {"fixed_point": own[k].tolist(), "sigma": sigma})
    if worst is None:
        return [_result(ctx, check_id, sample, conclusion_holds=None, n_cases=0,
                        details={"reason": "the denoiser has no stable fixed point in the histories examined"})]
    conclusion = worst[0] <= 1.0
    return [_result(ctx, check_id, sample, conclusion_holds=conclusion, observed=worst[1], bound=worst[2],
                    n_cases=compared, counterexample=None if conclusion else worst[3],
                    details={"observed_is": "distance from a stable fixed point of f to the nearest stable fixed "
                                            "point of f* (the one closest to, or furthest past, its bound)",
                             "histories_examined": len(examined_histories(ctx))})]
