"""Training sweeps as Dask tasks: `train_all` with two workers writes the checkpoints and records of a serial run."""

from __future__ import annotations

import pytest
import torch

from decdiff.implementations.denoisers.checkpoints import read_checkpoint
from decdiff.implementations.training import TrainingConfig
from decdiff.report.training import TrainSpec, train_all

SPECS = [TrainSpec("sensor-ring", TrainingConfig(samples=60, epochs=3, width=16, seed=seed)) for seed in (0, 1, 2)]


def _train(out, **engine) -> tuple[dict, list, list]:
    finished, progress = [], []
    records = train_all(SPECS, out, jobs=1, done=lambda spec, record, now: finished.append((spec.key, now)),
                        progress=lambda done, total, key: progress.append((done, total, key)), **engine)
    return records, finished, progress


@pytest.mark.timeout(900)
def test_two_dask_workers_train_the_bytes_of_the_serial_run_and_report_each_task(tmp_path):
    serial, _, _ = _train(tmp_path / "serial")
    parallel, finished, progress = _train(tmp_path / "parallel", workers=2)
    assert parallel == serial
    for spec in SPECS:                      # the same weights, bit for bit (the metadata holds wall times)
        a, b = (read_checkpoint(spec.checkpoint(tmp_path / run))["state_dict"] for run in ("parallel", "serial"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(finished) == sorted((spec.key, True) for spec in SPECS)
    assert [(done, total) for done, total, _ in progress] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(key for _, _, key in progress) == sorted(f"train {spec.key}" for spec in SPECS)
    again, finished, progress = _train(tmp_path / "parallel", workers=2)      # cached: no task, no cluster
    assert again == serial and all(not now for _, now in finished) and progress == []
