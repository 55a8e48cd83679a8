"""Hypothesis profiles `ci` (default), `dev`, `thorough`, registered in `decdiff.properties.hypothesis_profiles`.

Select one with ``HYPOTHESIS_PROFILE=thorough pytest``. Every test runs inside
`seed_only_generation`, so a property test draws the same examples whether it runs alone or
after other tests have imported more of decdiff (hypothesis otherwise mixes in literals
harvested from the loaded modules' source).
"""

from collections.abc import Iterator

import pytest

from decdiff.properties.hypothesis_profiles import load_profile, seed_only_generation

load_profile()


@pytest.fixture(autouse=True)
def _seed_only_generation() -> Iterator[None]:
    with seed_only_generation():
        yield
