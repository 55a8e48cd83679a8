"""``decdiff inspect MODEL``: a model's sizes, the facts the theorems assume, and each agent's certified
fixed points for a sampled joint history (`decdiff.cli.fixed_points`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from decdiff.cli.common import (
    EXIT_OK,
    noise_level,
    non_negative_int,
    positive_int,
    seed,
    step,
)

#: Default of ``--saddle-pairs``. The saddle search is most of the section's cost: on
#: fireFighting_2_4_3 (259 consistent states, a 258-dimensional hull) 256 pairs per agent took
#: 24 of its 31 s of Jacobians.
SADDLE_PAIRS = 32


def add_inspect_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``inspect`` to the ``decdiff`` subcommands."""
    inspect = subparsers.add_parser("inspect", help="a model's sizes, the facts the theorems assume, and each "
                                                    "agent's certified fixed points for a sampled joint history")
    inspect.add_argument("model", help="built-in spec (e.g. sensor-grid:5x5:targets=2) or a .dpomdp path")
    inspect.add_argument("--history-length", type=non_negative_int, default=1,
                         help="history length H: observations per history (default 1)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--sigma", type=noise_level, default=0.3,
                         help="noise level of the fixed-point section (default 0.3)")
    inspect.add_argument("--seed", type=seed, default=0, help="seed of the sampled joint history and starts (default 0)")
    inspect.add_argument("--starts", type=positive_int, default=256,
                         help="starts per agent from p_sigma(y | tau) for the fixed-point search (default 256)")
    inspect.add_argument("--max-points", type=non_negative_int, default=10,
                         help="states listed per agent, most probable first (default 10; 0: all)")
    inspect.add_argument("--saddle-pairs", type=non_negative_int, default=SADDLE_PAIRS,
                         help="unstable fixed points are searched by Newton from the midpoints of this many closest "
                              f"pairs of stable ones, per agent (default {SADDLE_PAIRS}; 0: none)")
    inspect.add_argument("--no-fixed-points", action="store_true",
                         help="print the model's facts only, without the fixed-point section")
    inspect.set_defaults(run=run_inspect)
    return inspect


def _witness_text(model, witness, what: str) -> str:
    """The pair of states that share `what`, or nothing when there is none."""
    if witness is None:
        return ""
    return (f"  (states {model.state_names[witness.state_a]!r} and {model.state_names[witness.state_b]!r} "
            f"share {what})")


def run_inspect(args: argparse.Namespace) -> int:
    """Print the facts at once, then the fixed points (with a progress bar on stderr); with --json, one object; 0."""
    from decdiff.cli.fixed_points import (
        json_safe,
        print_fixed_points,
        sampled_fixed_points,
    )
    from decdiff.implementations.model_facts import model_facts
    from decdiff.implementations.models.registry import load_model

    step("loading the model")
    model = load_model(args.model)
    model.history_shape(args.history_length)
    step("computing the model's facts")
    facts = model_facts(model, args.history_length)
    if not args.json:
        _print_facts(model, facts, args.history_length)
    step("finding the fixed points")
    fixed = None if args.no_fixed_points else sampled_fixed_points(
        model, args.history_length, args.sigma, args.seed, args.starts, args.saddle_pairs, progress=True)
    if args.json:
        record = {"model": model.name, **asdict(facts)}
        record["action_sizes"] = list(facts.action_sizes)
        record["observation_sizes"] = list(facts.observation_sizes)
        if fixed is not None:
            record["fixed_points"] = json_safe(fixed)
        print(json.dumps(record, indent=2, allow_nan=False))
    elif fixed is not None:
        print_fixed_points(model, fixed, args.max_points)
    return EXIT_OK


def _print_facts(model, facts, history_length: int) -> None:
    """The model's sizes and the facts the theorems assume, flushed before any fixed point is searched."""
    from decdiff.implementations.model_facts import joint_history_co_witness, per_step_co_witness

    print(model.describe())
    print(f"  reachable states:                {facts.reachable_states} of {facts.states}")
    print(f"  observations factored (C1):      {facts.factored_observations}")
    print(f"  own-action observations (C1):    {facts.own_action_observations}")
    print(f"  per-step collectively observable: {facts.per_step_co}"
          + _witness_text(model, per_step_co_witness(model), "an observation"))
    print(f"  joint history of length {history_length} determines the state: {facts.joint_history_co}"
          + _witness_text(model, joint_history_co_witness(model, history_length), "a joint history"), flush=True)
