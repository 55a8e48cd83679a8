"""Theorem 1's premise "without approximation errors" for a trained denoiser.

On held-out histories (trajectories sampled with a seed disjoint from training's seed
stream: ctx.seed + HELD_OUT_OFFSET) and noisy states y = s + sigma z (Eq. 1), with the exact
denoiser f* = E[s | y, tau] (Eq. 2):

    excess = E || f(tau, y) - f*(tau, y) ||^2,     Bayes = E || s - f*(tau, y) ||^2,

and MSE(f) = Bayes + excess in expectation (f* is the conditional mean). The premise holds
when excess / Bayes <= TRAINED_REFERENCE_RELATIVE. The ratio's CONFIDENCE_LEVEL interval is
a percentile bootstrap over held-out rows; when it straddles the bound the verdict is
inconclusive. A noise-blind denoiser checked at a sigma other than its training sigma is
outside the premise (it was not trained for that sigma); the ratio is still reported.
"""

from __future__ import annotations

import numpy as np

from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.reference_sample import HELD_OUT_OFFSET, NOISE_DRAWS, interval_below, reference_sample
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult
from decdiff.tolerances import CONFIDENCE_LEVEL, TRAINED_REFERENCE_RELATIVE

ID = "trained.reference_mse"
#: HELD_OUT_OFFSET stays importable from here (the report reads it from this module).
__all__ = ["HELD_OUT_OFFSET", "ID", "reference_mse"]


@register_check(ID, "Theorem 1", "a trained denoiser is close to the exact f* (excess MSE relative to the Bayes MSE "
                "on held-out histories)", requires=("trained",))
def reference_mse(ctx: CheckContext) -> list[CheckResult]:
    sample = reference_sample(ctx, ctx.sigma)
    excess = sample.excess
    ratio, low, high = sample.ratio()
    conclusion = interval_below(low, high, TRAINED_REFERENCE_RELATIVE)
    trained_sigma = getattr(ctx.denoiser, "sigma", None)
    same_sigma = trained_sigma is None or bool(np.isclose(trained_sigma, ctx.sigma, rtol=1e-12))
    counterexample = None
    if conclusion is False:
        worst = int(np.argmax(excess))
        counterexample = sample.row(worst) | {"squared_error": float(excess[worst])}
    result = CheckResult.make(
        id=ID, claim="Theorem 1", subject=ctx.subject(),
        assumptions={"sigma_is_training_sigma": same_sigma},
        conclusion_holds=conclusion, observed=ratio, bound=TRAINED_REFERENCE_RELATIVE, ci=(low, high),
        n_cases=int(excess.size), seed=ctx.seed,
        tolerance={"relative_excess_mse": TRAINED_REFERENCE_RELATIVE, "confidence": CONFIDENCE_LEVEL},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "E||f - f*||^2 / E||s - f*||^2 on held-out histories",
                 "excess_mse": float(excess.mean()), "bayes_mse": float(sample.bayes.mean()),
                 "denoiser_mse": float(((sample.states - sample.f) ** 2).sum(dim=1).mean()),
                 "held_out_seed": sample.seed, "noise_draws_per_history": NOISE_DRAWS,
                 "training_sigma": trained_sigma},
    )
    target_margin(result.margin, ID)
    return [result]
