"""Hypothesis profiles `ci` (default), `dev`, `thorough`, registered in `decdiff.hypothesis_profiles`.

Select one with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

from decdiff.hypothesis_profiles import load_profile

load_profile()
