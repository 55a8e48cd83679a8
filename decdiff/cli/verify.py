"""``decdiff verify MODEL [MODEL ...]``: every applicable check of the paper's claims, one verdict table per model.

Each model's verification is one independent step (`verify_model`). With one model and no
``--workers``/``--scheduler`` it runs here, as it always has; otherwise the models are tasks of
`decdiff.parallel.tasks.run_tasks` (in this process one after another, on a Dask LocalCluster
with ``--workers N``, or on the cluster at ``--scheduler``), each verified with the run's own
``--seed``, so a model's record is the same whichever way it ran. Every model and the denoiser
for each are loaded here first, so bad input stops the run (exit 2) before any work.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Any

from decdiff.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_VIOLATED,
    add_budget_arguments,
    add_common_arguments,
    add_denoiser_timeout,
    add_parallel_arguments,
    output_file,
    print_denoiser_warnings,
    print_verdict_table,
    progress,
    step,
)
from decdiff.files import atomic_write


def add_verify_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``verify`` to the ``decdiff`` subcommands."""
    verify = subparsers.add_parser("verify", help="run every applicable check on one or more models and print a "
                                                  "verdict table for each")
    verify.add_argument("model", nargs="+", help="built-in spec or a .dpomdp path (several: one table each)")
    add_common_arguments(verify)
    verify.add_argument("--denoiser", default="exact", help="exact (default), FILE.py:FACTORY or FILE.pt")
    add_denoiser_timeout(verify)
    verify.add_argument("--json", metavar="OUT", type=output_file,
                        help="write the results as JSON to OUT ('-': stdout only)")
    verify.add_argument("--check", action="append", metavar="ID", help="run only this check (repeatable)")
    add_budget_arguments(verify)
    add_parallel_arguments(verify, "one task per model")
    verify.set_defaults(run=run_verify)
    return verify


def verify_model(model_spec: str, denoiser_spec: str, settings: dict[str, Any],
                 announce: bool = False) -> dict[str, Any]:
    """One model's run: ``{"record"`` (what ``--json`` writes for it), ``"results"``, ``"description"``,
    ``"warnings"}``. `settings`: sigma, history_length, seed, checks, budget (field -> value) and timeout;
    `announce`: print the denoiser's warnings as soon as it is loaded (a run in this process)."""
    import decdiff
    from decdiff.checking.registry import check_denoiser, summarise
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.models.registry import load_model
    from decdiff.properties.context import Budget

    step("loading the model")
    model = load_model(model_spec)
    step("loading the denoiser")
    denoiser = load_denoiser(denoiser_spec, model, settings["sigma"], timeout=settings["timeout"])
    if announce:
        print_denoiser_warnings(denoiser)
    step("running the checks")
    results = check_denoiser(denoiser, model, sigma=settings["sigma"], history_length=settings["history_length"],
                             seed=settings["seed"], label=denoiser_spec, checks=settings["checks"],
                             budget=Budget(**settings["budget"]))
    record = {"decdiff_version": decdiff.__version__, "model": model.name, "denoiser": denoiser_spec,
              "sigma": settings["sigma"], "history_length": settings["history_length"], "seed": settings["seed"],
              "checks": [r.to_json() for r in results], "summary": summarise(results).to_json()}
    return {"record": record, "results": results, "description": model.describe(),
            "warnings": tuple(getattr(denoiser, "warnings", ()))}


def run_verify(args: argparse.Namespace) -> int:
    """Run the checks, print the tables (or JSON); 1 when a check is violated, 3 when a task failed twice, else 0."""
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.models.registry import load_model
    from decdiff.parallel.tasks import Task, TaskFailed, run_tasks
    from decdiff.properties.context import Budget

    settings = {"sigma": args.sigma, "history_length": args.history_length, "seed": args.seed,
                "checks": args.check or None, "timeout": args.denoiser_timeout,
                "budget": {f.name: getattr(args, f.name) for f in fields(Budget)}}
    if len(args.model) == 1 and args.workers == 1 and args.scheduler is None:
        runs = [verify_model(args.model[0], args.denoiser, settings, announce=True)]
    else:
        for spec in args.model:                  # bad input stops the run here, before any work
            step(f"loading {spec} and the denoiser for it")
            print_denoiser_warnings(load_denoiser(args.denoiser, load_model(spec), args.sigma,
                                                  timeout=args.denoiser_timeout))
        step("running the checks")
        tasks = [Task(f"verify {spec}", verify_model, (spec, args.denoiser, settings)) for spec in args.model]
        try:
            runs = run_tasks(tasks, seed=args.seed, workers=args.workers, scheduler=args.scheduler,
                             progress=lambda done, total, key: progress(f"task {done}/{total} done: {key}")).results
        except TaskFailed as error:
            print(f"decdiff: error: {error}", file=sys.stderr)
            return EXIT_FAILED
    _write(args, runs)
    violated = sum(run["record"]["summary"]["verdicts"].get("violated", 0) > 0 for run in runs)
    return EXIT_VIOLATED if violated else EXIT_OK


def _write(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    """One record (one model) or ``{"runs": [...]}`` as JSON; else a table per model and, for several, a closing
    line naming the models with a violated check."""
    import decdiff

    document = runs[0]["record"] if len(runs) == 1 else {"decdiff_version": decdiff.__version__,
                                                          "runs": [run["record"] for run in runs]}
    if args.json == "-":
        print(json.dumps(document, indent=2))
        return
    for k, run in enumerate(runs):
        if k:
            print()
        print(run["description"])
        print_verdict_table(run["results"])
        for line in run["warnings"]:
            print(f"note: {line}")
        counts = ", ".join(f"{key}: {value}" for key, value in run["record"]["summary"]["verdicts"].items())
        print(f"{len(run['results'])} checks ({counts})")
    if len(runs) > 1:
        failing = [run["record"]["model"] for run in runs if run["record"]["summary"]["verdicts"].get("violated", 0)]
        print(f"{len(runs)} models; a check violated on: {', '.join(failing) if failing else 'none'}")
    if args.json:
        step(f"writing {args.json}")
        with atomic_write(args.json) as handle:
            json.dump(document, handle, indent=2)
