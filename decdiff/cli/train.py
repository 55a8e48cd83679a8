"""``decdiff train MODEL [...] --out FILE.pt``: train the paper's denoiser and save a checkpoint.

`add_train_parser(subparsers)` adds the subcommand; its ``run`` default returns an exit
code (0 on success) and raises `InputError` for bad input, which the main command line
turns into a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from decdiff.cli.common import (
    noise_level,
    non_negative_int,
    output_file,
    positive_float,
    positive_int,
    seed,
    step,
)
from decdiff.errors import InputError


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train`` to the ``decdiff`` subcommands."""
    train = subparsers.add_parser("train", help="train the paper's fully connected denoiser on data sampled from MODEL")
    train.add_argument("model", help="built-in spec (e.g. sensor-ring) or a .dpomdp path")
    train.add_argument("--history-length", type=non_negative_int, default=1, help="history length H (default 1)")
    train.add_argument("--sigma", type=noise_level, default=0.3,
                       help="training noise level (noise-blind) or validation level (--noise-conditional); default 0.3")
    train.add_argument("--width", type=positive_int, default=256, help="hidden units per layer (default 256)")
    train.add_argument("--depth", type=positive_int, default=3, help="hidden layers (default 3)")
    train.add_argument("--activation", default="silu", help="silu (default), relu, tanh, gelu or softplus")
    train.add_argument("--noise-conditional", action="store_true", help="log sigma as an extra input")
    train.add_argument("--samples", type=positive_int, default=3000,
                       help="trajectories sampled; each gives one pair per agent (default 3000)")
    train.add_argument("--epochs", type=positive_int, default=150, help="maximum epochs (default 150)")
    train.add_argument("--batch-size", type=positive_int, default=512, help="minibatch size (default 512)")
    train.add_argument("--learning-rate", type=positive_float, default=5e-3, help="Adam's initial learning rate (default 5e-3)")
    train.add_argument("--patience", type=positive_int, default=40, help="early-stopping patience in epochs (default 40)")
    train.add_argument("--seed", type=seed, default=0, help="seed of every random choice (default 0)")
    train.add_argument("--device", choices=("cpu", "cuda"),
                       help="cpu, or cuda (needs a CUDA build of torch; see the README); default: cuda if available")
    train.add_argument("--threads", type=positive_int, default=len(os.sched_getaffinity(0)),
                       help="at most this many torch CPU threads (default: the cores this process may use, "
                            f"{len(os.sched_getaffinity(0))} here), and never more than the idle cores")
    train.add_argument("--out", required=True, metavar="FILE.pt", type=output_file, help="where to write the checkpoint")
    train.add_argument("--json", action="store_true", help="print the training record as JSON")
    train.set_defaults(run=run_train)
    return train


def run_train(args: argparse.Namespace) -> int:
    """Train, save, print a summary; 0 on success."""
    from decdiff.implementations.denoisers.checkpoints import (
        model_fields,
        save_checkpoint,
    )
    from decdiff.implementations.models.registry import load_model
    from decdiff.implementations.training import TrainingConfig, train_denoiser

    out = Path(args.out)
    if out.suffix != ".pt":
        raise InputError("a checkpoint's name must end in .pt", source="--out", field=str(out))
    if args.device == "cuda":
        require_cuda()
    step("loading the model")
    model = load_model(args.model)
    model.history_shape(args.history_length)
    config = TrainingConfig(history_length=args.history_length, sigma=args.sigma, samples=args.samples,
                            epochs=args.epochs, width=args.width, depth=args.depth, activation=args.activation,
                            noise_conditional=args.noise_conditional, batch_size=args.batch_size,
                            learning_rate=args.learning_rate, patience=args.patience, seed=args.seed,
                            device=args.device, threads=training_threads(args.threads))
    if args.activation not in ("silu", "relu", "tanh", "gelu", "softplus"):
        raise InputError("unknown activation (known: silu, relu, tanh, gelu, softplus)", field=args.activation)
    step("training")
    denoiser, record = train_denoiser(model, config)
    step(f"writing the checkpoint {out}")
    save_checkpoint(out, denoiser, {**model_fields(model), "training": record.to_json()})
    if args.json:
        print(json.dumps(record.to_json(), indent=2))
    else:
        print(f"{denoiser.describe()} on {model.name}, H={args.history_length}: {record.epochs} epochs "
              f"(best {record.best_epoch}) in {record.seconds:.1f}s; validation MSE {record.best_val_mse:.4g}, "
              f"Bayes MSE {record.bayes_mse:.4g} (ratio {record.mse_ratio:.3f}); wrote {out}")
    return 0


def require_cuda() -> None:
    """Raise `InputError` (exit 2, one line) unless torch can train on a CUDA GPU, saying how to get a CUDA build."""
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda} but no usable GPU"
        raise InputError(f"torch {torch.__version__} is {build}: install a CUDA build of torch (the pip command "
                         f"for your CUDA version is on https://pytorch.org/get-started/locally/; README, 'Training "
                         f"on a GPU') or use --device cpu", field="--device")


def training_threads(requested: int) -> int:
    """min(requested, idle cores), at least 1: the idle cores are those this process may use minus the
    1-minute load average (rounded). Small networks synchronise their threads at every layer, so a
    thread that waits for a busy core stalls them all: 10 epochs of the README's ``train`` took 49-60 s
    on 1 thread and 225-243 s on 2 at load average 9-12 on 2 cores."""
    cores = len(os.sched_getaffinity(0))
    return max(1, min(requested, cores, cores - round(os.getloadavg()[0])))
