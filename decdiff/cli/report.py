"""``decdiff report [--suite quick|paper] [--out DIR] [--seed N]``: the theorem-validation report;
``decdiff report --compare A B``: what differs between two reports.

The report itself is `decdiff.report.write.write_report`; when the suite names a scaling
plan, the plan is measured after the report (`decdiff.bench.scaling.scaling_data`) and
written beside it with the timings. The default folder, ``reports/local``, is ignored by
git, so that running the report leaves a checkout clean; ``reports/latest`` (committed) is
written with ``--out reports/latest``. The comparison is `decdiff.report.compare`.
"""

from __future__ import annotations

import argparse
import sys

from decdiff.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_VIOLATED,
    add_parallel_arguments,
    output_folder,
    progress,
    seed,
    step,
)

#: Where `decdiff report` writes by default (listed in .gitignore).
DEFAULT_OUT = "reports/local"


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``report`` to the ``decdiff`` subcommands."""
    report = subparsers.add_parser("report", help="the theorem-validation report (JSON, Markdown, HTML, figures)")
    report.add_argument("--suite", choices=("quick", "paper"), default="quick", help="quick (default) or paper")
    report.add_argument("--out", default=DEFAULT_OUT, type=output_folder,
                        help=f"output folder (default {DEFAULT_OUT}, ignored by git)")
    report.add_argument("--seed", type=seed, default=0, help="seed of every random choice (default 0)")
    report.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="write nothing; print what differs between two reports (report.json files or their "
                             "folders): verdicts, numbers from the exact denoiser, numbers from trained networks, "
                             "each within its tolerance; exit 1 when a verdict differs or a number leaves its "
                             "tolerance")
    add_parallel_arguments(report, "the independent steps")
    report.set_defaults(run=run_report)
    return report


def run_report(args: argparse.Namespace) -> int:
    """Write the report; 1 when a check is violated or a claim has no executed check, 3 when a step failed
    twice, else 0."""
    if args.compare:
        return run_compare(*args.compare)
    from pathlib import Path

    from decdiff.bench.scaling import scaling_data
    from decdiff.parallel.tasks import TaskFailed
    from decdiff.report.build import executed_checks
    from decdiff.report.write import write_report

    out_dir = Path(args.out)
    step("building the report", partial=f"partial results: the files written to {out_dir}/ are whole")
    try:
        report = write_report(args.suite, seed=args.seed, out_dir=out_dir, progress=progress,
                              measure_scaling=scaling_data, workers=args.workers, scheduler=args.scheduler)
    except TaskFailed as error:
        print(f"decdiff: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    violated = [c for c in executed_checks(report) if c["verdict"] == "violated"]
    print(f"report written to {out_dir}/ (report.json, report.md, report.html; measured: timings.md)")
    missing = report["claims_without_executed_checks"]
    if missing:
        print(f"claims with no executed check: {', '.join(missing)}")
    if violated:
        print(f"{len(violated)} violated: " + ", ".join(f"{c['id']} on {c['subject']['model']} "
                                                        f"({c['subject']['denoiser']})" for c in violated))
    return EXIT_VIOLATED if violated or missing else EXIT_OK


def run_compare(a: str, b: str) -> int:
    """Print the differences between reports `a` and `b`; 1 when one is not allowed (see decdiff.report.compare)."""
    from decdiff.report.compare import compare_reports, format_comparison, load_report

    differences = compare_reports(load_report(a), load_report(b))
    print(f"comparing {a} with {b}")
    print("\n".join(format_comparison(differences)))
    failing = [d for d in differences if not d.allowed]
    print(f"{'differ' if failing else 'agree'}: {len(failing)} differences outside what may differ across machines")
    return EXIT_VIOLATED if failing else EXIT_OK
