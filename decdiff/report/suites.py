"""What a report runs: the `quick` suite (small sizes, every claim covered) and the `paper` suite.

A suite lists verification runs (model, history length, sigma, and the exact or a trained
denoiser), whether to run the counterexample searches, and the sizes of the figure
experiments (Fig. 1 vector fields; Fig. 2, 3 and 4 and Table 1 on a sensor grid);
`decdiff.report.build` executes it. Every random choice is seeded from the report's seed
and the configurations below; training settings are the harness defaults of docs/claims.md#experiments
(ours, not the paper's, which are unavailable).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from decdiff.implementations.training import TrainingConfig
from decdiff.report.training import TrainSpec


@dataclass(frozen=True)
class VerifyRun:
    """One `decdiff verify` run inside a report; ``training`` None means the exact denoiser."""

    model: str
    history_length: int
    sigma: float
    histories: int = 64
    starts: int = 256
    training: TrainingConfig | None = None

    @property
    def train_spec(self) -> TrainSpec | None:
        return None if self.training is None else TrainSpec(self.model, self.training)


@dataclass(frozen=True)
class FieldFigure:
    """Fig. 1 analogue: vector fields y -> f(tau_i, y) of every agent of each model, exact and trained.

    Attributes:
        models: the models (one joint history each, chosen by `vector_fields.fig1_history`).
        training: the trained denoiser's configuration (its sigma is the figure's sigma).
        arrows: arrows per axis of the field; ``extent``: the plotted range of both coordinates.
        starts: starts of each fixed-point search.
    """

    models: tuple[str, ...]
    training: TrainingConfig
    arrows: int = 11
    extent: tuple[float, float] = (-0.3, 1.3)
    starts: int = 256

    def train_specs(self) -> list[TrainSpec]:
        return [TrainSpec(m, self.training) for m in self.models]


@dataclass(frozen=True)
class GridExperiments:
    """Fig. 2, 3, 4 and Table 1 analogues on ``sensor-grid:<size>:targets=<targets>:miss=<miss>``.

    Attributes:
        size, targets, miss: the base model; ``base``: the base training configuration (Fig. 2, 3);
            ``composite_sigma``: its noise level for Fig. 4 and Table 1 when not None.
        widths: Fig. 3 (left) hidden widths; ``sizes``: Fig. 3 (middle) grid sizes (number of
            states C(areas, targets)); ``samples``: Fig. 3 (right) training trajectories.
        table: Table 1 columns, (factor, values) with factor in width, samples, history_length,
            miss; ``seeds``: training seeds of every Table 1 configuration.
        analysis_trajectories: trajectories whose (history, state) pairs give the fixed points
            of Fig. 2 and 3 (Definition 4).
        psnr_trajectories: joint histories (train and test each) per Table 1 cell;
            ``psnr_passes``: denoising steps = passes x agents, for both methods.
        flow_starts: starts drawn from N(0, I) per flow (Fig. 4); ``fixed_point_starts``: starts of
            each fixed-point search of Fig. 2 (d) and (f).
        subset_size, subset_candidates: Fig. 4 partial composite subsets searched.
    """

    size: str
    base: TrainingConfig
    widths: tuple[int, ...]
    sizes: tuple[str, ...]
    samples: tuple[int, ...]
    table: tuple[tuple[str, tuple], ...]
    seeds: tuple[int, ...]
    targets: int = 2
    miss: float = 0.0
    composite_sigma: float | None = None
    analysis_trajectories: int = 32
    psnr_trajectories: int = 64
    psnr_passes: int = 2
    flow_starts: int = 16
    fixed_point_starts: int = 256
    subset_size: int = 3
    subset_candidates: int = 40

    def model_spec(self, size: str | None = None, miss: float | None = None) -> str:
        return (f"sensor-grid:{size or self.size}:targets={self.targets}:"
                f"miss={self.miss if miss is None else miss:g}")

    def spec(self, *, size: str | None = None, miss: float | None = None, **changes: object) -> TrainSpec:
        """The base configuration with some settings changed (``changes`` are `TrainingConfig` fields)."""
        return TrainSpec(self.model_spec(size, miss), replace(self.base, **changes))

    def composite_spec(self, *, miss: float | None = None, **changes: object) -> TrainSpec:
        """The base of Fig. 4 and Table 1 (noise level ``composite_sigma``) with some settings changed."""
        sigma = self.base.sigma if self.composite_sigma is None else self.composite_sigma
        return self.spec(miss=miss, **{"sigma": sigma, **changes})

    def variant(self, factor: str, value: object, seed: int) -> TrainSpec:
        """A Table 1 configuration: the composite base with one factor set to `value`, trained with `seed`."""
        if factor == "miss":
            return self.composite_spec(miss=float(value), seed=seed)
        spec = self.composite_spec(seed=seed)
        return TrainSpec(spec.model, spec.config.varied(factor, value))

    def sweep_specs(self) -> list[TrainSpec]:
        """Fig. 3's denoisers: the base with each width, grid size and number of training trajectories."""
        return ([self.spec(width=w) for w in self.widths] + [self.spec(size=s) for s in self.sizes]
                + [self.spec(samples=n) for n in self.samples])

    def table_specs(self) -> list[TrainSpec]:
        """Table 1's denoisers: every column's configuration with every seed."""
        return [self.variant(f, v, seed) for f, values in self.table for v in values for seed in self.seeds]

    def train_specs(self) -> list[TrainSpec]:
        return [self.spec(), self.composite_spec(), *self.sweep_specs(), *self.table_specs()]


