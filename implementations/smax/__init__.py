"""SMACv2-like experiments on JaxMARL's SMAX (issue 10): Table 1 and Fig. 2(g.2) analogues.

StarCraft II cannot run here; JaxMARL's SMAX reimplements SMACv2's interface in JAX and
runs on the CPU. Every result of this package is labelled "SMACv2-like (JaxMARL SMAX)",
never "SMACv2" (the differences are listed in `decdiff.implementations.smax.settings.DIFFERENCES_FROM_SMACV2`).

Modules (each imports jax, so import them only after `require_smax()`):

* `env`: the `smacv2_5_units` scenario with the heuristic enemy, per-race unit types,
  sight range, batched over environments with ``jax.vmap``, and the normalised state;
* `mappo`: the project's own small seeded MAPPO trainer (feed-forward actor and critic);
* `collect`: rollouts of a trained policy, (local history, normalised state) pairs, and
  their on-disk cache;
* `denoisers`: the paper's denoiser trained on those pairs with
  `decdiff.implementations.training.fit_denoiser`.

The package needs the optional extra ``decdiff[smax]`` (jaxmarl, jax, flax, six); nothing
outside it imports jax.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator

from decdiff.errors import InputError

#: The label every SMAX result carries.
LABEL = "SMACv2-like (JaxMARL SMAX)"


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """Silence file descriptor 1 and keep ``sys.stdout``/``sys.stderr``.

    jaxmarl 0.2.0 prints on import, after one of its modules (mabrax_env) has reset
    ``sys.stdout`` and ``sys.stderr`` to the interpreter's originals, which would also undo
    any capture (pytest's, a report's); so the streams are restored and the print is sent
    to the null device at the descriptor level.
    """
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                sys.__stdout__.flush()
                os.dup2(saved, 1)
    finally:
        os.close(saved)
        sys.stdout, sys.stderr = streams


def require_smax() -> None:
    """Import jax and jaxmarl (quietly, `_quiet_import`), or raise a one-line `InputError`."""
    if "jaxmarl.environments.smax" in sys.modules:
        return
    try:
        with _quiet_import():
            for name in ("jax", "six", "jaxmarl.environments.smax"):
                importlib.import_module(name)
    except ImportError as error:
        raise InputError(f"the SMACv2-like experiments need the optional extra decdiff[smax] (jaxmarl with jax; "
                         f"{error.name or error} is missing): pip install 'decdiff[smax]'", field="smax") from None
