"""What every subcommand shares: exit codes, the parser class, argument types, the verdict table.

Exit status: 0 on success, 1 when a check is violated, 2 for bad input, always with a
one-line message naming the problem and never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import TextIO

from decdiff.errors import InputError
from decdiff.results import CheckResult

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message, source=self.prog)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """--histories, --starts, ... : the checks' `Budget` (defaults as in `Budget`)."""
    from decdiff.properties.context import Budget

    for f in fields(Budget):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=positive_int, default=f.default,
                            help=f"{f.metadata['help']} (default {f.default})")


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _format_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def print_verdict_table(results: list[CheckResult], out: TextIO | None = None) -> None:
    """One row per check: id, claim, verdict, observed, bound, margin, failed assumptions."""
    out = sys.stdout if out is None else out
    header = f"{'check':<44} {'claim':<14} {'verdict':<20} {'observed':>9} {'bound':>9} {'margin':>9}  note"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        failed = [k for k, v in r.assumptions.items() if not v]
        note = "; ".join(filter(None, [r.skipped_reason, r.note, ("assumption fails: " + ", ".join(failed)) if failed
                                      else ""]))
        print(f"{r.id:<44} {r.claim:<14} {r.verdict:<20} {_format_number(r.observed):>9} "
              f"{_format_number(r.bound):>9} {_format_number(r.margin):>9}  {note}", file=out)