@dataclass(frozen=True)
class Suite:
    """A report's contents; ``jobs`` worker processes train the denoisers; ``smax`` names a configuration of
    `decdiff.report.smax.SMAX_CONFIGS` for the SMACv2-like section (needs the ``decdiff[smax]`` extra);
    ``scaling`` the name of a plan of `decdiff.bench.scaling.SCALING_PLANS`, measured after the report into
    timings.md."""

    name: str
    description: str
    runs: tuple[VerifyRun, ...]
    counterexamples: bool = True
    fields: FieldFigure | None = None
    grid: GridExperiments | None = None
    jobs: int = 2
    derivations: bool = True
    mutation: bool = False
    smax: str | None = None
    scaling: str | None = None

    def train_specs(self) -> list[TrainSpec]:
        """Every distinct trained denoiser the suite needs, in a fixed order."""
        specs = [r.train_spec for r in self.runs if r.train_spec is not None]
        specs += self.fields.train_specs() if self.fields else []
        specs += self.grid.train_specs() if self.grid else []
        unique: dict[str, TrainSpec] = {}
        for spec in specs:
            unique.setdefault(spec.key, spec)
        return list(unique.values())


#: A width-256 denoiser on the 2x2 ring (docs/claims.md#experiments defaults; reaches the Bayes MSE within
#: a few per cent, tests/training): 3000 trajectories x 4 agents, 150 epochs.
RING_TRAINING = TrainingConfig(history_length=1, sigma=0.3, samples=3000, epochs=150, width=256, depth=3,
                               batch_size=512, learning_rate=5e-3, patience=40, seed=0)

#: Noise level of the quick suite's composite experiments (Fig. 4, Table 1) on the 3x3 grid.
#: Two-target states are sqrt(2) or 2 apart and an agent keeps at most 10 of them, so sigma = 0.5
#: stays below the level at which their attractors merge (docs/claims.md#critical-sigma), while the training noise
#: y = s + sigma z covers the gaps between states that composite flows cross from one agent's
#: consistent state to another's. At sigma = 0.3 a network trained for seconds has seen almost no
#: y between states and its composite flows stall at wrong states (the exact denoiser's do not);
#: Fig. 2 and 3 keep sigma = 0.3, where the exact fixed points sit within 1e-4 of the states.
QUICK_COMPOSITE_SIGMA = 0.5

