"""Build a theorem-validation report: run a suite and collect everything as one JSON object.

Order: train (or read from the cache) every denoiser the suite needs, run the `decdiff
verify` runs (exact and trained), the symbolic derivations, the counterexample searches,
the mutation table and the figure experiments (whose data goes into the JSON's ``figures``).
With Dask (``workers > 1`` or a scheduler) all of these are one graph of tasks: each step
starts once the trainings whose checkpoints it reads are done.

The JSON holds no timings and no dates, so the same suite and seed give byte-identical
files; timings go to a separate ``timings.json``. Torch is seeded and set to
deterministic algorithms for the duration of the build, and training runs on the CPU with
one thread (`decdiff.report.training`).
"""

from __future__ import annotations

import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from decdiff.checking.registry import summarise
from decdiff.claims import CLAIMS
from decdiff.implementations.denoisers.loading import load_denoiser
from decdiff.implementations.models.registry import load_model
from decdiff.parallel.tasks import Task, graph_bounds, run_tasks
from decdiff.properties.context import Budget, CheckContext
from decdiff.properties.registration import run_checks
from decdiff.report.figure_tasks import FIGURE_STEPS, figure_tasks
from decdiff.report.schema import SCHEMA_VERSION
from decdiff.report.suites import Suite, VerifyRun
from decdiff.report.training import (
    TrainSpec,
    stored_records,
    train_all,
    training_seconds,
    training_step,
    training_tasks,
    untrained,
)
from decdiff.report.verdicts import claim_entries

PACKAGES = ("decdiff", "torch", "numpy", "scipy", "sympy", "hypothesis", "matplotlib", "cvxpy", "jinja2",
            "latex2mathml")

Progress = Callable[[str], None]


class Steps:
    """Numbered progress lines ``[k/N, elapsed] label`` and the time each step took (``timings``)."""

    def __init__(self, total: int, progress: Progress) -> None:
        self.total, self.progress = total, progress
        self.done = 0
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def note(self, label: str) -> None:
        """A progress line that is not a step of its own."""
        self.progress(f"[{self.done}/{self.total}, {time.perf_counter() - self.started:.0f}s] {label}")



@contextmanager
def deterministic_torch(seed: int) -> Iterator[None]:
    """torch.manual_seed(seed), deterministic algorithms and one intra-op thread while the report is built.

    One thread makes reductions independent of the machine's core count, and the report's
    work (small batched networks and flows) runs faster on one thread than on contended
    ones; the cores are used by training in worker processes instead.
    """
    previous = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def environment() -> dict[str, Any]:
    """Interpreter, machine and package versions (what the numbers were computed with)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "machine": platform.machine(), "system": platform.system(),
            "packages": versions}


def _run_verify(run: VerifyRun, seed: int, out_dir: Path) -> dict[str, Any]:
    model = load_model(run.model)
    spec = run.train_spec
    if spec is None:
        label, path, training = "exact", "exact", None
    else:
        label = spec.checkpoint(out_dir).relative_to(out_dir).as_posix()
        record = stored_records([spec], out_dir)[spec.key]
        path, training = str(spec.checkpoint(out_dir)), {**spec.to_json(), "record": record}
    ctx = CheckContext(model=model, denoiser=load_denoiser(path, model, run.sigma), denoiser_label=label,
                       sigma=run.sigma, history_length=run.history_length, seed=seed,
                       budget=Budget(histories=run.histories, starts=run.starts))
    results = run_checks(ctx)
    return {"model": run.model, "history_length": run.history_length, "sigma": run.sigma, "denoiser": label,
            "histories": run.histories, "starts": run.starts, "training": training,
            "checks": [r.to_json() for r in results], "summary": summarise(results).to_json()}


def _derivation(derivation_id: str) -> dict[str, Any]:
    """One derivation's result, the derivation built where it runs: a pickled copy comes back with other
    sympy Dummy names (fixed_point_shift's Subs: 'xi_1' for 'T'), so another expression hash."""
    from decdiff.theory.registry import all_derivations

    (derivation,) = [d for d in all_derivations() if d.id == derivation_id]
    result = derivation.verify().to_dict()
    result.pop("elapsed_seconds", None)
    return result


def _counterexample(scenario, out_dir: Path, seed: int) -> dict[str, Any]:
    """A search's JSON (the shrunk counterexample and the worst margin seen) and the check on the model it found."""
    from decdiff.properties.search import search

    result = search(scenario, seed=seed, out_dir=out_dir / "counterexamples")
    entry = result.to_json(root=out_dir)
    if result.found:
        model = result.model
        (check,) = run_checks(CheckContext(model=model, denoiser=load_denoiser("exact", model, scenario.sigma),
                                           denoiser_label="exact", sigma=scenario.sigma,
                                           history_length=scenario.history_length, seed=seed),
                              [scenario.check_id])
        entry.update(agents=model.n_agents, states=model.n_states, result=check.to_json())
    return entry


def _verdict_counts(results: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(r["verdict"] for r in results).items()))


