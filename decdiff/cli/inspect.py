"""``decdiff inspect MODEL``: a model's sizes, the facts the theorems assume, and each agent's certified
fixed points for a sampled joint history (`decdiff.cli.fixed_points`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from decdiff.cli.common import (
    EXIT_OK,
    non_negative_int,
    positive_float,
    positive_int,
    seed,
    step,
)


def add_inspect_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``inspect`` to the ``decdiff`` subcommands."""
    inspect = subparsers.add_parser("inspect", help="a model's sizes, the facts the theorems assume, and each "
                                                    "agent's certified fixed points for a sampled joint history")
    inspect.add_argument("model", help="built-in spec (e.g. sensor-grid:5x5:targets=2) or a .dpomdp path")
    inspect.add_argument("--history-length", type=non_negative_int, default=1,
                         help="history length H: observations per history (default 1)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--sigma", type=positive_float, default=0.3,
                         help="noise level of the fixed-point section (default 0.3)")
    inspect.add_argument("--seed", type=seed, default=0, help="seed of the sampled joint history and starts (default 0)")
    inspect.add_argument("--starts", type=positive_int, default=256,
                         help="starts per agent from p_sigma(y | tau) for the fixed-point search (default 256)")
    inspect.add_argument("--max-points", type=non_negative_int, default=10,
                         help="states listed per agent, most probable first (default 10; 0: all)")
    inspect.set_defaults(run=run_inspect)
    return inspect


def _witness_text(model, witness, what: str) -> str:
    """The pair of states that share `what`, or nothing when there is none."""
    if witness is None:
        return ""
    return (f"  (states {model.state_names[witness.state_a]!r} and {model.state_names[witness.state_b]!r} "
            f"share {what})")


def run_inspect(args: argparse.Namespace) -> int:
    """Print (or, with --json, write as one object) the facts, then the fixed points; 0."""
    from decdiff.cli.fixed_points import (
        json_safe,
        print_fixed_points,
        sampled_fixed_points,
    )
    from decdiff.implementations.model_facts import (
        joint_history_co_witness,
        model_facts,
        per_step_co_witness,
    )
    from decdiff.implementations.models.registry import load_model

    step("loading the model")
    model = load_model(args.model)
    history_length = args.history_length
    model.history_shape(history_length)
    step("computing the model's facts")
    facts = model_facts(model, history_length)
    step("finding the fixed points")
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
    print(f"  per-step collectively observable: {facts.per_step_co}"
          + _witness_text(model, per_step_co_witness(model), "an observation"))
    print(f"  joint history of length {history_length} determines the state: {facts.joint_history_co}"
          + _witness_text(model, joint_history_co_witness(model, history_length), "a joint history"))
    print_fixed_points(model, fixed, args.max_points)
    return EXIT_OK
