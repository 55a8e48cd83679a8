"""On-disk cache of arrays with the settings that made them.

An entry of kind K is ``<cache_dir>/<K>/<key>.npz`` (the arrays) and ``<key>.json`` (the
settings and any extra information, e.g. a training record), where ``key`` is a hash of
the settings' canonical JSON. An entry is used only when its stored settings equal the
requested ones (a changed setting changes the key; the comparison also guards against a
truncated or foreign file). Files are written to a temporary name and renamed, so
parallel writers never leave half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


def canonical(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as they read back from JSON (tuples become lists)."""
    return json.loads(json.dumps(settings, sort_keys=True))


def settings_key(settings: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of the settings' canonical JSON."""
    return hashlib.sha256(json.dumps(canonical(settings), sort_keys=True).encode()).hexdigest()[:16]


def entry_paths(cache_dir: Path, kind: str, settings: dict[str, Any]) -> tuple[Path, Path]:
    stem = Path(cache_dir) / kind / settings_key(settings)
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def load_cached(cache_dir: Path, kind: str,
                settings: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """(arrays, info) of a cached entry made with exactly `settings`, else None."""
    arrays_path, info_path = entry_paths(cache_dir, kind, settings)
    if not (arrays_path.is_file() and info_path.is_file()):
        return None
    try:
        info = json.loads(info_path.read_text())
        if info.get("settings") != canonical(settings):
            return None
        with np.load(arrays_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
    return arrays, info.get("info", {})


def save_cached(cache_dir: Path, kind: str, settings: dict[str, Any], arrays: dict[str, np.ndarray],
                info: dict[str, Any] | None = None) -> Path:
    """Write an entry (arrays first, then the JSON that makes it valid); returns the npz path."""
    arrays_path, info_path = entry_paths(cache_dir, kind, settings)
    arrays_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = arrays_path.with_name(f".{arrays_path.stem}.{os.getpid()}.npz")
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, arrays_path)
    text = json.dumps({"settings": canonical(settings), "info": info or {}}, indent=1, sort_keys=True)
    temporary = info_path.with_name(f".{info_path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, info_path)
    return arrays_path
