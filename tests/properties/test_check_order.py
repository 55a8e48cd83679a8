"""The order checks are listed in (every verify record and report) does not depend on import order."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

from decdiff.properties.registration import CHECK_MODULES, all_checks

LIST = "from decdiff.properties.registration import all_checks; print(' '.join(c.id for c in all_checks()))"


def _order(first_imports: list[str]) -> list[str]:
    """The checks' ids in a fresh process that imported `first_imports` before asking for them."""
    script = "".join(f"import decdiff.properties.{name}\n" for name in first_imports) + LIST
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()


def test_a_process_that_imported_other_modules_first_lists_the_checks_in_the_same_order():
    """As a Dask worker whose first task (a figure) imported `reference` before `theorem1` did."""
    plain = _order([])
    assert plain == [c.id for c in all_checks()]
    for first in (["trained_reference", "reference"], list(reversed(CHECK_MODULES))):
        assert _order(first) == plain


def test_every_module_that_registers_a_check_is_listed_once():
    package = importlib.import_module("decdiff.properties")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"decdiff.properties.{module.name}")
    registering = {c.run.__module__.rsplit(".", 1)[1] for c in all_checks()}
    assert sorted(CHECK_MODULES) == sorted(registering) and len(set(CHECK_MODULES)) == len(CHECK_MODULES)
