"""Output files written whole or not at all, and output paths refused before any work.

`atomic_write` writes to a temporary name in the target's folder and renames it onto the
target only when the writing finished: an interrupted run (Ctrl-C, SIGTERM, an error) leaves
the previous file, or none, never half of a new one. `require_writable` refuses an output
path whose folder is missing or not writable, in words, before the work that would fill it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from decdiff.errors import InputError


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """A handle on a temporary file beside `path` (mode ``"w"`` or ``"wb"``), renamed onto `path` on success
    (with the permissions a plain ``open`` would have given it) and removed on any exception, KeyboardInterrupt
    included."""
    path = Path(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by the with below, before the rename)
        mode, dir=path.parent, prefix=f".{path.name}.", suffix=".partial", delete=False,
        encoding=None if "b" in mode else "utf-8")
    try:
        with handle:
            yield handle
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically (see `atomic_write`); the path."""
    with atomic_write(path) as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see `atomic_write`); the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def require_writable(path: str | os.PathLike, *, folder: bool = False) -> Path:
    """`path` if a file (or, with `folder`, a folder that may not exist yet) can be written there, else
    `InputError` saying why in words."""
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise InputError("is a file, not a folder", source=str(path))
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            raise InputError(f"cannot create the folder: {existing} is a file", source=str(path))
        target = existing
    else:
        if path.is_dir():
            raise InputError("is a folder, not a file", source=str(path))
        target = path.parent if str(path.parent) else Path(".")
        if not target.is_dir():
            raise InputError(f"cannot write the file: the folder {target} does not exist", source=str(path))
    try:                    # a probe, not os.access: it also answers for root and for /proc-like folders
        tempfile.TemporaryFile(dir=target).close()
    except OSError as error:
        raise InputError(f"cannot write there: the folder {target} refuses new files "
                         f"({(error.strerror or 'unknown reason').lower()})", source=str(path)) from None
    return path
