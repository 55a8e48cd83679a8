"""Denoisers named on the command line: ``exact``, ``FILE.py:FACTORY`` or a checkpoint ``FILE.pt``.

A user's denoiser is wrapped in `CheckedDenoiser` (every call validated, ``timeout`` seconds at
most per call); importing the user's file and calling its factory are guarded the same way:
any failure, SystemExit and KeyboardInterrupt included, a factory over the time limit and a
factory returning something that is not callable are bad input, reported in one line.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.probes import probe_denoiser
from decdiff.implementations.denoisers.protocol import Denoiser
from decdiff.implementations.denoisers.validation import (
    USER_FAILURES,
    CheckedDenoiser,
    Overtime,
    time_limit,
)
from decdiff.implementations.models.decpomdp import DecPOMDP


def load_denoiser(spec: str, model: DecPOMDP, sigma: float, timeout: float | None = None) -> Denoiser:
    """The denoiser `spec` names, built for `model` (a factory gets ``(model, sigma)``); a user's denoiser
    and its factory may take `timeout` seconds per call (None: no limit)."""
    if spec == "exact":
        return ExactDenoiser(model)
    if ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path, factory = spec.rsplit(":", 1)
        checked = CheckedDenoiser(_from_factory(Path(path), factory, model, sigma, timeout), spec, timeout)
        return probe_denoiser(checked, model, sigma, spec)
    if spec.endswith(".pt"):
        from decdiff.implementations.denoisers.checkpoints import load_checkpoint

        return probe_denoiser(CheckedDenoiser(load_checkpoint(spec, model), spec, timeout), model, sigma, spec)
    raise InputError("expected 'exact', FILE.py:FACTORY or FILE.pt", field=spec)


def _from_factory(path: Path, factory: str, model: DecPOMDP, sigma: float, timeout: float | None) -> Denoiser:
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    module_spec = importlib.util.spec_from_file_location(f"decdiff_user_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except USER_FAILURES as error:  # the user's file: report any failure as bad input, in one line
        raise InputError(f"importing it failed: {type(error).__name__}: {error}", source=str(path)) from None
    if not callable(getattr(module, factory, None)):
        raise InputError(f"has no function {factory!r}", source=str(path))
    try:
        with time_limit(timeout):
            denoiser = getattr(module, factory)(model, sigma)
    except Overtime:
        raise InputError(f"{factory}(model, sigma) took longer than --denoiser-timeout {timeout:g} s",
                         source=str(path)) from None
    except USER_FAILURES as error:
        raise InputError(f"{factory}(model, sigma) failed: {type(error).__name__}: {error}",
                         source=str(path)) from None
    if not callable(denoiser):
        got = "None" if denoiser is None else f"a {type(denoiser).__name__}"
        raise InputError(f"{factory}(model, sigma) returned {got}, expected a denoiser", source=str(path))
    return denoiser
