"""Shared fixtures of the SMACv2-like (JaxMARL SMAX) tests: one tiny section built once per session.

jaxmarl is imported here through `decdiff.implementations.smax.require_smax`, which keeps pytest's output
capture intact (jaxmarl 0.2.0 resets sys.stdout/sys.stderr on import); the test modules
then skip with ``pytest.importorskip("jaxmarl")`` when the extra is not installed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from decdiff.errors import InputError
from decdiff.implementations.smax import require_smax

try:
    require_smax()
except InputError:          # the extra is missing: the test modules skip themselves
    pass


@pytest.fixture(scope="session")
def tiny_config():
    """SMAX_QUICK's MAPPO and rollouts with smaller networks and cells (seconds once compiled)."""
    from decdiff.report.smax import SMAX_QUICK

    return replace(SMAX_QUICK, name="tiny", base=replace(SMAX_QUICK.base, samples=300, epochs=8, width=32),
                   table=(("width", (16, 32)), ("history_length", (1, 2))), psnr_samples=32, fig2_pairs=150,
                   fig2_anchors=8)


@pytest.fixture(scope="session")
def smax_cache(tmp_path_factory) -> Path:
    """The session's cache of policies, rollouts and denoisers."""
    return tmp_path_factory.mktemp("smax_cache")


@pytest.fixture(scope="session")
def tiny_section(tiny_config, smax_cache) -> dict:
    """The section's JSON for `tiny_config`, seed 0 (trains the QUICK MAPPO policy into `smax_cache`)."""
    from decdiff.report.smax import smax_section_data

    return smax_section_data(tiny_config, 0, smax_cache)
