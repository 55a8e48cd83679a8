"""Hypothesis profiles, registered in one place: ``ci`` (the default), ``dev`` and ``thorough``.

``HYPOTHESIS_PROFILE`` selects one (``HYPOTHESIS_PROFILE=thorough pytest``); tests load it
from ``tests/conftest.py`` and users' own property tests may call `load_profile` too.

* ``ci``: 40 examples, derandomized, so that CI runs are reproducible;
* ``dev``: 100 random examples;
* ``thorough``: 1000 examples, for counterexample hunting.

Tests whose examples are expensive (fixed-point searches) ask for a number of examples
sized for ``ci`` through `scaled_examples`, which scales it with the active profile.
"""

from __future__ import annotations

import os

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
