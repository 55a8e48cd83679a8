"""A passive checker that validates every call of a user's denoiser.

`CheckedDenoiser` wraps any denoiser and, on every call, checks that it returns a
floating-point tensor of shape ``[B, d]`` with only finite values and that it did not
raise. A failure becomes `decdiff.InputError` with one line naming the problem and the
input that caused it (the first offending row: its agent, history length and sigma), so
the command line exits with status 2 instead of printing a traceback or, worse,
checking a theorem on garbage.
"""

from __future__ import annotations

import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.protocol import Denoiser, as_sigma
from decdiff.implementations.histories import HistoryBatch


class CheckedDenoiser:
    """`denoiser`, validated on every call (see the module docstring)."""

    def __init__(self, denoiser: Denoiser, name: str) -> None:
        self.denoiser = denoiser
        self.name = name
        self.sigma = getattr(denoiser, "sigma", None)
        self.capabilities = frozenset(getattr(denoiser, "capabilities", ()))
        self.calls = 0

    def __getattr__(self, attribute: str):
        return getattr(self.denoiser, attribute)

    def _where(self, histories: HistoryBatch, sigma: torch.Tensor, row: int) -> str:
        if len(histories) == 0:
            return "(an empty batch)"
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor(sigma)     # inside vmap: no value to print
        level = "" if wrapped else f", sigma {float(sigma[row]):.4g}"
        return f"(row {row}: agent {int(histories.agents[row])}, history length {int(histories.lengths[row])}{level})"

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        sigma = as_sigma(sigma, y.shape[0], y.dtype)
        try:
            out = self.denoiser(histories, y, sigma)
        except Exception as error:  # a user's denoiser: any failure is reported, in one line
            raise InputError(f"raised {type(error).__name__}: {error} {self._where(histories, sigma, 0)}",
                             source=self.name) from None
        if not isinstance(out, torch.Tensor):
            raise InputError(f"returned {type(out).__name__}, not a torch.Tensor", source=self.name)
        if tuple(out.shape) != tuple(y.shape):
            raise InputError(f"returned shape {tuple(out.shape)} for input of shape {tuple(y.shape)}",
                             source=self.name)
        if not out.dtype.is_floating_point:
            raise InputError(f"returned dtype {out.dtype}, not a floating-point type", source=self.name)
        if torch._C._functorch.is_functorch_wrapped_tensor(out):
            return out      # under vmap/jacrev values cannot be branched on; plain calls check them
        bad = ~torch.isfinite(out).all(dim=1)
        if bool(bad.any()):
            row = int(torch.nonzero(bad)[0])
            kind = "NaN" if bool(torch.isnan(out[row]).any()) else "infinity"
            raise InputError(f"returned {kind} {self._where(histories, sigma, row)}", source=self.name)
        return out if y.requires_grad else out.detach()      # no parameter graph outside a Jacobian
