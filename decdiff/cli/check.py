"""``decdiff check DENOISER --model MODEL [--baseline FILE] [--update-baseline] [--json OUT]``.

Regression-checks a user's denoiser: every registered check of the paper's claims runs
against the exact reference on MODEL (`decdiff.checking.registry.check_denoiser`), the verdict
table is printed as by ``decdiff verify``, and with ``--baseline`` the run is compared
with a stored baseline of margins and verdicts (`decdiff.checking.baseline`).

Exit status (ARCHITECTURE.md, "Contracts"): 0 when no check is violated and nothing regressed against the
baseline; 1 when a check is violated or a regression is found; 2 for bad input, which
includes a denoiser that raises or returns the wrong shape, NaN or infinity (the passive
checker `CheckedDenoiser` names the problem and the input in one line).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from decdiff.cli.common import (
    EXIT_OK,
    EXIT_VIOLATED,
    add_common_arguments,
    add_denoiser_timeout,
    output_file,
    print_denoiser_warnings,
    print_verdict_table,
    step,
)
from decdiff.errors import InputError
from decdiff.files import atomic_write, require_writable


def add_check_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``check`` to the ``decdiff`` subcommands."""
    check = subparsers.add_parser("check", help="regression-check a denoiser against the exact reference and a "
                                                "stored baseline")
    check.add_argument("denoiser", help="exact, FILE.py:FACTORY (FACTORY(model, sigma) -> Denoiser) or a "
                                        "checkpoint FILE.pt written by decdiff train")
    check.add_argument("--model", required=True, help="built-in spec (e.g. sensor-ring) or a .dpomdp path")
    add_common_arguments(check)
    add_denoiser_timeout(check)
    check.add_argument("--check", action="append", metavar="ID", help="run only this check (repeatable)")
    check.add_argument("--baseline", metavar="FILE", help="compare with this baseline (JSON)")
    check.add_argument("--update-baseline", action="store_true",
                       help="write this run's margins and verdicts to the --baseline FILE instead of comparing")
    check.add_argument("--json", metavar="OUT", type=output_file, help="write the results as JSON to OUT ('-': stdout only)")
    check.set_defaults(run=run_check)
    return check


def run_check(args: argparse.Namespace) -> int:
    """Run the checks, compare with or write the baseline, print; the exit status of the module docstring."""
    import decdiff
    from decdiff.checking.baseline import (
        FLOAT64_EPS,
        check_subject,
        compare,
        make_baseline,
        read_baseline,
        write_baseline,
    )
    from decdiff.checking.registry import check_denoiser, summarise
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.dynamics.threads import intra_op_threads
    from decdiff.implementations.models.registry import load_model

    if args.update_baseline and not args.baseline:
        raise InputError("needs --baseline FILE (the file to write)", field="--update-baseline")
    if args.update_baseline:                # the file to write: refused, naming the flag, before any work
        try:
            require_writable(args.baseline)
        except InputError as error:
            raise InputError(error.problem, source="--baseline", field=args.baseline) from None
    step("loading the model")
    model = load_model(args.model)
    subject = {"model": model.name, "sigma": args.sigma, "history_length": args.history_length, "seed": args.seed,
               "checks": sorted(args.check) if args.check else None}
    baseline = None if args.update_baseline or not args.baseline else read_baseline(args.baseline)
    if baseline is not None:
        check_subject(baseline, subject, args.baseline)          # refuse a mismatch before any work
    step("loading the denoiser")
    denoiser = load_denoiser(args.denoiser, model, args.sigma, timeout=args.denoiser_timeout)
    print_denoiser_warnings(denoiser)
    step("running the checks")
    with intra_op_threads(1):      # the checks' batches are small: one thread is faster and burns ~5x less CPU
        results = check_denoiser(denoiser, model, sigma=args.sigma, history_length=args.history_length,
                                 seed=args.seed, label=args.denoiser, checks=args.check or None)
    summary = summarise(results)
    eps = getattr(denoiser, "output_eps", FLOAT64_EPS)
    comparison = None if baseline is None else compare(baseline, results, subject, source=args.baseline, eps=eps)
    record: dict[str, Any] = {"decdiff_version": decdiff.__version__, "model": model.name, "denoiser": args.denoiser,
                              "sigma": args.sigma, "history_length": args.history_length, "seed": args.seed,
                              "checks": [r.to_json() for r in results], "summary": summary.to_json()}
    if comparison is not None:
        record["baseline"] = comparison.to_json()
    if args.update_baseline:
        step(f"writing the baseline {args.baseline}")
        write_baseline(args.baseline, make_baseline(results, subject, args.denoiser, eps))
        step("writing the results", partial=f"the baseline {args.baseline} was written in full")
        record["baseline"] = {"file": args.baseline, "written": True}
    if args.json == "-":
        print(json.dumps(record, indent=2))
    else:
        _print_run(model, results, summary, comparison, args)
        if args.json:
            step(f"writing {args.json}")
            with atomic_write(args.json) as handle:
                json.dump(record, handle, indent=2)
    violated = summary.verdicts["violated"] > 0
    regressed = comparison is not None and bool(comparison.regressions)
    return EXIT_VIOLATED if violated or regressed else EXIT_OK


def _print_run(model, results, summary, comparison, args: argparse.Namespace) -> None:
    out = sys.stdout
    print(f"{args.denoiser} on {model.describe()}", file=out)
    print_verdict_table(results, out=out)
    counts = ", ".join(f"{k}: {v}" for k, v in summary.verdicts.items())
    print(f"{len(results)} checks ({counts})", file=out)
    idle = summary.claims_without_executed_checks()
    if idle:
        print(f"claims with no executed check for this denoiser: {', '.join(idle)}", file=out)
    if args.update_baseline:
        print(f"baseline written to {args.baseline}", file=out)
    if comparison is None:
        return
    regressions = comparison.regressions
    print(f"baseline {comparison.source} (denoiser {comparison.baseline_denoiser}, decdiff "
          f"{comparison.baseline_version}): {len(regressions)} regression{'s' * (len(regressions) != 1)}, "
          f"{len(comparison.changes) - len(regressions)} other change(s)", file=out)
    for change in comparison.changes:
        print(f"  {'REGRESSION' if change.regression else 'changed':<10}  {change.key}: {change.text}", file=out)
