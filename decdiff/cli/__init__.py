"""The `decdiff` command line: one module per subcommand, `common` for what they share.

`build_parser` assembles the subcommands; `main` runs one and turns bad input into one
line on stderr and exit status 2 (never a traceback). Exit status: 0 on success, 1 when a
check is violated, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from decdiff.cli.bench import add_bench_parser
from decdiff.cli.check import add_check_parser
from decdiff.cli.common import EXIT_BAD_INPUT, Parser
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its exit status, or 2 with one line for bad input."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except InputError as error:
        print(f"decdiff: error: {error.one_line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, UnicodeDecodeError) as error:
        print(f"decdiff: error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
