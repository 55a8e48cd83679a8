"""A search where no candidate converges: `cluster` of nothing, and an `inconclusive` verdict with the reason."""

from __future__ import annotations

import torch

from decdiff.checking.registry import check_denoiser
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.fixed_points import cluster
from decdiff.implementations.models.registry import load_model
from decdiff.properties.context import Budget


def test_cluster_of_no_points_is_empty():
    reps, labels = cluster(torch.zeros(0, 4, dtype=torch.float64))
    assert reps.shape == (0, 4) and labels.shape == (0,)


class Noisy:
    """f* plus 1e-7 call-to-call noise: Newton never reaches the residual 1e-12."""

    sigma = None

    def __init__(self, model):
        self.exact = ExactDenoiser(model)
        self.generator = torch.Generator().manual_seed(0)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma) + 1e-7 * torch.randn(y.shape, generator=self.generator,
                                                                    dtype=torch.float64)


def test_a_noisy_denoiser_makes_fixed_point_checks_inconclusive_with_the_reason():
    model = load_model("sensor-ring")
    (result,) = check_denoiser(Noisy(model), model, sigma=0.3, history_length=1,
                               checks=["theorem2.attractors_are_states"],
                               budget=Budget(histories=8, starts=16, iterations=100, fixed_point_histories=2))
    assert result.verdict == "inconclusive"
    assert "no fixed-point candidate" in result.details["reason"] and "1e-12" in result.details["reason"]
