"""The public path of the pytest front end: ``from decdiff.testing import parametrize_with_checks``.

The code lives in `decdiff.checking.testing`; this module only re-exports its public names.
"""

from decdiff.checking.testing import (
    SESSION,
    CheckCase,
    Session,
    check_cases,
    parametrize_with_checks,
)

__all__ = ["SESSION", "CheckCase", "Session", "check_cases", "parametrize_with_checks"]
