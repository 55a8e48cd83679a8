"""Held-out rows on which a denoiser is compared with the exact f*: what the reference checks share.

Histories tau are sampled from the model (trajectories under the context's policy, seed
ctx.seed + HELD_OUT_OFFSET, a stream disjoint from training's seed), noisy states
y = s + sigma z ~ p_sigma(y | tau) (Eq. 1) with NOISE_DRAWS draws per history, and both
the denoiser f and f*(tau, y) = E[s | y, tau] (Eq. 2) are evaluated on them:

    excess = E || f - f* ||^2,    Bayes = E || s - f* ||^2,    MSE(f) = Bayes + excess

in expectation (f* is the conditional mean). The ratio excess / Bayes comes with a
percentile-bootstrap CONFIDENCE_LEVEL interval over rows. After these data rows come as many
exploration rows, the same histories with y ~ N(0, I) (the start distribution of the
fixed-point exploration and of the composite experiments): p_sigma(y | tau) puts almost no
mass far from the states, where a wrong denoiser can still differ from f*; the largest
deviation is taken over both. Used by `trained.reference_mse`
and the `reference.*` checks; cached per comparison sigma in ``ctx.shared``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from decdiff.implementations.dynamics.certify import certify_rows
from decdiff.implementations.dynamics.contraction import geometry, self_map_slack
from decdiff.implementations.histories import HistoryBatch
from decdiff.implementations.training import sample_pairs
from decdiff.properties.context import CheckContext
from decdiff.tolerances import CONFIDENCE_LEVEL

#: Held-out data uses seed ctx.seed + this (training uses the configured seed itself).
HELD_OUT_OFFSET = 7919
#: Noisy states per held-out history, and bootstrap resamples.
NOISE_DRAWS = 64
BOOTSTRAP = 500


@dataclass(frozen=True, eq=False)
class ComparedRows:
    """Rows on which a denoiser f meets f*: histories ``[N]``, y, f and f* ``[N, d]`` (float64), at `sigma`."""

    histories: HistoryBatch
    y: torch.Tensor
    f: torch.Tensor
    f_star: torch.Tensor
    sigma: float

    @property
    def deviation(self) -> np.ndarray:
        """``[N]``: ||f - f*|| on every row."""
        return torch.linalg.vector_norm(self.f - self.f_star, dim=1).numpy()

    def row(self, k: int) -> dict:
        """Row k as a counterexample: the history, y, sigma, f and f*."""
        h = self.histories
        return {"agent": int(h.agents[k]), "observations": h.observations[k].tolist(),
                "actions": h.actions[k].tolist(), "y": self.y[k].tolist(), "sigma": self.sigma,
                "f": self.f[k].tolist(), "f_star": self.f_star[k].tolist(),
                "distance": float(torch.linalg.vector_norm(self.f[k] - self.f_star[k]))}


@dataclass(frozen=True, eq=False)
class ReferenceSample(ComparedRows):
    """The held-out rows (`ComparedRows`) with their true states ``[N, d]`` and the machine epsilon of the
    denoiser's own output dtype; the first `n_data` rows are the data rows (deviation: all rows), the rest
    exploration rows."""

    states: torch.Tensor
    seed: int
    eps: float
    n_data: int

    @property
    def excess(self) -> np.ndarray:
        """``[n_data]``: ||f - f*||^2 per data row."""
        return self.deviation[:self.n_data] ** 2

    @property
    def bayes(self) -> np.ndarray:
        """``[n_data]``: ||s - f*||^2 per data row."""
        return ((self.states - self.f_star)[:self.n_data] ** 2).sum(dim=1).numpy()

    def ratio(self) -> tuple[float, float, float]:
        """excess / Bayes and its CONFIDENCE_LEVEL percentile-bootstrap interval (seeded)."""
        excess, bayes = self.excess, self.bayes
        idx = np.random.default_rng(self.seed).integers(0, excess.size, size=(BOOTSTRAP, excess.size))
        boot = excess[idx].mean(axis=1) / bayes[idx].mean(axis=1)
        low, high = np.quantile(boot, [0.5 - CONFIDENCE_LEVEL / 2, 0.5 + CONFIDENCE_LEVEL / 2])
        return float(excess.mean() / bayes.mean()), float(low), float(high)

def interval_below(low: float, high: float, bound: float) -> bool | None:
    """True when the whole interval is at most `bound`, False when it lies above, None when it straddles it."""
    return True if high <= bound else False if low > bound else None


def reference_sample(ctx: CheckContext, sigma: float) -> ReferenceSample:
    """The held-out rows of the context at noise level `sigma` (module docstring), cached."""
    key = ("reference_sample", float(sigma))
    if key not in ctx.shared:
        seed = ctx.seed + HELD_OUT_OFFSET
        pairs = sample_pairs(ctx.model, ctx.history_length, ctx.budget.histories, seed=seed, policy=ctx.policy)
        histories = pairs.histories.repeat_interleave(NOISE_DRAWS)
        states = pairs.states.repeat_interleave(NOISE_DRAWS, dim=0)
        generator = torch.Generator().manual_seed(seed)
        n_data = states.shape[0]
        y = torch.cat([states + sigma * torch.randn(states.shape, generator=generator, dtype=torch.float64),
                       torch.randn(states.shape, generator=generator, dtype=torch.float64)])
        histories = histories[torch.arange(2 * n_data) % n_data]           # the same histories, twice
        states = torch.cat([states, states])
        sigmas = torch.full((states.shape[0],), sigma, dtype=torch.float64)
        with torch.no_grad():
            f = ctx.denoiser(histories, y, sigmas)
        ctx.shared[key] = ReferenceSample(histories, y, f.detach().to(torch.float64),
                                          ctx.reference(histories, y, sigmas), float(sigma), states=states, seed=seed,
                                          eps=float(torch.finfo(f.dtype).eps), n_data=n_data)
    return ctx.shared[key]


#: Points drawn uniformly in each ball of `ball_sample` (the ball's centre is added to them).
BALL_DRAWS = 64


@dataclass(frozen=True, eq=False)
class BallSample(ComparedRows):
    """Rows y uniform in balls B(s, R) around consistent states s (`ball_sample`, `ComparedRows`): each
    row's ball centre (state index), radius R and slack epsilon = R - M(R); `uncertified` counts the
    consistent states that got no ball."""

    state: np.ndarray
    radius: np.ndarray
    slack: np.ndarray
    balls: int
    uncertified: int

    def row(self, k: int) -> dict:
        """Row k as a counterexample: the history, y, sigma, f, f*, and the ball it was drawn in."""
        return super().row(k) | {"ball": {"state": int(self.state[k]), "radius": float(self.radius[k]),
                                          "allowed_deviation": float(self.slack[k])}}


def ball_sample(ctx: CheckContext, sigma: float, histories: HistoryBatch, posteriors: np.ndarray,
                margin: float) -> BallSample:
    """Rows around each consistent state s of `histories` whose contraction certificate holds at `sigma`.

    The ball is B(s, R), R = min(r_min + margin, r_max) (r_min, r_max: f*'s location and
    uniqueness radii, implementations/dynamics/contraction.py step (5)); there M(R) < R, and a
    denoiser with sup ||f - f*|| <= R - M(R) on the ball has a fixed point in it (`self_map_slack`).
    BALL_DRAWS points uniform in each ball (radius R U^(1/d), U uniform) plus its centre, seeded
    from ctx.seed + HELD_OUT_OFFSET; cached per sigma.
    """
    key = ("ball_sample", float(sigma))
    if key in ctx.shared:
        return ctx.shared[key]
    states = np.ascontiguousarray(ctx.model.states, dtype=np.float64)
    geo = geometry(states, posteriors)
    cert = certify_rows(geo, np.asarray(float(sigma)))
    certified = np.flatnonzero(cert["holds"])
    radius = np.minimum(cert["location_radius"][certified] + margin, cert["uniqueness_radius"][certified])
    slack = self_map_slack(geo, certified, np.full(certified.size, 1.0 / sigma ** 2), radius)
    draws = BALL_DRAWS + 1
    generator = torch.Generator().manual_seed(ctx.seed + HELD_OUT_OFFSET)
    d = states.shape[1]
    direction = torch.randn((certified.size, draws, d), generator=generator, dtype=torch.float64)
    direction = direction / torch.linalg.vector_norm(direction, dim=2, keepdim=True)
    scale = torch.rand((certified.size, draws, 1), generator=generator, dtype=torch.float64) ** (1.0 / d)
    scale[:, 0] = 0.0                                                        # the centre itself
    centre = torch.from_numpy(states[geo.state[certified]])
    y = (centre[:, None, :] + torch.from_numpy(radius)[:, None, None] * scale * direction).reshape(-1, d)
    rows = histories[torch.from_numpy(geo.history[certified]).repeat_interleave(draws)]
    sigmas = torch.full((y.shape[0],), float(sigma), dtype=torch.float64)
    with torch.no_grad():
        f = ctx.denoiser(rows, y, sigmas).detach().to(torch.float64) if y.shape[0] else y.clone()
    sample = BallSample(rows, y, f, ctx.reference(rows, y, sigmas) if y.shape[0] else y.clone(), float(sigma),
                        state=np.repeat(geo.state[certified], draws), radius=np.repeat(radius, draws),
                        slack=np.repeat(slack, draws), balls=int(certified.size),
                        uncertified=int(len(geo.state) - certified.size))
    ctx.shared[key] = sample
    return sample
