"""The pytest front end: a user's test file with `parametrize_with_checks`, run by pytest in a subprocess,
with the plugin loaded through its ``pytest11`` entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

import pytest

from decdiff.properties.registration import all_checks
from decdiff.testing import check_cases, parametrize_with_checks

USER_TESTS = '''
import torch

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.testing import parametrize_with_checks


class Shifted:
    """The exact denoiser moved by 0.5 in every coordinate; declares itself trained."""

    sigma = None
    capabilities = frozenset({"trained"})

    def __init__(self, model):
        self.exact = ExactDenoiser(model)

    def __call__(self, histories, y, sigma):
        return self.exact(histories, y, sigma) + 0.5


def shifted(model, sigma):
    return Shifted(model)


@parametrize_with_checks(["exact", shifted], models=["sensor-ring"],
                         checks=["theorem3.support_intersection", "trained.reference_mse"],
                         expected_failures={"shifted-*-trained.reference_mse": "moved by 0.5"},
                         skips={"no.such.check": "a typo"})
def test_denoisers(case):
    case()


@parametrize_with_checks([shifted], models=["sensor-ring"], checks=["trained.reference_mse"])
def test_shifted_fails(case):
    case()


def test_fixture(decdiff_check):
    model = load_model("sensor-ring")
    (result,) = decdiff_check(ExactDenoiser(model), model, sigma=0.3, history_length=1,
                              checks=["theorem4.support_intersection"])
    assert result.verdict == "holds"
'''

EXPECTED_IDS = [
    "test_user.py::test_denoisers[exact-sensor-ring-trained.reference_mse]",
    "test_user.py::test_denoisers[exact-sensor-ring-theorem3.support_intersection]",
    "test_user.py::test_denoisers[shifted-sensor-ring-trained.reference_mse]",
    "test_user.py::test_denoisers[shifted-sensor-ring-theorem3.support_intersection]",
    "test_user.py::test_shifted_fails[shifted-sensor-ring-trained.reference_mse]",
    "test_user.py::test_fixture",
]


def _pytest(folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", *args],
                          cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def user_suite(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_suite")
    (folder / "test_user.py").write_text(USER_TESTS)
    return folder


def test_pytest_loads_the_plugin_through_its_pytest11_entry_point(pytestconfig):
    import decdiff.checking.pytest_plugin

    assert pytestconfig.pluginmanager.get_plugin("decdiff") is decdiff.checking.pytest_plugin
    assert pytestconfig.getoption("--decdiff-seed") is None


def test_cases_are_marked_decdiff(user_suite):
    marked = _pytest(user_suite, "--collect-only", "-q", "-m", "decdiff")
    assert [line for line in marked.stdout.splitlines() if line.startswith("test_user.py::")] == EXPECTED_IDS[:5]
    assert "5/6 tests collected (1 deselected)" in marked.stdout


def test_outcomes_expected_failures_skips_and_the_json_record(user_suite):
    result = _pytest(user_suite, "-v", "-rA", "--decdiff-json", "results.json", "--decdiff-seed", "5")
    assert result.returncode == 1, result.stdout + result.stderr            # test_shifted_fails fails
    ran = [line.split()[0] for line in result.stdout.splitlines()
           if line.startswith("test_user.py::") and len(line.split()) > 1
           and line.split()[1] in ("PASSED", "FAILED", "SKIPPED", "XFAIL")]
    assert ran == EXPECTED_IDS           # the same ids, in the same order, as the other process collected
    summary = result.stdout.strip().splitlines()[-1]
    counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (failed|passed|skipped|xfailed|xpassed|warnings?)",
                                                      summary))
    assert counts == {"failed": 1, "passed": 3, "skipped": 1, "xfailed": 1, "warning": 1}, summary
    assert "SKIPPED" in result.stdout and "needs a trained denoiser (exact is not one)" in result.stdout
    assert "XFAIL test_user.py::test_denoisers[shifted-sensor-ring-trained.reference_mse] - moved by 0.5" \
        in result.stdout
    assert "skips entry 'no.such.check' matches no check case" in result.stdout
    assert "trained.reference_mse (Theorem 1) violated" in result.stdout and "reproduce: decdiff verify" \
        in result.stdout
    reproduce = next(line.split("reproduce: decdiff ", 1)[1] for line in result.stdout.splitlines()
                     if "reproduce: decdiff verify" in line and "test_user.py:shifted" in line)
    rerun = subprocess.run([sys.executable, "-m", "decdiff", *reproduce.split()], cwd=user_suite,
                           capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 1 and "violated" in rerun.stdout, rerun.stdout + rerun.stderr
    assert "decdiff: 6 check results (holds: 3, skipped: 1, violated: 2)" in result.stdout
    record = json.loads((user_suite / "results.json").read_text())
    assert len(record["checks"]) == 6 and {c["seed"] for c in record["checks"]} == {5}
    assert record["summary"]["verdicts"] == {"skipped": 1, "holds": 3, "violated": 2}


def test_selection_patterns_that_match_nothing_warn():
    with pytest.warns(UserWarning, match="check selection 'theorem99.*' matches no registered check"):
        assert check_cases(["exact"], checks=["theorem99.*"]) == []
    with pytest.warns(UserWarning, match="expected_failures entry 'nothing.here' matches no check case"):
        parametrize_with_checks(["exact"], checks=["theorem3.*"], expected_failures={"nothing.here": "why"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mark = parametrize_with_checks(["exact", "exact"], checks=["theorem3.*"], skips={"theorem3.*": "slow"})
    theorem3 = [c.id for c in all_checks() if c.id.startswith("theorem3.")]
    params = mark.args[1]
    assert [p.id for p in params] == [f"exact[{k}]-sensor-ring-{i}" for k in (1, 2) for i in theorem3]
    assert all([m.name for m in p.marks] == ["skip"] for p in params)
