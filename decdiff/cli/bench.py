"""``decdiff bench [--only [NAME ...]] [--end-to-end] [--workers-ratio [SUITE]] [--scaling [quick|paper]]
[--cache DIR] [--json OUT]``.

Every line is a figure, the plain method's figure measured in the same run, their ratio
and the goal; ``--end-to-end`` times the quick report (cold cache) and the default test run
in subprocesses against their goals; ``--workers-ratio`` times a suite's report with two Dask
workers against one process, beside the best ratio its task graph allows; ``--scaling`` adds
the cost of posteriors, fixed points and checks against states, agents and history length
with fitted exponents. The load average is printed with the figures (the machine may be
shared). Exit status 0 whatever the figures (they are measurements, not checks).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from decdiff.cli.common import output_file, output_folder, positive_int, progress
from decdiff.files import write_text


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``decdiff`` subcommands."""
    from decdiff.bench import BENCHMARKS
    from decdiff.bench.scaling import SCALING_PLANS
    from decdiff.report.suites import SUITES

    bench = subparsers.add_parser("bench", help="time the hot paths against the plain methods they replace")
    bench.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), metavar="NAME",
                       help=f"run only these ({', '.join(BENCHMARKS)}); no NAME: none of them (with "
                            "--end-to-end, --workers-ratio or --scaling)")
    bench.add_argument("--end-to-end", action="store_true",
                       help="also time the quick report from a cold cache and the default test run (minutes)")
    bench.add_argument("--workers-ratio", nargs="?", const="quick", choices=sorted(SUITES), metavar="SUITE",
                       help="also time a suite's report (cold cache) with --workers 2 against --workers 1: quick "
                            "(default; minutes) or paper (hours; needs decdiff[smax])")
    bench.add_argument("--scaling", nargs="?", const="paper", choices=sorted(SCALING_PLANS), metavar="SIZE",
                       help="also measure how costs grow: quick (< 30 s) or paper (default; minutes)")
    bench.add_argument("--cache", metavar="DIR", type=output_folder,
                       help="where the trained network of fixed-points-trained is kept "
                            "(default $XDG_CACHE_HOME/decdiff/bench)")
    bench.add_argument("--threads", type=positive_int, default=2,
                       help="torch CPU threads (default 2, the CI machine's)")
    bench.add_argument("--json", metavar="OUT", type=output_file,
                       help="also write every figure as JSON ('-': the JSON on stdout, the lines on stderr)")
    bench.set_defaults(run=run_bench)
    return bench


def run_bench(args: argparse.Namespace) -> int:
    """Run, print one line per figure, optionally write JSON; 0."""
    import sys

    import torch

    from decdiff.bench import BENCHMARKS, run_benchmarks
    from decdiff.bench.end_to_end import bench_end_to_end, end_to_end_commands
    from decdiff.bench.scaling import bench_scaling

    torch.set_num_threads(args.threads)
    out = sys.stderr if args.json == "-" else sys.stdout              # stdout carries the JSON alone

    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores, torch threads {args.threads}", file=out)
    names = list(BENCHMARKS) if args.only is None else args.only
    figures = run_benchmarks(names, progress, None if args.cache is None else Path(args.cache))
    for figure in figures:
        print(figure.line(), file=out)
    if args.end_to_end:
        for command in end_to_end_commands():
            progress(command.name)
            figures.append(bench_end_to_end(command))
            print(figures[-1].line(), file=out)
    if args.workers_ratio:
        from decdiff.bench.workers import bench_workers

        progress(f"{args.workers_ratio} report with 2 workers against 1")
        figures.append(bench_workers(args.workers_ratio))
        print(figures[-1].line(), file=out)
    series = bench_scaling(args.scaling, progress=progress) if args.scaling else []
    for s in series:
        cells = ", ".join(f"{n}: {t:.3g} s" for n, t in zip(s.sizes, s.seconds))
        print(f"scaling {s.stage} against {s.axis}: {cells}; fitted exponent {s.exponent:.2f}", file=out)
    if args.json:
        record = json.dumps({"threads": args.threads, "load_average": load, "load_average_after": os.getloadavg()[0],
                             "figures": [f.to_json() for f in figures], "scaling_size": args.scaling,
                             "scaling": [s.to_json() for s in series]}, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(record)
        else:
            write_text(args.json, record)
    return 0