#: The base of the sensor-grid experiments in the quick suite: small enough for seconds of training.
QUICK_GRID_TRAINING = TrainingConfig(history_length=1, sigma=0.3, samples=1000, epochs=60, width=256,
                                     depth=3, batch_size=512, learning_rate=5e-3, patience=20, seed=0)

#: The paper's sizes: 5x5 areas, two targets, histories of length 5 (docs/claims.md#experiments); width 256, and
#: sigma = 0.3: an agent of the 5x5 grid that sees one target keeps 21 states sqrt(2) apart (210
#: when it sees none), and at sigma = 0.5 their attractors merge even for the exact denoiser (a regular simplex of K
#: vertices d apart has a stable centroid once sigma > d / sqrt(2K); docs/claims.md#critical-sigma). The larger
#: training set covers the gaps between states that the quick suite covers with sigma = 0.5.
PAPER_GRID_TRAINING = TrainingConfig(history_length=5, sigma=0.3, samples=2000, epochs=100, width=256,
                                     depth=3, batch_size=512, learning_rate=5e-3, patience=20, seed=0)

_EXACT_RUNS = (
    VerifyRun("sensor-ring", 1, 0.3),
    VerifyRun("sensor-ring-noisy", 1, 0.3),
    VerifyRun("sensor-ring-noisy", 2, 0.3),
    VerifyRun("sensor-grid:3x3:targets=2", 2, 0.3, histories=16, starts=128),
)
_TRAINED_RUNS = (
    VerifyRun("sensor-ring", 1, 0.3, training=RING_TRAINING),
    VerifyRun("sensor-ring-noisy", 1, 0.3, training=RING_TRAINING),
)
_FIELDS = FieldFigure(models=("sensor-ring", "sensor-ring-noisy"), training=RING_TRAINING)

QUICK = Suite(
    name="quick",
    description="small models, every claim covered, under 5 minutes on 2 cores; the figures use a 3x3 grid "
                "with two targets (36 states, 9 agents) in place of the paper's 5x5",
    runs=_EXACT_RUNS + _TRAINED_RUNS,
    fields=_FIELDS,
    grid=GridExperiments(size="3x3", base=QUICK_GRID_TRAINING, widths=(32, 64, 128, 256), sizes=("3x3", "4x4"),
                         samples=(100, 300, 1000),
                         table=(("width", (64, 256)), ("samples", (300, 1000)), ("history_length", (1, 2)),
                                ("miss", (0.0, 0.2))),
                         seeds=(0, 1, 2), composite_sigma=QUICK_COMPOSITE_SIGMA),
    mutation=True,
    scaling="quick",
)

PAPER = Suite(
    name="paper",
    description="the paper's sizes: the 5x5 sensor network with two targets (300 states, 25 agents) and "
                "histories of length 5, and the SMACv2-like section on JaxMARL's SMAX (needs decdiff[smax])",
    runs=(*QUICK.runs,
          VerifyRun("sensor-grid:5x5:targets=2", 5, 0.3, histories=32, starts=256),
          VerifyRun("sensor-grid:5x5:targets=2:miss=0.1", 5, 0.3, histories=32, starts=256)),
    fields=_FIELDS,
    grid=GridExperiments(size="5x5", base=PAPER_GRID_TRAINING, widths=(32, 64, 128, 256, 512, 1024),
                         sizes=("3x3", "4x4", "5x5", "8x8"), samples=(50, 500, 5000),
                         table=(("width", (256, 512)), ("samples", (500, 2000)), ("history_length", (1, 5, 10)),
                                ("miss", (0.0, 0.1))),
                         seeds=(0, 1, 2), analysis_trajectories=32, psnr_trajectories=128, subset_size=6,
                         subset_candidates=60),
    mutation=True,
    smax="paper",
    scaling="paper",
)

SUITES = {suite.name: suite for suite in (QUICK, PAPER)}
