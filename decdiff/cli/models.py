"""``decdiff models``: the built-in model families with their parameters, and the bundled benchmarks."""

from __future__ import annotations

import argparse

from decdiff.cli.common import EXIT_OK


def add_models_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``models`` to the ``decdiff`` subcommands."""
    models = subparsers.add_parser("models", help="list built-in models with their parameters")
    models.set_defaults(run=run_models)
    return models


def run_models(args: argparse.Namespace) -> int:
    """Print one entry per family and the bundled `.dpomdp` names; 0."""
    from decdiff.implementations.models.dpomdp_model import bundled_model_names
    from decdiff.implementations.models.registry import FAMILIES

    for family in FAMILIES.values():
        params = ", ".join(f"{k}: {v}" for k, v in family.parameters.items())
        print(f"{family.name:<20} {family.summary}")
        print(f"{'':<20} parameters: {params}")
    print("bundled .dpomdp benchmarks (by name):", ", ".join(bundled_model_names()))
    return EXIT_OK
