"""The whole mini report (trainings, verification runs, figures) as one Dask graph on two workers: the same bytes
as the one-process report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: Builds the mini suite of conftest.py in a process of its own, as `decdiff report --workers N` would.
RUN = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from conftest import MINI
from decdiff.report.write import write_report
lines = []
write_report(MINI, seed=0, out_dir=Path(sys.argv[1]), progress=lines.append, workers=int(sys.argv[2]))
print("\n".join(lines))
"""


def _build(out: Path, workers: int) -> list[str]:
    """The progress lines of one build."""
    run = subprocess.run([sys.executable, "-c", RUN, str(out), str(workers), str(Path(__file__).parent)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip().splitlines()


@pytest.mark.timeout(900)
def test_two_workers_write_the_report_of_one_process(tmp_path):
    _build(tmp_path / "one", 1)
    lines = _build(tmp_path / "two", 2)
    for name in ("report.json", "report.md", "report.html"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    trained = sorted(p.name for p in (tmp_path / "one" / "checkpoints").iterdir())
    assert trained and sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == trained
    finished = [line for line in lines if " done: " in line]       # every training and step is one task
    total = len(finished)
    assert total > len(trained) and finished[-1].split("] task ")[1].startswith(f"{total}/{total} done")
    assert sum(" done: train " in line for line in finished) == len(trained)
