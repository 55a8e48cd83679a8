"""A passive checker that validates every call of a user's denoiser.

`CheckedDenoiser` wraps any denoiser and, on every call, checks that it returns a
floating-point tensor of shape ``[B, d]`` with only finite values and that it did not
raise. A failure becomes `decdiff.InputError` with one line naming the problem and the
input that caused it (the first offending row: its agent, history length and sigma), so
the command line exits with status 2 instead of printing a traceback or, worse,
checking a theorem on garbage. A call that raises ``SystemExit`` or ``KeyboardInterrupt``
is bad input too, and so is one that runs longer than the wrapper's ``timeout`` (seconds per
call, `time_limit`): the one line then names the call (its rows, agents and sigma).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.protocol import Denoiser, as_sigma
from decdiff.implementations.histories import HistoryBatch

#: What a user's code may raise that is reported as bad input (SystemExit and KeyboardInterrupt included:
#: the command line's own interruption, `decdiff.cli.common.Interrupted`, is none of these and passes).
USER_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


class Overtime(BaseException):
    """Raised inside a call that ran past its `time_limit` (a BaseException, so that a user's ``except
    Exception`` does not swallow it)."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `Overtime` in the block once `seconds` have passed (SIGALRM; no limit with None or off the
    main thread, where signals cannot be delivered)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum: int, frame: object) -> None:
        raise Overtime

    previous = signal.signal(signal.SIGALRM, alarm)
    started = time.monotonic()
    outer, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:           # an outer timer (e.g. pytest-timeout's) keeps what was left of its time
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3), interval)


class CheckedDenoiser:
    """`denoiser`, validated on every call (see the module docstring); `timeout`: seconds per call."""

    def __init__(self, denoiser: Denoiser, name: str, timeout: float | None = None) -> None:
        self.denoiser = denoiser
        self.name = name
        self.timeout = timeout
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

    def _call(self, histories: HistoryBatch, sigma: torch.Tensor) -> str:
        """The call in words: its rows, their agents and their sigma (a range when they differ)."""
        agents = ", ".join(str(a) for a in sorted(set(histories.agents.tolist()))) or "none"
        levels = ""
        if len(sigma) and not torch._C._functorch.is_functorch_wrapped_tensor(sigma):
            levels = ", sigma " + " to ".join(dict.fromkeys(f"{float(v):.4g}" for v in (sigma.min(), sigma.max())))
        return f"the call on {len(histories)} rows (agent {agents}{levels})"

    def __call__(self, histories: HistoryBatch, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        sigma = as_sigma(sigma, y.shape[0], y.dtype)
        try:
            with time_limit(self.timeout):
                out = self.denoiser(histories, y, sigma)
        except Overtime:
            raise InputError(f"{self._call(histories, sigma)} took longer than --denoiser-timeout "
                             f"{self.timeout:g} s", source=self.name) from None
        except USER_FAILURES as error:  # a user's denoiser: any failure is reported, in one line
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