def figure_checks(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks the figure experiments ran (each figure's ``checks``), in figure order."""
    return [check for data in figures.values() for check in data.get("checks", [])]


def executed_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every check whose verdict is the report's: its verification runs' and its figures'.

    Counterexample searches are not among them: their models drop an assumption on purpose.
    """
    return [c for run in report["runs"] for c in run["checks"]] + figure_checks(report["figures"])


def summary_table(checks: list[dict[str, Any]], derivations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per claim: the symbolic verdicts, and verdict counts of `checks` on exact and trained denoisers."""
    by_id = {d["derivation_id"]: d["verdict"] for d in derivations}
    rows = []
    for claim in CLAIMS:
        claim_checks = [c for c in checks if c["claim"] == claim.name]
        rows.append({
            "claim": claim.name,
            "title": claim.title,
            "symbolic": {d: by_id.get(d, "missing") for d in claim.derivations},
            "exact": _verdict_counts([c for c in claim_checks if c["subject"]["denoiser"] == "exact"]),
            "trained": _verdict_counts([c for c in claim_checks if c["subject"]["denoiser"] != "exact"]),
        })
    return rows


def training_line(spec: TrainSpec, record: dict[str, Any], now: bool) -> str:
    """A training's progress line: its settings and validation MSE against the Bayes MSE."""
    return (f"{'trained' if now else 'cached'} {spec.model} width {spec.config.width}, "
            f"H={spec.config.history_length}, sigma {spec.config.sigma:g}, {spec.config.samples} trajectories, "
            f"seed {spec.config.seed}: validation MSE / Bayes MSE = {record['mse_ratio']:.3f}")


def _mutation(seed: int) -> dict[str, Any]:
    from decdiff.checking.mutation import mutation_table

    return mutation_table(seed=seed).to_json()


#: The mutation table's step name (the timings table's row).
MUTATION_STEP = "mutation table: every check on deliberately broken denoisers and models"


def report_tasks(suite: Suite, seed: int, out_dir: Path, derivations: Sequence, scenarios: Sequence,
                 note: Progress) -> list[Task]:
    """The suite's steps after training, in the report's order: verification runs, derivations, searches,
    the mutation table and the figures (`decdiff.report.figure_tasks`); each waits for the trainings
    whose checkpoints it reads."""
    tasks = []
    for run in suite.runs:
        spec = run.train_spec
        denoiser = "exact" if spec is None else f"trained width {spec.config.width}"
        tasks.append(Task(f"verify {run.model} H={run.history_length} sigma={run.sigma:g} ({denoiser})",
                          _run_verify, (run, seed, out_dir), () if spec is None else (training_step(spec),)))
    tasks += [Task(f"derivation {d.id}", _derivation, (d.id,)) for d in (derivations if suite.derivations else [])]
    tasks += [Task(f"counterexample search {s.name}", _counterexample, (s, out_dir, seed))
              for s in (scenarios if suite.counterexamples else [])]
    if suite.mutation:
        tasks.append(Task(MUTATION_STEP, _mutation, (seed,)))
    return tasks + figure_tasks(suite, seed, out_dir, note)


def _graph(tasks: Sequence[Task], seconds: dict[str, float], specs: Sequence[TrainSpec],
           out_dir: Path) -> dict[str, float]:
    """`graph_bounds` of the run: every step's seconds, each training (this run's ones) its own step."""
    work = {k: seconds[k] for k in (t.key for t in tasks)}
    steps = {training_step(s): s for s in specs}
    work.update({k: seconds[k] if k in seconds else training_seconds(s, out_dir) for k, s in steps.items()})
    return graph_bounds(work, {t.key: t.after for t in tasks})


def build_report(suite: Suite, *, seed: int, out_dir: Path, progress: Progress = lambda _: None,
                 workers: int = 1, scheduler: str | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """Run `suite` and return (report, timings); checkpoints and counterexample files are written under `out_dir`.

    Every step is a task (`decdiff.parallel.tasks.run_tasks`, `report_tasks`). With ``workers == 1``
    the denoisers are trained first (`train_all`, the suite's local processes), then the steps run
    here; else the trainings and the steps are one graph on a LocalCluster of ``workers`` processes
    or the cluster at ``scheduler``. The report is the same bytes either way.
    """
    from decdiff.properties.search import SCENARIOS
    from decdiff.theory.registry import all_derivations

    if suite.smax is not None:                   # fail before hours of work, not after
        from decdiff.implementations.smax import require_smax

        require_smax()
    derivations = all_derivations()
    specs = suite.train_specs()
    distributed = workers > 1 or scheduler is not None
    steps = Steps(0, progress)
    with deterministic_torch(seed):
        tasks = report_tasks(suite, seed, out_dir, derivations, SCENARIOS, steps.note)
        steps.total = len(specs) + len(tasks)
        pending = untrained(specs, out_dir)
        steps.note(f"{len(specs)} denoisers, {len(specs) - len(pending)} of them cached; "
                   + (f"{len(pending)} trainings and {len(tasks)} steps as tasks on "
                      + (f"cluster {scheduler}" if scheduler else f"{workers} Dask workers")
                      if distributed else f"training {len(pending)} in {suite.jobs} worker processes"))
        t0 = time.perf_counter()
        if distributed:
            cached = [s for s in specs if s not in pending]
            for spec, record in zip(cached, stored_records(cached, out_dir).values()):
                steps.done += 1
                steps.note(training_line(spec, record, False))
        else:
            def trained(spec: TrainSpec, record: dict[str, Any], now: bool) -> None:
                steps.done += 1
                steps.note(training_line(spec, record, now))

            train_all(specs, out_dir, jobs=suite.jobs, done=trained)
            steps.timings["training"] = round(time.perf_counter() - t0, 3)
            steps.note(f"{len(tasks)} steps in this process")
        training = training_tasks(specs, out_dir) if distributed else []

        def finished(done: int, total: int, key: str) -> None:
            steps.done += 1
            steps.note(f"task {done}/{total} done: {key}")

        t0 = time.perf_counter()
        done = run_tasks(training + tasks, seed=seed, workers=workers, scheduler=scheduler, progress=finished,
                         threads=1)                 # one thread per step, as here: the same bytes on any machine
        steps.timings["tasks"] = round(time.perf_counter() - t0, 3)
        steps.timings.update(done.seconds)
        records = stored_records(specs, out_dir)
        for spec in pending if distributed else []:          # counted as their tasks finished
            steps.note(training_line(spec, records[spec.key], True))
        results = dict(zip((t.key for t in training + tasks), done.results))
        runs = [results[t.key] for t in tasks if t.key.startswith("verify ")]
        symbolic = [results[t.key] for t in tasks if t.key.startswith("derivation ")]
        counterexamples = [results[t.key] for t in tasks if t.key.startswith("counterexample ")]
        mutation = results.get(MUTATION_STEP)
        figures = {name: results[step] for name, step in FIGURE_STEPS.items() if step in results}
    checks = [c for run in runs for c in run["checks"]] + figure_checks(figures)
    all_results = checks + [c["result"] for c in counterexamples if c["found"]]
    counts = {claim.name: {"planned": 0, "ran": 0, "skipped": 0} for claim in CLAIMS}
    for result in all_results:
        entry = counts[result["claim"]]
        entry["planned"] += 1
        entry["skipped" if result["verdict"] == "skipped" else "ran"] += 1
    steps.timings["total"] = round(time.perf_counter() - steps.started, 3)
    graph = _graph(tasks, steps.timings, pending, out_dir)
    steps.timings.update({f"task graph: {name.replace('_', ' ')}": value for name, value in graph.items()})
    report = {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": suite.name, "description": suite.description},
        "seed": seed,
        "environment": environment(),
        "claims": claim_entries(CLAIMS, checks, counterexamples, symbolic),
        "summary": summary_table(checks, symbolic),
        "counts": counts,
        "claims_without_executed_checks": [name for name, c in counts.items() if c["ran"] == 0],
        "trained_denoisers": [{**s.to_json(), "checkpoint": s.checkpoint(out_dir).relative_to(out_dir).as_posix(),
                               "record": records[s.key]} for s in specs],
        "derivations": symbolic,
        "runs": runs,
        "counterexamples": counterexamples,
        "mutation": mutation,
        "figures": figures,
    }
    return report, steps.timings
