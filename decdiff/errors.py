"""The one exception type decdiff raises for bad input.

Every refusal of user input (a malformed `.dpomdp` file, an unknown model name, an
impossible history, a denoiser returning the wrong shape) raises `InputError`. It
carries where the problem is (`source`: a file path or the name of the argument;
`line`: a 1-based line number when the source is a file; `field`: the offending item)
and what it is (`problem`). `str(error)` is the one-line message the command line
prints before exiting with status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input, refused rather than guessed at.

    Attributes:
        problem: what is wrong, in words.
        source: the file or argument the input came from, if known.
        line: the 1-based line number in `source`, if it is a file.
        field: the entry or name that is at fault, if there is one.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """`source:line: field: problem`, leaving out what is unknown, on one line."""
        where = ""
        if self.source is not None:
            where = self.source if self.line is None else f"{self.source}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        text = ": ".join([*parts, self.problem])
        return " ".join(text.split())


def require_positive_integers(values: dict[str, object]) -> None:
    """Refuse the first entry of ``{field: value}`` that is not an integer >= 1 (`InputError` naming it)."""
    for name, value in values.items():
        if int(value) < 1:       # type: ignore[call-overload]
            raise InputError(f"must be a positive integer, got {value}", field=name)
