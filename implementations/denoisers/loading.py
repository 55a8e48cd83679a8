"""Denoisers named on the command line: ``exact``, ``FILE.py:FACTORY`` or a checkpoint ``FILE.pt``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.probes import probe_denoiser
from decdiff.implementations.denoisers.protocol import Denoiser
from decdiff.implementations.denoisers.validation import CheckedDenoiser
from decdiff.implementations.models.decpomdp import DecPOMDP


def load_denoiser(spec: str, model: DecPOMDP, sigma: float) -> Denoiser:
    """The denoiser `spec` names, built for `model` (a factory gets ``(model, sigma)``)."""
    if spec == "exact":
        return ExactDenoiser(model)
    if ":" in spec and spec.rsplit(":", 1)[0].endswith(".py"):
        path, factory = spec.rsplit(":", 1)
        return probe_denoiser(CheckedDenoiser(_from_factory(Path(path), factory, model, sigma), spec), model, sigma, spec)
    if spec.endswith(".pt"):
        from decdiff.implementations.denoisers.checkpoints import load_checkpoint

        return probe_denoiser(CheckedDenoiser(load_checkpoint(spec, model), spec), model, sigma, spec)
    raise InputError("expected 'exact', FILE.py:FACTORY or FILE.pt", field=spec)


def _from_factory(path: Path, factory: str, model: DecPOMDP, sigma: float) -> Denoiser:
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    module_spec = importlib.util.spec_from_file_location(f"decdiff_user_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:  # the user's file: report any failure as bad input, in one line
        raise InputError(f"importing it failed: {type(error).__name__}: {error}", source=str(path)) from None
    if not callable(getattr(module, factory, None)):
        raise InputError(f"has no function {factory!r}", source=str(path))
    try:
        return getattr(module, factory)(model, sigma)
    except Exception as error:
        raise InputError(f"{factory}(model, sigma) failed: {type(error).__name__}: {error}",
                         source=str(path)) from None
