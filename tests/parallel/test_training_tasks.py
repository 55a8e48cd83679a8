"""Training sweeps as Dask tasks: `training_tasks` on two workers write the checkpoints and records of `train_all`."""

from __future__ import annotations

import pytest
import torch

from decdiff.implementations.denoisers.checkpoints import read_checkpoint
from decdiff.implementations.training import TrainingConfig
from decdiff.parallel.tasks import run_tasks
from decdiff.report.training import TrainSpec, stored_records, train_all, training_step, training_tasks

SPECS = [TrainSpec("sensor-ring", TrainingConfig(samples=60, epochs=3, width=16, seed=seed)) for seed in (0, 1, 2)]


@pytest.mark.timeout(900)
def test_two_dask_workers_train_the_bytes_of_the_serial_run_and_report_each_task(tmp_path):
    finished = []
    serial = train_all(SPECS, tmp_path / "serial", jobs=1, done=lambda spec, record, now: finished.append(now))
    assert finished == [True] * len(SPECS)
    tasks = training_tasks(SPECS, tmp_path / "parallel")
    assert [t.key for t in tasks] == [training_step(s) for s in SPECS]
    progress = []
    run = run_tasks(tasks, seed=0, workers=2, progress=lambda done, total, key: progress.append((done, total, key)))
    assert [trained for _, trained in run.results] == [True] * len(SPECS)
    assert stored_records(SPECS, tmp_path / "parallel") == serial
    for spec in SPECS:                      # the same weights, bit for bit (the metadata holds wall times)
        a, b = (read_checkpoint(spec.checkpoint(tmp_path / run))["state_dict"] for run in ("parallel", "serial"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [(done, total) for done, total, _ in progress] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(key for _, _, key in progress) == sorted(training_step(s) for s in SPECS)
    assert training_tasks(SPECS, tmp_path / "parallel") == []              # cached: nothing left to train
