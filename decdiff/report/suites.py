"""What a report runs: the `quick` suite (small sizes, every claim covered) and the `paper` suite.

A suite lists verification runs (model, history length, sigma, denoiser), the
counterexample searches to run, and the figure experiments; `decdiff.report.build`
executes it. Everything is seeded from the report's seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerifyRun:
    """One `decdiff verify` run inside a report."""

    model: str
    history_length: int
    sigma: float
    denoiser: str = "exact"
    histories: int = 64
    starts: int = 256


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    runs: tuple[VerifyRun, ...]
    counterexamples: bool = True


QUICK = Suite(
    name="quick",
    description="small models, every claim covered, under 5 minutes on 2 cores",
    runs=(
        VerifyRun("sensor-ring", 1, 0.3),
        VerifyRun("sensor-ring-noisy", 1, 0.3),
        VerifyRun("sensor-ring-noisy", 2, 0.3),
        VerifyRun("sensor-grid:3x3:targets=2", 2, 0.3, histories=16, starts=128),
    ),
)

PAPER = Suite(
    name="paper",
    description="the paper's sizes: the 5x5 sensor network with two targets and histories of length 5",
    runs=(
        *QUICK.runs,
        VerifyRun("sensor-grid:5x5:targets=2", 5, 0.3, histories=32, starts=256),
        VerifyRun("sensor-grid:5x5:targets=2:miss=0.1", 5, 0.3, histories=32, starts=256),
    ),
)

SUITES = {suite.name: suite for suite in (QUICK, PAPER)}
