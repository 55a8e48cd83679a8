"""``decdiff bench [--only NAME ...] [--scaling] [--json OUT]``: hot paths against the plain methods.

Every line is a figure, the plain method's figure measured in the same run, their ratio
and the goal; ``--scaling`` adds the cost of posteriors, fixed points and checks against
states, agents and history length with fitted exponents. Exit status 0 whatever the
figures (they are measurements, not checks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``decdiff`` subcommands."""
    from decdiff.bench import BENCHMARKS

    bench = subparsers.add_parser("bench", help="time the hot paths against the plain methods they replace")
    bench.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME",
                       help=f"run only these ({', '.join(BENCHMARKS)})")
    bench.add_argument("--scaling", action="store_true", help="also measure how costs grow (a few minutes)")
    bench.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2, the CI machine's)")
    bench.add_argument("--json", metavar="OUT", help="also write every figure as JSON")
    bench.set_defaults(run=run_bench)
    return bench


def run_bench(args: argparse.Namespace) -> int:
    """Run, print one line per figure, optionally write JSON; 0."""
    import torch

    from decdiff.bench import bench_scaling, run_benchmarks

    torch.set_num_threads(args.threads)

    def progress(name: str) -> None:
        print(f"  ... {name}", file=sys.stderr, flush=True)

    figures = run_benchmarks(args.only, progress)
    for figure in figures:
        print(figure.line())
    series = bench_scaling(progress=progress) if args.scaling else []
    for s in series:
        cells = ", ".join(f"{n}: {t:.3g} s" for n, t in zip(s.sizes, s.seconds))
        print(f"scaling {s.stage} against {s.axis}: {cells}; fitted exponent {s.exponent:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads,
                                               "figures": [f.to_json() for f in figures],
                                               "scaling": [s.to_json() for s in series]}, indent=1) + "\n")
    return 0
