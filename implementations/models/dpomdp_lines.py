"""Reading a `.dpomdp` text line by line: its data lines, the tokens on them, the name tables.

`split_lines` turns the text's `physical_lines` into data lines: comment lines and the
blank lines the dialect allows are dropped, every other lexical rule is checked
(`data_texts` lists the data lines without any check, for deciding the dialect first). A
`LineReader` walks the data lines, reads numbers and rows of numbers, resolves names,
indices and `*` against a declared index set (`Names`) and raises `InputError` at the
offending line. The format's rules are described in `dpomdp_parser`'s module docstring.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from decdiff.errors import InputError

#: Largest dense table (entries) and largest number of table writes a file may ask for.
SIZE_LIMIT = 50_000_000

_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # unambiguous: no backtracking blow-up
REAL_RE = re.compile(_NUM)
ROW_RE = re.compile(rf"{_NUM}(?:[ \t]+{_NUM})*")
UINT_RE = re.compile(r"[0-9]+")
IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_BAD_CHAR_RE = re.compile(r"[^\t\x20-\x7e]")
_EOL_RE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Names:
    """One declared index set: its kind for messages, names, and name -> index if named."""

    kind: str
    names: tuple[str, ...]
    index: dict[str, int]

    @property
    def all(self) -> tuple[int, ...]:
        """Every index of the set."""
        return tuple(range(len(self.names)))


def short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters for an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_index(token: str) -> int:
    """An unsigned integer token as an int; absurdly long ones map to a value beyond any limit."""
    return int(token) if len(token) <= 18 else 10**18


def is_entry(text: str) -> bool:
    """Whether a data line starts a `T:`, `O:` or `R:` entry."""
    head, colon, _ = text.partition(":")
    return bool(colon) and head.strip() in ("T", "O", "R")


def _check_data_line(text: str, check_chars: bool, source: str, number: int) -> None:
    """Reject control or non-ASCII characters (when `check_chars`) and trailing comments."""
    if check_chars and (bad := _BAD_CHAR_RE.search(text)):
        raise InputError(
            f"unexpected character U+{ord(bad.group()):04X} (data lines are printable ASCII)",
            source=source,
            line=number,
        )
    if "#" in text:
        raise InputError(
            "comment after data: a comment must be on its own line (MADP fails here)",
            source=source,
            line=number,
        )


def physical_lines(text: str) -> list[str]:
    """The lines of `text` without their ends (`\\n`, `\\r\\n`, `\\r`); a final line end leaves a last ""."""
    return _EOL_RE.split(text)


def data_texts(lines: Iterable[str]) -> Iterator[str]:
    """The data lines among `lines`, stripped: the lines that are neither blank nor comment lines."""
    for raw in lines:
        stripped = raw.strip(" \t")
        if stripped and stripped[0] != "#":
            yield stripped


def split_lines(
    text: str, lines: list[str], source: str, blank_lines_anywhere: bool
) -> tuple[list[tuple[int, str]], int]:
    """Data lines as (line number, stripped text), and the number of lines in the file.

    `lines` are the `physical_lines` of `text`. Drops comment lines and blank lines: all of
    them when `blank_lines_anywhere`, else only those MADP's comment parser swallows (right
    after a comment line), rejecting the others. Rejects comments after data, non-ASCII or
    control characters in data, and a last data line without a newline.
    """
    ends_with_newline = lines[-1] == ""
    count = len(lines) - 1 if ends_with_newline else len(lines)
    check_chars = _BAD_CHAR_RE.search(text.replace("\r", "").replace("\n", "")) is not None
    data: list[tuple[int, str]] = []
    after_comment = False
    for number, raw in enumerate(itertools.islice(lines, count), 1):
        stripped = raw.strip(" \t")
        if not stripped:
            if not (after_comment or blank_lines_anywhere):
                raise InputError(
                    "blank line not preceded by a comment line (MADP stops parsing there); "
                    "remove it or start it with '#'",
                    source=source,
                    line=number,
                )
            continue
        if stripped[0] == "#":
            after_comment = True
            continue
        after_comment = False
        _check_data_line(stripped, check_chars, source, number)
        data.append((number, stripped))
    if count and not ends_with_newline and data and data[-1][0] == count:
        raise InputError(
            "missing newline at the end of the file (MADP drops the last entry)",
            source=source,
            line=count,
        )
    return data, max(count, 1)


class LineReader:
    """A cursor over the data lines of one text, with the readers every part of the grammar shares.

    `sdms` records the dialect (SDM'Studio's quoted one, or MADP's); `pos` is the index of
    the next data line.
    """

    def __init__(self, source: str, data: list[tuple[int, str]], n_lines: int, sdms: bool) -> None:
        self.source = source
        self.data = data
        self.n_lines = n_lines
        self.sdms = sdms
        self.pos = 0

    def fail(self, line: int | None, field: str | None, problem: str) -> NoReturn:
        """Raise the InputError for `problem` at `line` of this source."""
        raise InputError(problem, source=self.source, line=line, field=field)

    def next(self, field: str, expected: str) -> tuple[int, str]:
        """The next data line; fail at the end of the file saying what was `expected`."""
        if self.pos >= len(self.data):
            self.fail(self.n_lines, field, f"unexpected end of file: expected {expected}")
        item = self.data[self.pos]
        self.pos += 1
        return item

    def peek(self) -> tuple[int, str] | None:
        """The next data line without consuming it, or None at the end of the file."""
        return self.data[self.pos] if self.pos < len(self.data) else None

    def real(self, text: str, line: int, field: str, what: str) -> float:
        """Parse one real number (sign, decimals and exponent allowed; no NaN/inf)."""
        token = text.strip()
        if not REAL_RE.fullmatch(token):
            self.fail(line, field, f"expected a number for the {what}, found {short(token)!r}")
        value = float(token)
        if not np.isfinite(value):
            self.fail(line, field, f"{what} {token} overflows float64")
        return value

    def row(self, text: str, line: int, field: str, width: int, width_name: str) -> np.ndarray:
        """Parse a line of exactly `width` real numbers."""
        if not ROW_RE.fullmatch(text):
            bad = next((t for t in text.split() if not REAL_RE.fullmatch(t)), text)
            special = bad.lower().lstrip("+-") in ("nan", "inf", "infinity")
            hint = " (NaN and infinity are not allowed)" if special else ""
            self.fail(line, field, f"expected a number, found {short(bad)!r}{hint}")
        values = np.array(text.split(), dtype=np.float64)
        if len(values) != width:
            self.fail(line, field, f"row has {len(values)} numbers, expected {width} ({width_name} = {width})")
        if not np.isfinite(values).all():
            self.fail(line, field, "a number overflows float64")
        return values

    def index(self, token: str, total: int, what: str, line: int, field: str) -> int:
        """An index token (all digits) that must be below `total`; `what` names its set."""
        index = as_index(token)
        if index >= total:
            self.fail(line, field, f"{what} index {short(token)} out of range (valid: 0..{total - 1})")
        return index

    def pick(self, token: str, names: Names, line: int, field: str, star: bool = True) -> tuple[int, ...]:
        """Indices named by one token of `names`: a name, an index, or `*` (all) if allowed."""
        if token == "*" and star:
            return names.all
        if token.isdigit():
            return (self.index(token, len(names.names), names.kind, line, field),)
        found = names.index.get(token)
        if found is not None:
            return (found,)
        if not IDENT_RE.fullmatch(token):
            wanted = "a name, an index or '*'" if star else "a name or an index"
            self.fail(line, field, f"expected {wanted} ({names.kind}), found {short(token)!r}")
        if not names.index:
            self.fail(
                line, field, f"unknown {names.kind} {token!r}: the {names.kind}s are unnamed, "
                f"use an index 0..{len(names.names) - 1}"
            )
        known = ", ".join(names.names[:6]) + (", ..." if len(names.names) > 6 else "")
        self.fail(line, field, f"unknown {names.kind} {token!r} (known: {known})")
