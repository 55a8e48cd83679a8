"""``decdiff train`` on the hardware: --threads, a clean --device cuda refusal without CUDA, checkpoints on CPU."""

from __future__ import annotations

import os

import pytest
import torch

from decdiff.cli import main
from decdiff.cli.train import training_threads
from decdiff.implementations.denoisers.checkpoints import load_checkpoint, save_checkpoint
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.training import TrainingConfig, train_denoiser


@pytest.mark.skipif(torch.cuda.is_available(), reason="torch has CUDA here: --device cuda trains")
def test_device_cuda_without_cuda_exits_2_with_one_line(tmp_path, capsys):
    assert main(["train", "sensor-ring", "--device", "cuda", "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--device" in err and "CUDA build of torch" in err and "pytorch.org/get-started" in err
    assert not (tmp_path / "x.pt").exists()


def test_threads_is_checked_and_capped_to_the_idle_cores(tmp_path, capsys, monkeypatch):
    assert main(["train", "sensor-ring", "--threads", "0", "--out", str(tmp_path / "x.pt")]) == 2
    assert "--threads" in capsys.readouterr().err
    seen = {}
    import decdiff.implementations.training as training

    real = training.train_on_features

    def spy(encoding, config, **kwargs):
        seen["threads"] = config.threads
        return real(encoding, config, **kwargs)

    monkeypatch.setattr(training, "train_on_features", spy)
    assert main(["train", "sensor-ring", "--threads", "64", "--width", "8", "--depth", "1", "--samples", "20",
                 "--epochs", "1", "--out", str(tmp_path / "y.pt")]) == 0
    cores = len(os.sched_getaffinity(0))
    assert 1 <= seen["threads"] <= cores
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert training_threads(64) == cores and training_threads(1) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))          # a loaded machine
    assert training_threads(64) == 1


def test_checkpoints_load_on_cpu_whatever_device_saved_them(tmp_path, monkeypatch):
    model = load_model("sensor-ring")
    net, _ = train_denoiser(model, TrainingConfig(width=8, depth=1, samples=20, epochs=1, device="cpu"))
    path = tmp_path / "net.pt"
    save_checkpoint(path, net, {"model": model.name})
    calls = []
    real_load = torch.load

    def load(*args, **kwargs):                       # what a CUDA-saved file needs: map_location to the CPU
        calls.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    loaded = load_checkpoint(path, model)
    assert calls and all(str(c) == "cpu" for c in calls)
    assert all(p.device.type == "cpu" for p in loaded.parameters())
