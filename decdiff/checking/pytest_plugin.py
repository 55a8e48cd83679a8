"""decdiff's pytest plugin (entry point ``pytest11``, name ``decdiff``).

* marks every case of `decdiff.testing.parametrize_with_checks` with ``decdiff`` (select them
  with ``-m decdiff``, leave them out with ``-m "not decdiff"``);
* ``--decdiff-seed N`` reruns every case with seed N;
* ``--decdiff-json PATH`` writes every `CheckResult` of the session, with per-claim counts;
* prints the verdict counts of the session's cases in the terminal summary;
* the fixture ``decdiff_check`` is `decdiff.check_denoiser` with the session's seed, recording
  what it returns like the cases do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decdiff.checking import testing


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("decdiff", "decdiff property checks")
    group.addoption("--decdiff-seed", type=int, default=None, metavar="N",
                    help="seed of every decdiff check case (default: the one given to parametrize_with_checks)")
    group.addoption("--decdiff-json", default=None, metavar="PATH",
                    help="write every decdiff CheckResult of the session to PATH as JSON")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "decdiff: a decdiff property check case (decdiff.testing.parametrize_with_checks)")
    testing.SESSION.seed = config.getoption("--decdiff-seed")
    testing.SESSION.record = True
    testing.SESSION.results.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(isinstance(v, testing.CheckCase) for v in callspec.params.values()):
            item.add_marker(pytest.mark.decdiff)


@pytest.fixture
def decdiff_check():
    """``decdiff_check(denoiser, model, sigma=..., history_length=..., **kw) -> list[CheckResult]``."""
    from decdiff.checking.registry import check_denoiser

    def run(denoiser, model, **kwargs):
        if testing.SESSION.seed is not None:
            kwargs["seed"] = testing.SESSION.seed
        results = check_denoiser(denoiser, model, **kwargs)
        testing.SESSION.results.extend(results)
        return results

    return run


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    results = testing.SESSION.results
    if not results:
        return
    from decdiff.checking.registry import summarise

    counts = summarise(results).verdicts
    terminalreporter.write_line(f"decdiff: {len(results)} check results ("
                                + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ")")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--decdiff-json")
    if not path:
        return
    from decdiff.checking.registry import summarise

    results = testing.SESSION.results
    record = {"checks": [r.to_json() for r in results], "summary": summarise(results).to_json()}
    Path(path).write_text(json.dumps(record, indent=2) + "\n")
