"""How posteriors, fixed points and checks scale with states, agents and history length (issue 9, item 2).

Writes ``scaling.json`` (`decdiff.bench.scaling.scaling_data`) and ``scaling.png`` (one log-log
panel per axis with the fitted exponents) to ``--out`` and prints one line per series.
Run: ``python benchmarks/bench_scaling.py [quick|paper] [--out DIR] [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from decdiff.bench.scaling import scaling_data
from decdiff.report.timings import plot_scaling


def main() -> None:
    """Measure, write the JSON and the plot, print the series."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", nargs="?", default="quick", choices=["quick", "paper"])
    parser.add_argument("--out", default=".", help="folder for scaling.json and scaling.png (default .)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = scaling_data(args.size, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(data, indent=1) + "\n")
    plot_scaling(data, out / "scaling.png")
    print(f"{args.size} size, load average {data['load_average'][0]:.2f} -> {data['load_average'][1]:.2f}")
    for s in data["series"]:
        cells = ", ".join(f"{n}: {t:.3g} s" for n, t in zip(s["sizes"], s["seconds"]))
        print(f"{s['stage']} against {s['axis']}: {cells}; fitted exponent {s['exponent']:.2f}")


if __name__ == "__main__":
    main()
