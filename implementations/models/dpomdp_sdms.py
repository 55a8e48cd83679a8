"""The SDM'Studio dialect of `.dpomdp`: telling it from MADP's, and its quoting of names.

SDM'Studio (the `sdms` toolbox) writes `.dpomdp` files with every name and the words
`*`, `uniform`, `identity` and `reward` double-quoted; numbers, counts and indices stay
bare. A file is read in that dialect when its `values:` line is quoted (`is_sdms`), and
then every name-like token must be quoted (`token`); in a MADP file a quote is refused.
The dialect's two extra forms, `start: "uniform"` on the `start:` line and the 3-field
reward `R: ja : s : r`, are read where their sections are (`dpomdp_preamble`,
`dpomdp_sections`).

SDM'Studio's grammar skips blank lines wherever they are, so in this dialect blank lines
may stand anywhere (in a MADP file only right after a comment line). The dialect is
therefore decided first, from the first three lines that are neither blank nor comments,
and then decides which blank lines `split_lines` accepts (`blank_lines_anywhere`).
"""

from __future__ import annotations

import itertools
import re

from decdiff.implementations.models.dpomdp_lines import (
    IDENT_RE,
    UINT_RE,
    LineReader,
    data_texts,
)


def is_sdms(lines: list[str]) -> bool:
    """SDM'Studio dialect: its `values:` line (third data line) is quoted. `lines`: the physical lines."""
    for text in itertools.islice(data_texts(lines), 3):
        if re.match(r"values[ \t]*:", text):
            return '"' in text
    return False


def token(reader: LineReader, raw: str, line: int, field: str) -> str:
    """A name/keyword/index token in the dialect's spelling, unquoted; checks the quoting."""
    if not reader.sdms:
        if '"' in raw:
            reader.fail(
                line, field, f"unexpected quote in {raw!r}: quoted names are SDM'Studio dialect, "
                "which needs a quoted values: line"
            )
        return raw
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        if inner == "*" or IDENT_RE.fullmatch(inner):
            return inner
        reader.fail(line, field, f"malformed quoted name {raw!r}")
    if UINT_RE.fullmatch(raw):
        return raw
    reader.fail(
        line, field, f"expected a double-quoted name, '\"*\"' or an index, found {raw!r} "
        "(SDM'Studio dialect: names and keywords are quoted)"
    )
