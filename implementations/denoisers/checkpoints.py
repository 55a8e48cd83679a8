"""Checkpoints of trained `MLPDenoiser`s: ``save_checkpoint`` / ``load_checkpoint``.

A checkpoint is a ``torch.save`` of plain data (loaded back with ``weights_only=True``,
so opening one never runs code):

    {"format": "decdiff-mlp-checkpoint", "format_version": 1,
     "state_dict": {...},                      # the network's tensors
     "metadata": {"model": model.name, "n_agents", "state_dim", "n_states",
                  "sigma", "history_length", "encoding": HistoryEncoding fields,
                  "initial_observation", "architecture": Architecture fields,
                  "decdiff_version", "training": TrainingRecord figures, ...}}

Loading against a model checks the model name, its sizes and the history encoding, and
refuses a mismatch with `InputError` naming the field; anything that is not such a
checkpoint (a corrupted file, another pickle, a missing key) is also an `InputError`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

import decdiff
from decdiff.errors import InputError
from decdiff.files import atomic_write
from decdiff.implementations.denoisers.mlp import Architecture, MLPDenoiser
from decdiff.implementations.histories import HistoryEncoding
from decdiff.implementations.models.decpomdp import DecPOMDP

FORMAT = "decdiff-mlp-checkpoint"
FORMAT_VERSION = 1


def model_fields(model: DecPOMDP) -> dict[str, Any]:
    """The model facts a checkpoint must agree with."""
    return {"model": model.name, "n_agents": model.n_agents, "state_dim": model.state_dim,
            "n_states": model.n_states, "initial_observation": model.has_initial_observation}


def save_checkpoint(path: str | os.PathLike, denoiser: MLPDenoiser, metadata: dict[str, Any]) -> Path:
    """Write `denoiser` with `metadata` (must name the ``model``: its `model.name`, and may carry
    the model's sizes, which are then checked on loading; σ, H, encoding, architecture and the
    decdiff version are filled in from the denoiser)."""
    if "model" not in metadata:
        raise InputError("checkpoint metadata must name the model (model.name)", field="model")
    meta = dict(metadata)
    meta.update({"sigma": denoiser.sigma, "history_length": denoiser.encoding.horizon,
                 "encoding": asdict(denoiser.encoding), "initial_observation": denoiser.initial_observation,
                 "architecture": asdict(denoiser.architecture), "decdiff_version": decdiff.__version__})
    state = {k: v.detach().cpu().clone() for k, v in denoiser.state_dict().items()}
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "state_dict": state, "metadata": meta},
                   handle)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw checkpoint dictionary; `InputError` for anything that is not a decdiff checkpoint."""
    source = str(path)
    if not Path(path).is_file():
        raise InputError("no such file", source=source)
    try:
        with warnings.catch_warnings():          # torch warns about foreign pickle protocols; we refuse them below
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable content is bad input, reported in one line
        raise InputError(f"not a decdiff checkpoint ({type(error).__name__})", source=source) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(f"not a decdiff checkpoint (format is not {FORMAT!r})", source=source, field="format")
    if raw.get("format_version") != FORMAT_VERSION:
        raise InputError(f"unsupported checkpoint version {raw.get('format_version')!r}", source=source,
                         field="format_version")
    for key in ("state_dict", "metadata"):
        if not isinstance(raw.get(key), dict):
            raise InputError("missing or malformed", source=source, field=key)
    return raw


def _dataclass_from(cls: type, values: Any, source: str, name: str) -> Any:
    names = {f.name for f in fields(cls)}
    if not isinstance(values, dict) or not set(values) <= names:
        raise InputError("malformed", source=source, field=name)
    try:
        return cls(**values)
    except TypeError:
        raise InputError("malformed", source=source, field=name) from None


def check_compatible(meta: dict[str, Any], model: DecPOMDP, source: str) -> HistoryEncoding:
    """Refuse a checkpoint trained on another model; returns its encoding."""
    expected = model_fields(model)
    for key, value in expected.items():
        if key in meta and meta[key] != value:
            raise InputError(f"checkpoint has {meta[key]!r}, the model has {value!r}", source=source, field=key)
    if "model" not in meta:
        raise InputError("missing", source=source, field="model")
    encoding = _dataclass_from(HistoryEncoding, meta.get("encoding"), source, "encoding")
    if not isinstance(meta.get("history_length"), int) or meta["history_length"] < 1:
        raise InputError("missing or not a positive integer", source=source, field="history_length")
    model_encoding = HistoryEncoding.for_model(model, meta["history_length"])
    for f in fields(HistoryEncoding):
        ours, theirs = getattr(model_encoding, f.name), getattr(encoding, f.name)
        if ours != theirs:
            raise InputError(f"checkpoint has {theirs!r}, the model has {ours!r}", source=source,
                             field=f"encoding.{f.name}")
    return encoding


def load_checkpoint(path: str | os.PathLike, model: DecPOMDP) -> MLPDenoiser:
    """The `MLPDenoiser` stored at `path`, checked against `model` (module docstring).

    The metadata stays available as ``denoiser.metadata``.
    """
    source = str(path)
    raw = read_checkpoint(path)
    meta = raw["metadata"]
    encoding = check_compatible(meta, model, source)
    arch = _dataclass_from(Architecture, meta.get("architecture"), source, "architecture")
    if arch.noise_conditional is False and not isinstance(meta.get("sigma"), (int, float)):
        raise InputError("a fixed-sigma checkpoint needs its training sigma", source=source, field="sigma")
    try:
        denoiser = MLPDenoiser(arch, encoding, sigma=meta.get("sigma"),
                               initial_observation=bool(meta.get("initial_observation",
                                                                 model.has_initial_observation)))
        denoiser.load_state_dict(raw["state_dict"])
    except InputError as error:
        raise InputError(error.problem, source=source, field=error.field) from None
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"weights do not fit the stored architecture ({' '.join(str(error).split())[:200]})",
                         source=source, field="state_dict") from None
    denoiser.metadata = meta
    return denoiser.eval()
