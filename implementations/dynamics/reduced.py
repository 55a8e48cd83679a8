"""The exact denoiser in reduced coordinates: the affine hull of a history's consistent states.

f*(tau, y) = sum_k w_k(y) s_k (Eq. 2) is a convex combination of the k consistent states, so it
maps R^d into their convex hull, and every flow (Eq. 7) lies in their affine hull
A = c + span(Q) after one step; Q is ``[d, m]`` with orthonormal columns, m <= min(d, k - 1).
Take c the point of A nearest the origin (Q^T c = 0) and z = Q^T y. Since s_k = c + Q z_k and
y - s_k = Q (z - z_k) + ((I - Q Q^T) y - c), where the second term does not depend on k,

    ||y - s_k||^2 = ||z - z_k||^2 + const(y),   so   w_k(y) = w_k(z),
    f*(y) = c + Q g(Q^T y),   g(z) = sum_k w_k(z) z_k,   J_f*(y) = Q J_g(z) Q^T.

Fixed points of f* therefore lie in A and are the lifts c + Q z* of the fixed points of g, with
the eigenvalues of J_g(z*) and d - m zeros (the Jacobian Cov_w / sigma^2 vanishes off A). The
start distributions of the search map onto themselves: Q^T N(0, sigma^2 I_d) = N(0, sigma^2 I_m),
and p_sigma(y | tau) projects to sum_k pi_k N(z_k, sigma^2 I_m). So the search runs in m
dimensions (a ``[B, m, m]`` Jacobian and its eigvalsh instead of ``[B, d, d]``: d = 2025,
m = 258 on fireFighting_2_4_3) and returns points in R^d. Trained denoisers are not mixtures
and keep all d dimensions.

The rank m is numpy's ``matrix_rank`` rule (singular values of the states minus the first one
above sigma_max * max(k, d) * machine epsilon), the span the isolation test of `isolation` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from decdiff.implementations.dynamics.flows import MixtureMap

if TYPE_CHECKING:
    from decdiff.implementations.dynamics.fixed_points import DifferentiableMap, FixedPointSet


@dataclass(frozen=True)
class AffineHull:
    """The affine hull c + span(Q) of some points of R^d.

    Attributes:
        origin: ``[d]`` c, the point of the hull nearest the origin (Q^T c = 0).
        basis: ``[d, m]`` Q, orthonormal columns.
    """

    origin: torch.Tensor
    basis: torch.Tensor

    @property
    def dimension(self) -> int:
        """m, the hull's dimension."""
        return int(self.basis.shape[1])

    def coordinates(self, y: torch.Tensor) -> torch.Tensor:
        """``[B, m]``: z = Q^T y, the coordinates of y's orthogonal projection onto the hull."""
        return y.to(torch.float64) @ self.basis

    def lift(self, z: torch.Tensor) -> torch.Tensor:
        """``[..., d]``: c + Q z."""
        return self.origin + z.to(torch.float64) @ self.basis.T

    def lift_jacobian(self, jacobian: torch.Tensor) -> torch.Tensor:
        """``[B, d, d]``: Q J Q^T, the Jacobian in R^d of a map that only moves along the hull."""
        return self.basis @ jacobian @ self.basis.T

    def lift_eigenvalues(self, eigenvalues: np.ndarray) -> np.ndarray:
        """``[..., d]``: the m eigenvalues of J_g and d - m zeros, sorted (real part first) as eigvalsh sorts."""
        zeros = np.zeros((*eigenvalues.shape[:-1], self.basis.shape[0] - self.dimension), dtype=eigenvalues.dtype)
        return np.sort(np.concatenate([zeros, eigenvalues], axis=-1), axis=-1)


def affine_hull(points: torch.Tensor) -> AffineHull:
    """The affine hull of ``points [k, d]`` (k >= 1), from the SVD of the points minus the first one.

    A single point gets the line through it along the first axis (m = 1): everything above holds
    for any affine subspace that contains the states.
    """
    points = points.to(torch.float64)
    centred = points - points[:1]
    _, values, right = torch.linalg.svd(centred, full_matrices=False)
    cutoff = values.max() * max(centred.shape) * torch.finfo(torch.float64).eps if values.numel() else 0.0
    basis = right[values > cutoff].T.contiguous()
    if basis.shape[1] == 0:                 # one point: a line through it, so that maps keep a coordinate
        basis = torch.eye(points.shape[1], 1, dtype=torch.float64)
    return AffineHull(points[0] - basis @ (basis.T @ points[0]), basis)


@dataclass(frozen=True)
class SearchProblem:
    """What the fixed-point search runs on: a map, the states and the posterior (`find_fixed_points`).

    For the exact denoiser with m < d these are g, the reduced consistent states and their
    weights, and `lift` maps the result back to R^d; otherwise they are the caller's, unchanged.

    Attributes:
        map: the map whose fixed points are searched.
        states: ``[S, d']`` states in the map's coordinates.
        posterior: ``[S]`` their weights.
        hull: the hull of the reduction, or None.
        consistent: ``[S]`` the caller's indices of the states (with a hull).
        full_posterior: the caller's posterior (with a hull).
    """

    map: DifferentiableMap
    states: torch.Tensor
    posterior: torch.Tensor
    hull: AffineHull | None = None
    consistent: torch.Tensor | None = None
    full_posterior: torch.Tensor | None = None

    def lift(self, found: FixedPointSet) -> FixedPointSet:
        """The search's result in the caller's coordinates: points c + Q z*, eigenvalues with d - m zeros,
        state indices into the caller's states."""
        if self.hull is None:
            return found
        hull, consistent = self.hull, self.consistent.numpy()
        points = tuple(replace(
            p, point=hull.lift(torch.from_numpy(p.point)).numpy(), eigenvalues=hull.lift_eigenvalues(p.eigenvalues),
            nearest_state=int(consistent[p.nearest_state]),
            orbit=None if p.orbit is None else hull.lift(torch.from_numpy(p.orbit)).numpy()) for p in found.points)
        return replace(found, points=points, consistent=consistent[found.consistent],
                       posterior=self.full_posterior.numpy())


def search_problem(f: DifferentiableMap, states: torch.Tensor, posterior: torch.Tensor) -> SearchProblem:
    """The reduced problem when ``f`` is the exact denoiser's mixture over exactly the consistent states
    of ``posterior`` (a `MixtureMap`, or a conditioned exact denoiser holding one) and their hull has
    fewer dimensions than R^d; else the caller's problem, unchanged."""
    unchanged = SearchProblem(f, states, posterior)
    mixture = f if isinstance(f, MixtureMap) else getattr(f, "mixture", None)
    if not isinstance(mixture, MixtureMap):
        return unchanged
    consistent = torch.nonzero(posterior > 0).flatten()
    weights = posterior[consistent].to(torch.float64)
    if mixture.states.shape != (consistent.numel(), states.shape[1]) or \
            not torch.equal(mixture.states, states[consistent].to(torch.float64)) or \
            not torch.equal(mixture.log_weights, torch.log(weights)):
        return unchanged
    hull = affine_hull(mixture.states)
    if hull.dimension >= states.shape[1]:
        return unchanged
    reduced = hull.coordinates(mixture.states)
    return SearchProblem(MixtureMap(reduced, weights, frame=(mixture.states, hull.basis)), reduced, weights, hull,
                         consistent, posterior)
