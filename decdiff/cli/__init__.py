"""The `decdiff` command line: one module per subcommand, `common` for what they share.

`build_parser` assembles the subcommands; `main` runs one and turns bad input into one
line on stderr and exit status 2 (never a traceback). Exit status: 0 on success, 1 when a
check is violated, 2 for bad input, 3 when a step of a run failed twice (its worker died or
it raised: one line names it), 130 or 143 when SIGINT or SIGTERM interrupted the run:
then one line names the step that was interrupted and where any partial results are
(output files are written whole or not at all: `decdiff.files`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from decdiff.cli.bench import add_bench_parser
from decdiff.cli.check import add_check_parser
from decdiff.cli.common import CURRENT, EXIT_BAD_INPUT, Interrupted, Parser, step
from decdiff.cli.inspect import add_inspect_parser
from decdiff.cli.models import add_models_parser
from decdiff.cli.report import add_report_parser
from decdiff.cli.train import add_train_parser
from decdiff.cli.verify import add_verify_parser
from decdiff.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    """The ``decdiff`` parser with every subcommand; each sets ``run`` to its function."""
    parser = Parser(prog="decdiff", description="Verification harness for diffusion denoisers on Dec-POMDPs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in (add_models_parser, add_inspect_parser, add_verify_parser, add_report_parser, add_train_parser,
                add_check_parser, add_bench_parser):
        add(sub)
    return parser


@contextmanager
def signals_raise_interrupted() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` where the program is (main thread only), then are restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _os_error(error: OSError) -> str:
    """An OSError in words: the file and what went wrong, without errno codes."""
    what = (error.strerror or str(error)).lower()
    return f"{os.fsdecode(error.filename)}: {what}" if error.filename is not None else what


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its exit status, 2 with one line for bad input, 128 + the signal when interrupted."""
    step("reading the arguments", partial="nothing was written")
    try:
        with signals_raise_interrupted():
            args = build_parser().parse_args(argv)
            return args.run(args)
    except InputError as error:
        print(f"decdiff: error: {error.one_line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"decdiff: error: {' '.join(_os_error(error).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnicodeDecodeError as error:
        print(f"decdiff: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (Interrupted, KeyboardInterrupt) as error:
        signum = error.signum if isinstance(error, Interrupted) else signal.SIGINT
        print(f"decdiff: interrupted by {signal.Signals(signum).name} in step '{CURRENT.what}'; {CURRENT.partial}",
              file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
