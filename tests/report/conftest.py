"""A miniature report suite (every section and figure, tiny sizes), built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from decdiff.implementations.training import TrainingConfig
from decdiff.report.suites import FieldFigure, GridExperiments, Suite, VerifyRun
from decdiff.report.write import write_report

#: Seconds of training at most: the networks are barely trained, which the report states (MSE ratios).
TINY_RING = TrainingConfig(history_length=1, sigma=0.3, samples=200, epochs=4, width=32, depth=2, batch_size=128,
                           learning_rate=5e-3, patience=4, seed=0)
TINY_GRID = TrainingConfig(history_length=1, sigma=0.3, samples=60, epochs=3, width=32, depth=2, batch_size=128,
                           learning_rate=5e-3, patience=3, seed=0)

MINI = Suite(
    name="mini",
    description="test suite: every report section at tiny sizes",
    runs=(VerifyRun("sensor-ring", 1, 0.3, histories=8, starts=32),
          VerifyRun("sensor-ring", 1, 0.3, histories=8, starts=32, training=TINY_RING)),
    counterexamples=False,
    derivations=False,
    fields=FieldFigure(models=("sensor-ring",), training=TINY_RING, arrows=5, starts=16),
    grid=GridExperiments(size="3x3", base=TINY_GRID, widths=(16, 32), sizes=("3x3",), samples=(60,),
                         table=(("width", (16, 32)),), seeds=(0, 1), analysis_trajectories=3, psnr_trajectories=6,
                         psnr_passes=1, flow_starts=3, fixed_point_starts=16, subset_size=2, subset_candidates=3,
                         composite_sigma=0.5),
    jobs=1,
)


def build_mini(out_dir: Path, lines: list[str] | None = None) -> dict:
    """Write the mini report into `out_dir`; progress lines are appended to `lines`."""
    return write_report(MINI, seed=0, out_dir=out_dir, progress=(lines.append if lines is not None else lambda _: None))


@pytest.fixture(scope="session")
def mini_suite() -> Suite:
    return MINI


@pytest.fixture(scope="session")
def mini_report(tmp_path_factory) -> tuple[Path, dict, list[str]]:
    """(folder, report object, progress lines) of one fresh mini report."""
    out = tmp_path_factory.mktemp("mini_report")
    lines: list[str] = []
    report = build_mini(out, lines)
    return out, report, lines
