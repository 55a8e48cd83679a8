"""The VP/DDPM epsilon-prediction adapter against diffusers' DDPMScheduler schedules (the `dev` extra)."""

from __future__ import annotations

import pytest
import torch

from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.adapters import DDPMEpsilonDenoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget

diffusers = pytest.importorskip("diffusers")

MODEL = load_model("sensor-ring")
CHECKS = ["reference.excess_mse", "reference.max_deviation", "reference.fixed_points"]


def _schedule(kind: str) -> torch.Tensor:
    return diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=kind).alphas_cumprod.to(torch.float64)


class ExactEpsilon:
    """The exact epsilon-predictor of a schedule: eps_hat(x, t) = (x - sqrt(abar_t) f*(x / sqrt(abar_t); sigma_t))
    / sqrt(1 - abar_t), what a perfectly trained DDPM network computes."""

    def __init__(self, alphas_cumprod: torch.Tensor):
        self.abar = alphas_cumprod
        self.exact = ExactDenoiser(MODEL)

    def __call__(self, histories, x, t):
        abar = self.abar[t][:, None]
        sigma = torch.sqrt((1 - abar) / abar)[:, 0]
        return (x - abar.sqrt() * self.exact(histories, x / abar.sqrt(), sigma)) / (1 - abar).sqrt()


@pytest.mark.parametrize("kind", ["linear", "squaredcos_cap_v2"])
def test_the_exact_epsilon_model_of_a_diffusers_schedule_is_f_star_through_the_adapter(kind):
    abar = _schedule(kind)
    denoiser = DDPMEpsilonDenoiser(ExactEpsilon(abar), abar)
    t = int(denoiser.timesteps(torch.tensor([0.3], dtype=torch.float64))[0])
    sigma = float(torch.sqrt((1 - abar[t]) / abar[t]))                    # on the schedule's grid
    assert abs(sigma - 0.3) < 0.01
    results = check_denoiser(denoiser, MODEL, sigma=sigma, history_length=1, checks=CHECKS,
                             budget=Budget(histories=8, starts=16, iterations=100, fixed_point_histories=2))
    assert [r.verdict for r in results] == ["holds"] * 3, [(r.id, r.observed, r.bound) for r in results]
    shifted = DDPMEpsilonDenoiser(lambda h, x, t: ExactEpsilon(abar)(h, x, t + 40), abar)   # a wrong timestep
    wrong = check_denoiser(shifted, MODEL, sigma=sigma, history_length=1, checks=CHECKS[:1],
                           budget=Budget(histories=8, starts=16, iterations=100, fixed_point_histories=2))
    assert wrong[0].verdict == "violated"


def test_timesteps_nearest_and_interpolated_follow_sigma_squared_is_one_minus_abar_over_abar():
    abar = _schedule("linear")
    sigmas = torch.sqrt((1 - abar) / abar)
    nearest = DDPMEpsilonDenoiser(lambda h, x, t: x, abar)
    smooth = DDPMEpsilonDenoiser(lambda h, x, t: x, abar, timestep="interpolate")
    grid = sigmas[[10, 200, 700]]
    assert nearest.timesteps(grid).tolist() == [10, 200, 700]
    torch.testing.assert_close(smooth.timesteps(grid), torch.tensor([10.0, 200.0, 700.0], dtype=torch.float64))
    between = torch.sqrt(sigmas[200] * sigmas[201])[None]                # the midpoint in log sigma
    assert 200.0 < float(smooth.timesteps(between)[0]) < 201.0
    with pytest.raises(ValueError):
        DDPMEpsilonDenoiser(lambda h, x, t: x, abar, timestep="cubic")
