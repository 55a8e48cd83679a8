"""Exact, strict parser for the `.dpomdp` Dec-POMDP text format (MADP Toolbox / MASPlan).

`parse_dpomdp(text)` and `load_dpomdp(path)` turn a `.dpomdp` file into a `DpomdpData`:
named index sets, the start distribution, one transition matrix per joint action, the
observation table and MADP's reward R(s, ja). The grammar and the semantics are those of
MADP's own parser (the MADP Toolbox's `ParserDPOMDPFormat_Spirit`); the SDM'Studio dialect
(quoted names, `start: "uniform"`, 3-field rewards) is read as well and recorded in
`DpomdpData.dialect`.

Everything the parser refuses raises `decdiff.errors.InputError` with the file, the
1-based line and a one-line problem; no other exception escapes for bad text.

Semantics (as MADP):

- Joint actions and joint observations are numbered with the last agent's index varying
  fastest (`np.ravel_multi_index`, C order). A lone integer is a joint index; otherwise
  a joint element has exactly one token per agent (a name, an individual index or `*`).
- T and O entries *set* values: later entries overwrite earlier ones, unset entries are 0.
- Rewards: `R: ja : s : * : * : r` (and the SDM'Studio `R: ja : s : r`) overwrite R[s, ja];
  every other reward form accumulates `T[ja, s, s'] * r`, or `T[ja, s, s'] * O[ja, s', jo] * r`
  when the joint observation is not a wildcard, with T and O as they stand at that line.
  The accumulating lines are summed per (ja, s) before the multiplication by T, so results
  can differ from MADP's in the last bits.
- After the whole file is read, every row T[ja][s, :], O[ja, s', :] and the start vector
  must be a probability distribution: entries >= 0 and |sum - 1| <= `PROBABILITY_SUM`.
  Nothing is ever renormalised.

Strict where MADP is silently wrong (rejected here):

- an individual index that is out of range for its agent (MADP aliases it to a joint index);
- more (or fewer) lines under `actions:` / `observations:` than there are agents;
- duplicate names in one list, a discount outside [0, 1], NaN, infinities, numbers that
  overflow float64, and an all-zero start vector (MADP silently makes it uniform).

Where MADP is strict, this parser follows it, except the documented choices below:

- Blank (empty or whitespace-only) lines are allowed only where MADP allows them: after a
  comment line (MADP's comment parser swallows the newlines that follow it). A blank line
  after a data line, or as the first line, is rejected with its line number. In the
  SDM'Studio dialect, whose grammar skips them, blank lines are allowed anywhere (first
  line, between data lines, at the end of the file); the dialect is decided before any
  blank line is judged, from the first three lines that are neither blank nor comments.
- A comment must sit on its own line (`#` as first non-blank character); `#` after data
  is rejected. Comment lines may appear anywhere between lines.
- The file must end with a newline after its last data line (a final comment line may
  lack it). `\\n`, `\\r\\n` and `\\r` all end lines. Data lines must be printable ASCII
  (tabs allowed); comments may contain anything.
- Lenient, unambiguous extensions: `start: <index>` and indices (mixed with names) in
  `start include:` / `start exclude:` (MADP documents them but its parser throws);
  in a 1-agent file a joint action or observation may be a single name.
- Kept strict like MADP: `start: uniform` on one line reads `uniform` as a state name
  (write `uniform` on the next line), `T: ja : s :` / `O: ja : s' :` followed by
  `uniform` is rejected, `identity` exists for T only, a `start include:` list must be on
  the same line, and the preamble order `agents, discount, values, states, start,
  actions, observations` is mandatory. `values: cost` is refused (MADP aborts on it).
- A joint observation counts as a wildcard (for the reward rules) when all its tokens
  are `*`, i.e. `*` or `* * ... *`.

SDM'Studio dialect (chosen when the `values:` line is quoted): every name and the words
`*`, `uniform`, `identity` and `reward` must be double-quoted (numbers, counts and indices
are bare); `start: "uniform"` may sit on the `start:` line; `R: ja : s : r` sets R[s, ja];
blank lines may stand anywhere. Otherwise the line structure is the MADP one; the
T-then-O-then-R order of SDM'Studio's grammar is not enforced. Quotes in a MADP file are
rejected.

Resource limit: a file whose dense tables (O is [JA, S, JO]) or whose table writes exceed
`SIZE_LIMIT` entries is refused, so that a corrupted count cannot exhaust memory.

This module holds the entry points and `DpomdpData`; the work is done, in this order, by
`dpomdp_lines` (data lines, tokens, name tables), `dpomdp_sdms` (the dialect),
`dpomdp_preamble` (the declarations), `dpomdp_sections` (the T, O and R entries, into
`dpomdp_tables`) and `dpomdp_validation` (the probability and finiteness checks).
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from decdiff.errors import InputError
from decdiff.implementations.models.dpomdp_lines import (
    SIZE_LIMIT,
    LineReader,
    physical_lines,
    split_lines,
)
from decdiff.implementations.models.dpomdp_preamble import RESERVED_WORDS, read_preamble
from decdiff.implementations.models.dpomdp_sdms import is_sdms
from decdiff.implementations.models.dpomdp_sections import read_sections
from decdiff.implementations.models.dpomdp_validation import (
    DENSE_T_LIMIT,
    finish_tables,
)

__all__ = [
    "DENSE_T_LIMIT",
    "RESERVED_WORDS",
    "SIZE_LIMIT",
    "DpomdpData",
    "bundled_dpomdp_names",
    "bundled_dpomdp_path",
    "load_dpomdp",
    "parse_dpomdp",
]

_DATA_DIR = "dpomdp_data"


@dataclass(frozen=True, eq=False)
class DpomdpData:
    """A parsed `.dpomdp` model.

    Attributes:
        source: the file path as given, or "<string>".
        agent_names: one name per agent ("0", "1", ... when given as a count).
        state_names: one name per state ("0" .. "S-1" when given as a count).
        action_names: per agent, its action names (indices as strings when unnamed).
        observation_names: per agent, its observation names (likewise).
        discount: the discount factor, in [0, 1].
        start: [S] initial state distribution.
        transition: per joint action an [S, S] matrix, T[ja][s, s'] = P(s' | s, ja);
            dense numpy when S * S * JA <= DENSE_T_LIMIT, else `scipy.sparse.csr_array`.
        observation: [JA, S, JO], O[ja, s', jo] = P(jo | ja, s').
        reward: [S, JA], MADP's R(s, ja).
        dialect: "madp" or "sdms" (SDM'Studio's quoted dialect).
    """

    source: str
    agent_names: tuple[str, ...]
    state_names: tuple[str, ...]
    action_names: tuple[tuple[str, ...], ...]
    observation_names: tuple[tuple[str, ...], ...]
    discount: float
    start: np.ndarray
    transition: tuple[np.ndarray | scipy.sparse.csr_array, ...]
    observation: np.ndarray
    reward: np.ndarray
    dialect: str


def parse_dpomdp(text: str, source: str = "<string>") -> DpomdpData:
    """Parse the text of a `.dpomdp` file; `source` names it in error messages."""
    lines = physical_lines(text)
    sdms = is_sdms(lines)  # first: the dialect decides which blank lines are allowed
    data, n_lines = split_lines(text, lines, source, blank_lines_anywhere=sdms)
    reader = LineReader(source, data, n_lines, sdms)
    preamble = read_preamble(reader)
    tables = read_sections(reader, preamble)
    transition, observation, reward = finish_tables(reader, tables, preamble.states, preamble.actions)
    return DpomdpData(
        source=source,
        agent_names=preamble.agents.names,
        state_names=preamble.states.names,
        action_names=tuple(a.names for a in preamble.actions),
        observation_names=tuple(o.names for o in preamble.observations),
        discount=preamble.discount,
        start=preamble.start,
        transition=transition,
        observation=observation,
        reward=reward,
        dialect="sdms" if reader.sdms else "madp",
    )


def load_dpomdp(path: str | os.PathLike[str]) -> DpomdpData:
    """Read and parse a `.dpomdp` file (bytes decoded as Latin-1: data lines must be ASCII)."""
    source = os.fspath(path)
    try:
        raw = pathlib.Path(source).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", source=source) from None
    return parse_dpomdp(raw.decode("latin-1"), source)


def bundled_dpomdp_names() -> tuple[str, ...]:
    """Names (without `.dpomdp`) of the benchmark files shipped in `dpomdp_data/`."""
    root = importlib.resources.files(__package__) / _DATA_DIR
    names = (entry.name for entry in root.iterdir() if entry.name.endswith(".dpomdp"))
    return tuple(sorted(name.removesuffix(".dpomdp") for name in names))


def bundled_dpomdp_path(name: str) -> pathlib.Path:
    """Path of a shipped benchmark file: "dectiger" or "dectiger.dpomdp"."""
    stem = name.removesuffix(".dpomdp")
    available = bundled_dpomdp_names()
    if stem not in available:
        raise InputError(
            f"unknown bundled .dpomdp file {name!r}; available: {', '.join(available)}",
            source="name",
        )
    return pathlib.Path(str(importlib.resources.files(__package__) / _DATA_DIR / f"{stem}.dpomdp"))
