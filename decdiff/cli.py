"""The `decdiff` command line (DESIGN.md, "Command line").

Exit status: 0 on success, 1 when a check is violated, 2 for bad input, always with a
one-line message naming the problem and never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields

from decdiff.errors import InputError
from decdiff.cli_bench import add_bench_parser
from decdiff.cli_check import add_check_parser
from decdiff.cli_train import add_train_parser

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message, source=self.prog)


def _cmd_models(args: argparse.Namespace) -> int:
    from decdiff.implementations.models.dpomdp_model import bundled_model_names
    from decdiff.implementations.models.registry import FAMILIES

    for family in FAMILIES.values():
        params = ", ".join(f"{k}: {v}" for k, v in family.parameters.items())
        print(f"{family.name:<20} {family.summary}")
        print(f"{'':<20} parameters: {params}")
    print("bundled .dpomdp benchmarks (by name):", ", ".join(bundled_model_names()))
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from decdiff.cli_fixed_points import json_safe, print_fixed_points, sampled_fixed_points
    from decdiff.implementations.model_facts import joint_history_co_witness, model_facts, per_step_co_witness
    from decdiff.implementations.models.registry import load_model

    model = load_model(args.model)
    history_length = args.history_length
    model.history_shape(history_length)
    facts = model_facts(model, history_length)
    if not 0.0 < args.sigma < float("inf"):
        raise InputError(f"sigma must be positive and finite, got {args.sigma}", field="--sigma")
    if args.starts < 1:
        raise InputError(f"--starts must be at least 1, got {args.starts}", field="--starts")
    fixed = sampled_fixed_points(model, history_length, args.sigma, args.seed, args.starts)
    if args.json:
        record = {"model": model.name, **asdict(facts)}
        record["action_sizes"] = list(facts.action_sizes)
        record["observation_sizes"] = list(facts.observation_sizes)
        record["fixed_points"] = json_safe(fixed)
        print(json.dumps(record, indent=2, allow_nan=False))
        return EXIT_OK
    print(model.describe())
    print(f"  reachable states:                {facts.reachable_states} of {facts.states}")
    print(f"  observations factored (C1):      {facts.factored_observations}")
    print(f"  own-action observations (C1):    {facts.own_action_observations}")
    witness = per_step_co_witness(model)
    print(f"  per-step collectively observable: {facts.per_step_co}"
          + ("" if witness is None else f"  (states {model.state_names[witness.state_a]!r} and "
                                       f"{model.state_names[witness.state_b]!r} share an observation)"))
    witness = joint_history_co_witness(model, history_length)
    print(f"  joint history of length {history_length} determines the state: {facts.joint_history_co}"
          + ("" if witness is None else f"  (states {model.state_names[witness.state_a]!r} and "
                                       f"{model.state_names[witness.state_b]!r} share a joint history)"))
    print_fixed_points(model, fixed, args.max_points)
    return EXIT_OK


def _format_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def print_verdict_table(results: list, out=sys.stdout) -> None:
    """One row per check: id, claim, verdict, observed, bound, margin, failed assumptions."""
    header = f"{'check':<44} {'claim':<14} {'verdict':<20} {'observed':>9} {'bound':>9} {'margin':>9}  note"
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in results:
        failed = [k for k, v in r.assumptions.items() if not v]
        note = r.skipped_reason or (("assumption fails: " + ", ".join(failed)) if failed else "")
        print(f"{r.id:<44} {r.claim:<14} {r.verdict:<20} {_format_number(r.observed):>9} "
              f"{_format_number(r.bound):>9} {_format_number(r.margin):>9}  {note}", file=out)


def _cmd_verify(args: argparse.Namespace) -> int:
    from decdiff.implementations.denoisers.loading import load_denoiser
    from decdiff.implementations.models.registry import load_model
    from decdiff.properties.context import Budget
    from decdiff.registry import check_denoiser, summarise

    model = load_model(args.model)
    history_length = args.history_length
    denoiser = load_denoiser(args.denoiser, model, args.sigma)
    budget = Budget(**{f.name: getattr(args, f.name) for f in fields(Budget)})
    results = check_denoiser(denoiser, model, sigma=args.sigma, history_length=history_length, seed=args.seed,
                             label=args.denoiser, checks=args.check or None, budget=budget)
    summary = summarise(results)
    record = {"decdiff_version": __import__("decdiff").__version__, "model": model.name,
              "denoiser": args.denoiser, "sigma": args.sigma, "history_length": history_length, "seed": args.seed,
              "checks": [r.to_json() for r in results], "summary": summary.to_json()}
    if args.json == "-":
        print(json.dumps(record, indent=2))
    else:
        print(model.describe())
        print_verdict_table(results)
        counts = ", ".join(f"{k}: {v}" for k, v in summary.verdicts.items())
        print(f"{len(results)} checks ({counts})")
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(record, handle, indent=2)
    return EXIT_VIOLATED if summary.verdicts["violated"] else EXIT_OK


def _progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from decdiff.report.build import executed_checks
    from decdiff.report.write import write_report

    out_dir = Path(args.out)
    report = write_report(args.suite, seed=args.seed, out_dir=out_dir, progress=_progress)
    violated = [c for c in executed_checks(report) if c["verdict"] == "violated"]
    print(f"report written to {out_dir}/ (report.json, report.md, report.html; measured: timings.md)")
    missing = report["claims_without_executed_checks"]
    if missing:
        print(f"claims with no executed check: {', '.join(missing)}")
    if violated:
        print(f"{len(violated)} violated: " + ", ".join(f"{c['id']} on {c['subject']['model']} "
                                                        f"({c['subject']['denoiser']})" for c in violated))
    return EXIT_VIOLATED if violated or missing else EXIT_OK


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """--histories, --starts, ... : the checks' `Budget` (defaults as in `Budget`)."""
    from decdiff.properties.context import Budget

    for f in fields(Budget):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=_positive_int, default=f.default,
                            help=f"{f.metadata['help']} (default {f.default})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="decdiff", description="Verification harness for diffusion denoisers on Dec-POMDPs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    models = sub.add_parser("models", help="list built-in models with their parameters")
    models.set_defaults(run=_cmd_models)
    inspect = sub.add_parser("inspect", help="a model's sizes, the facts the theorems assume, and each agent's "
                                             "certified fixed points for a sampled joint history")
    inspect.add_argument("model", help="built-in spec (e.g. sensor-grid:5x5:targets=2) or a .dpomdp path")
    inspect.add_argument("--history-length", type=int, default=1, help="history length H: observations per history (default 1)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--sigma", type=float, default=0.3,
                         help="noise level of the fixed-point section (default 0.3)")
    inspect.add_argument("--seed", type=int, default=0, help="seed of the sampled joint history and starts (default 0)")
    inspect.add_argument("--starts", type=int, default=256,
                         help="starts per agent from p_sigma(y | tau) for the fixed-point search (default 256)")
    inspect.add_argument("--max-points", type=int, default=10,
                         help="states listed per agent, most probable first (default 10; 0: all)")
    inspect.set_defaults(run=_cmd_inspect)
    verify = sub.add_parser("verify", help="run every applicable check on one model and print a verdict table")
    verify.add_argument("model", help="built-in spec or a .dpomdp path")
    verify.add_argument("--history-length", type=int, default=1, help="history length H (default 1)")
    verify.add_argument("--sigma", type=float, default=0.3, help="noise level sigma (default 0.3)")
    verify.add_argument("--denoiser", default="exact", help="exact (default), FILE.py:FACTORY or FILE.pt")
    verify.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT ('-': stdout only)")
    verify.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    verify.add_argument("--check", action="append", metavar="ID", help="run only this check (repeatable)")
    add_budget_arguments(verify)
    verify.set_defaults(run=_cmd_verify)
    report = sub.add_parser("report", help="the theorem-validation report (JSON, Markdown, HTML, figures)")
    report.add_argument("--suite", choices=("quick", "paper"), default="quick", help="quick (default) or paper")
    report.add_argument("--out", default="reports/latest", help="output folder (default reports/latest)")
    report.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    report.set_defaults(run=_cmd_report)
    add_train_parser(sub)
    add_check_parser(sub)
    add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
