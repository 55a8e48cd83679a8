"""What every subcommand shares: exit codes, the parser class, argument types, the current step, the
verdict table.

Exit status: 0 on success, 1 when a check is violated, 2 for bad input, always with a
one-line message naming the problem and never a traceback; 130 (SIGINT) or 143 (SIGTERM)
when interrupted, with one line naming the step (`step`, `progress`) and where any partial
results are. Every value is checked by its argument type before any work starts (seeds,
noise levels, counts, seconds, output paths).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, fields
from typing import TextIO

from decdiff.errors import InputError
from decdiff.files import require_writable
from decdiff.results import CheckResult

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2
#: Exit status when a task failed twice (its worker died, or it raised) and stopped the run.
EXIT_FAILED = 3

#: Seeds are non-negative integers below 2^63 (what numpy and torch both accept).
SEED_LIMIT = 2**63
#: Noise levels sigma the float64 computations represent: sigma^2 and 1 / (2 sigma^2) stay finite
#: normal numbers (float64's range is 2.2e-308 .. 1.8e308), and so do the squared distances
#: ||y - s||^2 ~ sigma^2 d of noisy states for any embedding dimension d up to 1e4.
SIGMA_RANGE = (1e-150, 1e150)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message, source=self.prog)

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> object:
        # ``--flag=--``: argparse (before Python 3.12) drops the "--" and hands the option an empty list
        if action.option_strings and action.nargs in (None, "?") and arg_strings == ["--"]:
            self.error(f"argument {argparse._get_action_name(action)}: expected a value, got '--'")
        return super()._get_values(action, arg_strings)


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the command line was (not a KeyboardInterrupt, so that a user's
    denoiser raising KeyboardInterrupt stays distinguishable: that one is bad input)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class Step:
    """The step the command line is in and where its partial results are (for the interrupt message)."""

    what: str = "starting"
    partial: str = "nothing was written"


CURRENT = Step()


def step(what: str, partial: str | None = None) -> None:
    """Record the current step (and, when given, where partial results would be)."""
    CURRENT.what = what
    if partial is not None:
        CURRENT.partial = partial


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def seed(text: str) -> int:
    """argparse type: a seed, an integer in [0, 2^63)."""
    value = _integer(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer below 2^63, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a history length, or a count where 0 means "all")."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (a noise level sigma, a learning rate, seconds)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def noise_level(text: str) -> float:
    """argparse type: a noise level sigma, finite, positive and inside SIGMA_RANGE."""
    value = positive_float(text)
    low, high = SIGMA_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must lie in [{low:g}, {high:g}] (sigma squared must stay a normal "
                                         f"float64 number), got {text}")
    return value


def output_file(text: str) -> str:
    """argparse type: a file that can be written ('-': stdout), refused in words before any work."""
    if text != "-":
        try:
            require_writable(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(error.one_line()) from None
    return text


def output_folder(text: str) -> str:
    """argparse type: a folder that exists or can be created, and written into."""
    try:
        require_writable(text, folder=True)
    except InputError as error:
        raise argparse.ArgumentTypeError(error.one_line()) from None
    return text


def scheduler_address(text: str) -> str:
    """argparse type: a Dask scheduler address, ``[PROTOCOL://]HOST:PORT`` (tcp, tls, ucx) or ``inproc://...``,
    parsed as dask.distributed parses it; whether a scheduler answers there is found when the run connects."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(text, strict=False)
        if protocol != "inproc":
            _host, port = parse_host_port(location)
            if not 0 < port < 2**16:
                raise ValueError(f"port {port} is outside 1..65535")
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a Dask scheduler address ({error}); expected e.g. "
                                         f"tcp://host:8786") from None
    return text


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--history-length, --sigma and --seed, as every subcommand that checks or trains takes them."""
    parser.add_argument("--history-length", type=non_negative_int, default=1, help="history length H (default 1)")
    parser.add_argument("--sigma", type=noise_level, default=0.3, help="noise level sigma (default 0.3)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of every random choice (default 0)")


def add_denoiser_timeout(parser: argparse.ArgumentParser) -> None:
    """--denoiser-timeout SECONDS: the most a call of a user's denoiser (or its factory) may take."""
    parser.add_argument("--denoiser-timeout", type=positive_float, default=120.0, metavar="SECONDS",
                        help="the most seconds one call of a user's denoiser or factory may take (default 120)")


def add_parallel_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers N and --scheduler ADDRESS: where `what` runs as tasks (`decdiff.parallel.tasks.run_tasks`)."""
    parser.add_argument("--workers", type=positive_int, default=1,
                        help=f"run {what} on a Dask LocalCluster of N processes (default 1: in this process, no Dask)")
    parser.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_address,
                        help=f"run {what} on the Dask cluster at ADDRESS (e.g. tcp://host:8786)")


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """--histories, --starts, ... : the checks' `Budget` (defaults as in `Budget`)."""
    from decdiff.properties.context import Budget

    for f in fields(Budget):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=positive_int, default=f.default,
                            help=f"{f.metadata['help']} (default {f.default})")


def progress(message: str) -> None:
    """One progress line on stderr; it is also the current step."""
    step(message)
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _format_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


#: Details a result's note shows: why it is inconclusive, how its Jacobians were computed.
NOTE_DETAILS = (("reason", "{}"), ("jacobian_method", "Jacobian: {}"))


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
        shown = [text.format(r.details[key]) for key, text in NOTE_DETAILS if (r.details or {}).get(key)]
        note = "; ".join([note] * bool(note) + shown)
        print(f"{r.id:<44} {r.claim:<14} {r.verdict:<20} {_format_number(r.observed):>9} "
              f"{_format_number(r.bound):>9} {_format_number(r.margin):>9}  {note}", file=out)


def print_denoiser_warnings(denoiser: object) -> None:
    """The one-line warnings the denoiser's probe raised (float16 output, no `sigma` attribute, small
    call-to-call noise), on stderr at the start of the run."""
    for line in getattr(denoiser, "warnings", ()):
        print(f"warning: {line}", file=sys.stderr)
