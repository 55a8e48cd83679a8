"""Verify every derivation: ``python -m decdiff.theory [--json]``; exit 1 if one fails."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from decdiff.theory.derivation import Derivation, VerificationResult
from decdiff.theory.registry import all_derivations

PASSING = {"proved", "proved-on-instances"}


def render(derivation: Derivation, result: VerificationResult) -> str:
    """Plain-text block for one result."""
    wrap = textwrap.TextWrapper(width=96, initial_indent="  ", subsequent_indent="    ").fill
    lines = [f"== {derivation.id} ({derivation.claim}): {result.verdict} "
             f"[{result.elapsed_seconds:.2f} s]", wrap(derivation.statement),
             "  Assumptions:"]
    for assumption in derivation.assumptions:
        note = "" if assumption.stated_in_paper else " [not stated in the paper]"
        lines.append(wrap(f"- {assumption.name}{note}: {assumption.text}"))
    lines.append("  Steps:")
    for step in result.steps:
        where = step.mode if step.role == "derivation" else f"{step.mode}, {step.role}"
        lines.append(wrap(f"- [{step.status}] {step.name} ({where}): {step.text}"))
        if step.status != "proved":
            lines.append(wrap(f"  {step.detail}"))
    if result.counterexample:
        lines.append(wrap(f"Counterexample to the original claim: "
                          f"{json.dumps(result.counterexample)}"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m decdiff.theory",
                                     description="Verify the symbolic derivations.")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    derivations = all_derivations()
    results = [derivation.verify() for derivation in derivations]
    if args.json:
        print(json.dumps([result.to_dict() for result in results], indent=2))
    else:
        for derivation, result in zip(derivations, results):
            print(render(derivation, result) + "\n")
        total = sum(result.elapsed_seconds for result in results)
        print(f"{sum(r.verdict in PASSING for r in results)}/{len(results)} verified "
              f"in {total:.2f} s")
    return 0 if all(result.verdict in PASSING for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
