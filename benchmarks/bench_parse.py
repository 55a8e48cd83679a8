"""Time the `.dpomdp` parser on the largest shipped file (print only; nothing is asserted).

Run: `.venv/bin/python benchmarks/bench_parse.py [name ...] [--repeat N]`
(default: fireFighting_2_4_3, 3 repeats). Prints the best and median wall-clock seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from decdiff.implementations.models.dpomdp_parser import (
    bundled_dpomdp_path,
    load_dpomdp,
)


def time_parse(name: str, repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` loads of the bundled file `name`."""
    path = bundled_dpomdp_path(name)
    seconds = []
    for _ in range(repeat):
        begin = time.perf_counter()
        load_dpomdp(path)
        seconds.append(time.perf_counter() - begin)
    return seconds


def main() -> None:
    """Parse the command line and print one timing line per file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["fireFighting_2_4_3"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name in args.names:
        seconds = time_parse(name, args.repeat)
        print(f"{name}: best {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s over {len(seconds)} runs")


if __name__ == "__main__":
    main()
