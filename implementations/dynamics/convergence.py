"""When a fixed-point search finds nothing: `NoConvergence`, which checks turn into an ``inconclusive`` verdict.

A search refines its candidates by Newton to the residual ||f(y) - y|| <= FIXED_POINT_RESIDUAL;
a denoiser whose output changes from call to call (noise, drift), or that has no fixed point the
iteration reaches, leaves no candidate there. That is not a property of the claim being checked:
the check cannot decide, and says why (`decdiff.properties.registration.run_checks`).
"""

from __future__ import annotations

import torch


class NoConvergence(RuntimeError):
    """No candidate of a fixed-point search reached the residual it needs; the message gives the reason."""


def require_converged(candidates: torch.Tensor, residual: torch.Tensor, bound: float) -> torch.Tensor:
    """The ``[M, d]`` candidates whose ``residual <= bound``; `NoConvergence` when there are none."""
    ok = residual <= bound
    if not bool(ok.any()):
        best = float(residual.min()) if residual.numel() else float("nan")
        raise NoConvergence(f"no fixed-point candidate of {candidates.shape[0]} reached the Newton residual "
                            f"{bound:g} (smallest {best:.2g}): the denoiser's output may change between calls")
    return candidates[ok]
