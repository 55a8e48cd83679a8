"""SIGINT and SIGTERM mid-run: exit 130 or 143, one line naming the step and where partial results are, no
traceback, no half-written file. Each run is a subprocess that touches a marker file once it is mid-step
(the slow part is a sleeping denoiser, report step or checkpoint write), then gets the signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: Runs ``decdiff.cli.main(argv)`` with one slow spot (``how``) that touches ``marker`` and sleeps.
SCRIPT = '''
import sys
import time
from pathlib import Path

how, marker, argv = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]


def pause():
    marker.touch()
    time.sleep(60)


if how == "report":
    import decdiff.report.write

    def build_report(suite, *, seed, out_dir, progress, **options):
        progress("checks on sensor-ring")
        pause()
    decdiff.report.write.build_report = build_report
if how == "checkpoint":
    import torch

    def save(obj, handle):
        handle.write(b"half a checkpoint")
        handle.flush()
        pause()
    torch.save = save

from decdiff.cli import main

sys.exit(main(argv))
'''

SLOW_DENOISER = '''
import time
from pathlib import Path

from decdiff.implementations.denoisers.exact import ExactDenoiser


def make(model, sigma):
    exact = ExactDenoiser(model)

    def denoise(histories, y, sigma):
        Path(__file__).with_name("marker").touch()
        time.sleep(60)
        return exact(histories, y, sigma)
    return denoise
'''


def interrupted(tmp_path: Path, how: str, argv: list[str], signum: int) -> tuple[int, list[str]]:
    """Run, wait for the marker, send `signum`; (exit status, stderr lines)."""
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, how, str(marker), *argv], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.communicate(timeout=5)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err, err
    return process.returncode, err.strip().splitlines()


def test_sigint_during_a_denoiser_call_exits_130(tmp_path):
    """The first call is the probe (the same batch twice, before any check), inside 'loading the denoiser'."""
    (tmp_path / "slow.py").write_text(SLOW_DENOISER)
    code, lines = interrupted(tmp_path, "denoiser", ["verify", "sensor-ring", "--denoiser", "slow.py:make",
                                                    "--json", "out.json"], signal.SIGINT)
    assert code == 130 and lines == [("decdiff: interrupted by SIGINT in step 'loading the denoiser'; "
                                      "nothing was written")]
    assert not (tmp_path / "out.json").exists()


def test_sigterm_while_writing_a_checkpoint_leaves_no_file(tmp_path):
    code, lines = interrupted(tmp_path, "checkpoint", ["train", "sensor-ring", "--width", "8", "--depth", "1",
                                                      "--samples", "40", "--epochs", "1", "--out", "net.pt"],
                              signal.SIGTERM)
    assert code == 143 and lines[-1] == ("decdiff: interrupted by SIGTERM in step 'writing the checkpoint net.pt'; "
                                         "nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marker"]     # no net.pt, no temporary file


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_report_says_where_its_files_are(tmp_path, signum):
    code, lines = interrupted(tmp_path, "report", ["report", "--out", "out"], signum)
    assert code == 128 + signum
    assert lines[-1] == (f"decdiff: interrupted by {signal.Signals(signum).name} in step 'checks on sensor-ring'; "
                         "partial results: the files written to out/ are whole")
    assert list((tmp_path / "out").iterdir()) == []
