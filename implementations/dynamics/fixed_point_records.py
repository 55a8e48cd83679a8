"""What a fixed-point search returns: one `FixedPoint` (y* = f(y*) with its eigenvalues, stability, basin and
nearest consistent state) and the `FixedPointSet` of one map at one sigma."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

#: Where a search draws its starts: N(0, sigma^2 I), N(0, I), or p_sigma(y | tau) = sum_k pi_k N(s_k, sigma^2 I).
StartDistribution = Literal["prior-sigma", "standard", "posterior"]


@dataclass(frozen=True)
class FixedPoint:
    """One fixed point y* = f(y*) (of a conditioned denoiser, or of a composite map).

    Attributes:
        point: ``[d]`` y*.
        residual: ||f(y*) - y*||.
        eigenvalues: ``[d]`` complex eigenvalues of J_f(y*).
        spectral_radius: max |lambda| (the paper's |lambda_max|, Eq. 11).
        stable: spectral radius < 1 - STABILITY_MARGIN.
        basin_count: starts whose plain iteration converged to y*.
        basin_mass: basin_count / number of starts; ``basin_ci`` its Wilson interval.
        nearest_state: index (into the model's states) of the nearest consistent state.
        distance: ||y* - s_nearest||.
        orbit: ``[k, d]`` the period-k orbit through y* for a composite map, else None.
    """

    point: np.ndarray
    residual: float
    eigenvalues: np.ndarray
    spectral_radius: float
    stable: bool
    basin_count: int
    basin_mass: float
    basin_ci: tuple[float, float]
    nearest_state: int
    distance: float
    orbit: np.ndarray | None = None


@dataclass(frozen=True)
class FixedPointSet:
    """Every fixed point found for one map at one sigma, with how they were found."""

    points: tuple[FixedPoint, ...]
    sigma: float
    start: StartDistribution
    n_starts: int
    unconverged: int
    consistent: np.ndarray
    posterior: np.ndarray
    tolerances: dict[str, float] = field(default_factory=dict)

    def stable(self) -> tuple[FixedPoint, ...]:
        return tuple(p for p in self.points if p.stable)

    def unstable(self) -> tuple[FixedPoint, ...]:
        return tuple(p for p in self.points if not p.stable)
