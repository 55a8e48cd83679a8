"""``decdiff verify MODEL``: every applicable check of the paper's claims on one model, as a verdict table."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

from decdiff.cli.common import (
    EXIT_OK,
    EXIT_VIOLATED,
    add_budget_arguments,
    add_common_arguments,
    add_denoiser_timeout,
    output_file,
    print_denoiser_warnings,
    print_verdict_table,
    step,
)
from decdiff.files import atomic_write


def add_verify_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``verify`` to the ``decdiff`` subcommands."""
    verify = subparsers.add_parser("verify", help="run every applicable check on one model and print a verdict table")
    verify.add_argument("model", help="built-in spec or a .dpomdp path")
    add_common_arguments(verify)
    verify.add_argument("--denoiser", default="exact", help="exact (default), FILE.py:FACTORY or FILE.pt")
    add_denoiser_timeout(verify)
    verify.add_argument("--json", metavar="OUT", type=output_file,
                        help="write the results as JSON to OUT ('-': stdout only)")
    verify.add_argument("--check", action="append", metavar="ID", help="run only this check (repeatable)")
    add_budget_arguments(verify)
    verify.set_defaults(run=run_verify)
    return verify


def run_verify(args: argparse.Namespace) -> int:
    """Run the checks, print the table (or JSON); 1 when a check is violated, else 0."""
    import decdiff
    from decdiff.checking.registry import check_denoiser, summarise
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.models.registry import load_model
    from decdiff.properties.context import Budget

    step("loading the model")
    model = load_model(args.model)
    history_length = args.history_length
    step("loading the denoiser")
    denoiser = load_denoiser(args.denoiser, model, args.sigma, timeout=args.denoiser_timeout)
    print_denoiser_warnings(denoiser)
    budget = Budget(**{f.name: getattr(args, f.name) for f in fields(Budget)})
    step("running the checks")
    results = check_denoiser(denoiser, model, sigma=args.sigma, history_length=history_length, seed=args.seed,
                             label=args.denoiser, checks=args.check or None, budget=budget)
    summary = summarise(results)
    record = {"decdiff_version": decdiff.__version__, "model": model.name,
              "denoiser": args.denoiser, "sigma": args.sigma, "history_length": history_length, "seed": args.seed,
              "checks": [r.to_json() for r in results], "summary": summary.to_json()}
    if args.json == "-":
        print(json.dumps(record, indent=2))
    else:
        print(model.describe())
        print_verdict_table(results)
        for line in getattr(denoiser, "warnings", ()):
            print(f"note: {line}")
        counts = ", ".join(f"{k}: {v}" for k, v in summary.verdicts.items())
        print(f"{len(results)} checks ({counts})")
        if args.json:
            step(f"writing {args.json}")
            with atomic_write(args.json) as handle:
                json.dump(record, handle, indent=2)
    return EXIT_VIOLATED if summary.verdicts["violated"] else EXIT_OK
