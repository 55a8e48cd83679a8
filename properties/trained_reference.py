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
import torch

from decdiff.implementations.training import sample_pairs
from decdiff.properties.common import target_margin
from decdiff.properties.context import CheckContext
from decdiff.properties.registration import register_check
from decdiff.results import CheckResult
from decdiff.tolerances import CONFIDENCE_LEVEL, TRAINED_REFERENCE_RELATIVE

ID = "trained.reference_mse"
#: Held-out data uses seed ctx.seed + this (training uses the configured seed itself).
HELD_OUT_OFFSET = 7919
#: Noisy states per held-out history, and bootstrap resamples.
NOISE_DRAWS = 64
BOOTSTRAP = 500


@register_check(ID, "Theorem 1", "a trained denoiser is close to the exact f* (excess MSE relative to the Bayes MSE "
                "on held-out histories)", requires=("trained",))
def reference_mse(ctx: CheckContext) -> list[CheckResult]:
    seed = ctx.seed + HELD_OUT_OFFSET
    pairs = sample_pairs(ctx.model, ctx.history_length, ctx.budget.histories, seed=seed, policy=ctx.policy)
    histories = pairs.histories.repeat_interleave(NOISE_DRAWS)
    states = pairs.states.repeat_interleave(NOISE_DRAWS, dim=0)
    generator = torch.Generator().manual_seed(seed)
    y = states + ctx.sigma * torch.randn(states.shape, generator=generator, dtype=torch.float64)
    sigma = torch.full((states.shape[0],), ctx.sigma, dtype=torch.float64)
    with torch.no_grad():
        f = ctx.denoiser(histories, y, sigma).to(torch.float64)
    f_star = ctx.reference(histories, y, sigma)
    excess = ((f - f_star) ** 2).sum(dim=1).numpy()
    bayes = ((states - f_star) ** 2).sum(dim=1).numpy()
    ratio = float(excess.mean() / bayes.mean())
    idx = np.random.default_rng(seed).integers(0, excess.size, size=(BOOTSTRAP, excess.size))
    boot = excess[idx].mean(axis=1) / bayes[idx].mean(axis=1)
    low, high = (float(q) for q in np.quantile(boot, [0.5 - CONFIDENCE_LEVEL / 2, 0.5 + CONFIDENCE_LEVEL / 2]))
    if high <= TRAINED_REFERENCE_RELATIVE:
        conclusion = True
    elif low > TRAINED_REFERENCE_RELATIVE:
        conclusion = False
    else:
        conclusion = None
    trained_sigma = getattr(ctx.denoiser, "sigma", None)
    same_sigma = trained_sigma is None or bool(np.isclose(trained_sigma, ctx.sigma, rtol=1e-12))
    counterexample = None
    if conclusion is False:
        worst = int(np.argmax(excess))
        counterexample = {"agent": int(histories.agents[worst]),
                          "observations": histories.observations[worst].tolist(),
                          "actions": histories.actions[worst].tolist(), "y": y[worst].tolist(),
                          "f": f[worst].tolist(), "f_star": f_star[worst].tolist(),
                          "squared_error": float(excess[worst])}
    result = CheckResult.make(
        id=ID, claim="Theorem 1", subject=ctx.subject(),
        assumptions={"sigma_is_training_sigma": same_sigma},
        conclusion_holds=conclusion, observed=ratio, bound=TRAINED_REFERENCE_RELATIVE, ci=(low, high),
        n_cases=int(excess.size), seed=ctx.seed,
        tolerance={"relative_excess_mse": TRAINED_REFERENCE_RELATIVE, "confidence": CONFIDENCE_LEVEL},
        counterexample=counterexample, reproduce=ctx.reproduce(ID),
        details={"observed_is": "E||f - f*||^2 / E||s - f*||^2 on held-out histories",
                 "excess_mse": float(excess.mean()), "bayes_mse": float(bayes.mean()),
                 "denoiser_mse": float(((states - f) ** 2).sum(dim=1).mean()),
                 "held_out_seed": seed, "noise_draws_per_history": NOISE_DRAWS,
                 "training_sigma": trained_sigma},
    )
    target_margin(result.margin, ID)
    return [result]
