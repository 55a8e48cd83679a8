"""Hypothesis profiles, registered in one place: ``ci`` (the default), ``dev`` and ``thorough``.

``HYPOTHESIS_PROFILE`` selects one (``HYPOTHESIS_PROFILE=thorough pytest``); tests load it
from ``tests/conftest.py`` and users' own property tests may call `load_profile` too.

* ``ci``: 40 examples, derandomized, so that CI runs are reproducible;
* ``dev``: 100 random examples;
* ``thorough``: 1000 examples, for counterexample hunting.

Tests whose examples are expensive (fixed-point searches) ask for a number of examples
sized for ``ci`` through `scaled_examples`, which scales it with the active profile.
`seed_only_generation` makes what a seeded search draws depend on its seed alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

#: The environment variable that selects the profile.
PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
DEFAULT_PROFILE = "ci"
#: max_examples of each profile.
EXAMPLES = {"ci": 40, "dev": 100, "thorough": 1000}


def register_profiles() -> None:
    """Register the three profiles with hypothesis (idempotent)."""
    settings.register_profile("ci", max_examples=EXAMPLES["ci"], deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=EXAMPLES["dev"], deadline=None)
    settings.register_profile("thorough", max_examples=EXAMPLES["thorough"], deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])


def load_profile(name: str | None = None) -> str:
    """Register the profiles and load `name` (default: $HYPOTHESIS_PROFILE, else ``ci``); returns the name."""
    register_profiles()
    name = name or os.environ.get(PROFILE_VARIABLE, DEFAULT_PROFILE)
    settings.load_profile(name)
    return name


def scaled_examples(ci_examples: int) -> int:
    """`ci_examples` scaled by the active profile's size relative to ``ci`` (at least 1)."""
    return max(1, round(ci_examples * settings.default.max_examples / EXAMPLES["ci"]))


@contextmanager
def seed_only_generation() -> Iterator[None]:
    """Within this block hypothesis draws no constants harvested from the process's loaded source files.

    Since version 6.131.1, each integer, float, string or bytes draw of hypothesis's default
    provider is, with a small probability (0.05 by default), a literal from the source of every *local*
    module in ``sys.modules`` (outside site-packages and the standard library, test files
    excepted: decdiff itself, installed editable, and any user script). Which modules are
    loaded depends on the process's import history, so a seeded `hypothesis.find` drew
    different models after, say, ``import decdiff.report.suites`` (which adds the float
    literal -0.3 to the pool). Here that pool is empty (hypothesis's fixed built-in constants
    remain), so generation depends on the seed and the strategy alone. hypothesis offers no
    setting for this, so the block swaps two module globals of
    ``hypothesis.internal.conjecture.providers`` (the pool getter and the cache of permitted
    constants) and restores them on exit; not thread-safe. Without that getter (hypothesis
    before 6.131.1, which harvests nothing) it does nothing.
    """
    from hypothesis.internal.conjecture import providers

    if not hasattr(providers, "_get_local_constants"):
        yield
        return
    from hypothesis.internal.constants_ast import Constants

    getter, cache = providers._get_local_constants, providers.CONSTANTS_CACHE
    providers._get_local_constants, providers.CONSTANTS_CACHE = Constants, type(cache)(cache.max_size)
    try:
        yield
    finally:
        providers._get_local_constants, providers.CONSTANTS_CACHE = getter, cache
