"""The report's figure experiments (Fig. 1-4, Table 1, the SMACv2-like section) as tasks.

Each figure is one `decdiff.parallel.tasks.Task` that loads the checkpoints it needs and
waits for their trainings (``after``), so on a cluster it starts as soon as those are done,
beside the other steps. Every figure seeds its own generators from the report's seed, so
its data is the same whether it runs here or on a worker. The SMACv2-like section is a
local task: it runs in the report's own process, which prints its progress lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from decdiff.parallel.tasks import Task
from decdiff.report.suites import FieldFigure, GridExperiments, Suite
from decdiff.report.training import TrainSpec, load_trained, stored_records, training_step

#: Step names (the timings table's rows) and the figure each one fills in the report's ``figures``.
FIGURE_STEPS = {
    "fig1": "Fig. 1: vector fields",
    "fig2": "Fig. 2: trained fixed points, deviation against Jacobian rank",
    "fig3": "Fig. 3: deviation against width, states, training samples",
    "fig4": "Fig. 4: composite and partial composite flows",
    "table1": "Table 1: individual against composite PSNR",
    "smax": "SMACv2-like (JaxMARL SMAX): MAPPO, data, denoisers, Table 1, Fig. 2(g.2)",
}


class _Checkpoints:
    """``load(spec) -> (model, denoiser)``, each checkpoint read once (Fig. 3's sweeps and Table 1's columns
    name the base configuration more than once)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir, self.loaded = out_dir, {}

    def __call__(self, spec: TrainSpec) -> tuple:
        if spec.key not in self.loaded:
            self.loaded[spec.key] = load_trained(spec, self.out_dir)
        return self.loaded[spec.key]


def _fig1(fields: FieldFigure, seed: int, out_dir: Path) -> dict[str, Any]:
    from decdiff.report.vector_fields import fig1_data

    return fig1_data(fields, {s.model: load_trained(s, out_dir) for s in fields.train_specs()}, seed)


def _fig2(grid: GridExperiments, seed: int, out_dir: Path) -> dict[str, Any]:
    from decdiff.report.deviations import fig2_data

    base = grid.spec()
    return fig2_data(grid, *load_trained(base, out_dir), base, seed)


def _fig3(grid: GridExperiments, seed: int, out_dir: Path) -> dict[str, Any]:
    from decdiff.report.deviations import fig3_data

    return fig3_data(grid, _Checkpoints(out_dir), stored_records(grid.sweep_specs(), out_dir), seed)


def _fig4(grid: GridExperiments, seed: int, out_dir: Path) -> dict[str, Any]:
    from decdiff.report.composite import fig4_data

    return fig4_data(grid, *load_trained(grid.composite_spec(), out_dir), seed)


def _table1(grid: GridExperiments, seed: int, out_dir: Path) -> dict[str, Any]:
    from decdiff.report.composite import table1_data

    return table1_data(grid, _Checkpoints(out_dir), stored_records(grid.table_specs(), out_dir), seed)


def _waits(specs: list[TrainSpec]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(training_step(s) for s in specs))


def figure_tasks(suite: Suite, seed: int, out_dir: Path, note: Callable[[str], None]) -> list[Task]:
    """A task for every figure of `suite`, in the report's order, named by `FIGURE_STEPS`; ``note`` prints
    the SMACv2-like section's progress lines."""
    tasks = []
    if suite.fields is not None:
        tasks.append(Task(FIGURE_STEPS["fig1"], _fig1, (suite.fields, seed, out_dir),
                          _waits(suite.fields.train_specs())))
    grid = suite.grid
    if grid is not None:
        needs = {"fig2": [grid.spec()], "fig3": grid.sweep_specs(), "fig4": [grid.composite_spec()],
                 "table1": grid.table_specs()}
        functions = {"fig2": _fig2, "fig3": _fig3, "fig4": _fig4, "table1": _table1}
        tasks += [Task(FIGURE_STEPS[name], functions[name], (grid, seed, out_dir), _waits(needs[name]))
                  for name in functions]
    if suite.smax is not None:
        from decdiff.report.smax import SMAX_CONFIGS, smax_section_data

        tasks.append(Task(FIGURE_STEPS["smax"], smax_section_data, (SMAX_CONFIGS[suite.smax], seed,
                                                                    out_dir / "smax", note), local=True))
    return tasks
