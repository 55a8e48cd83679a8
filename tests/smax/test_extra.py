"""decdiff works without the [smax] extra, and says how to get it when the SMAX experiments are asked for."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: One interpreter: import decdiff (no jax may come with it), then hide jaxmarl and ask for the section.
SCRIPT = """
    import json, sys
    from importlib.abc import MetaPathFinder
    import decdiff.cli, decdiff.report.build, decdiff.report.smax, decdiff.implementations.smax.settings
    import decdiff.implementations.training
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "jaxmarl", "flax"))

    class Block(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "jaxmarl":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Block())
    from decdiff.errors import InputError
    from decdiff.report.smax import SMAX_QUICK, smax_section_data
    try:
        smax_section_data(SMAX_QUICK, 0, "unused")
        message = None
    except InputError as error:
        message = str(error)
    print(json.dumps({"loaded": loaded, "message": message}))
"""


@pytest.fixture(scope="module")
def without_extra() -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_decdiff_imports_no_jax(without_extra):
    assert without_extra["loaded"] == []


def test_missing_extra_gives_one_line_input_error(without_extra):
    message = without_extra["message"]
    assert message is not None and len(message.splitlines()) == 1
    assert "decdiff[smax]" in message and "jaxmarl" in message


PAPER_REPORT = """
import sys
from importlib.abc import MetaPathFinder

class Block(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "jaxmarl":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Block())
from decdiff.cli import main
sys.exit(main(["report", "--suite", "paper", "--out", sys.argv[1]]))
"""


def test_paper_report_without_the_extra_stops_at_once_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-c", PAPER_REPORT, str(tmp_path / "out")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("decdiff: error:") and "decdiff[smax]" in line
    assert not (tmp_path / "out" / "checkpoints").exists()          # nothing trained before the refusal
