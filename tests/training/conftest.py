"""A width-256 denoiser trained once per session on sensor-ring (sigma = 0.3, H = 1), shared by the tests."""

from __future__ import annotations

import time

import pytest

from decdiff.implementations.models.registry import load_model
from decdiff.implementations.training import TrainingConfig, train_denoiser

#: The issue's figure: width 256 on sensor-ring at sigma = 0.3, H = 1. 150 epochs of 2400
#: training pairs with fresh noise each epoch (one thread: faster than two for a network
#: this small).
RING_CONFIG = TrainingConfig(history_length=1, sigma=0.3, samples=3000, epochs=150, width=256, depth=3,
                             batch_size=512, learning_rate=5e-3, patience=40, seed=0, threads=1)


@pytest.fixture(scope="session")
def ring():
    return load_model("sensor-ring")


@pytest.fixture(scope="session")
def trained_ring(ring):
    """(denoiser, record, seconds) of RING_CONFIG."""
    started = time.perf_counter()
    denoiser, record = train_denoiser(ring, RING_CONFIG)
    return denoiser, record, time.perf_counter() - started
