"""The preamble of a `.dpomdp` file: the declarations that come before the T, O and R entries.

`read_preamble` reads, in this mandatory order, `agents:`, `discount:`, `values:`,
`states:`, the start specification, `actions:` and `observations:` (one line per agent
under each of the last two), and returns them as a `Preamble`. A declaration is a count
or a list of distinct names; the start specification is a vector or `uniform` on the next
line, one state on the `start:` line, or `start include:` / `start exclude:` with a list
of states, and must be a probability distribution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from decdiff.implementations.models.dpomdp_lines import (
    IDENT_RE,
    REAL_RE,
    SIZE_LIMIT,
    UINT_RE,
    LineReader,
    Names,
    as_index,
    is_entry,
    short,
)
from decdiff.implementations.models.dpomdp_sdms import token
from decdiff.implementations.models.dpomdp_validation import check_start

#: Words MADP reserves: they can never be names.
RESERVED_WORDS = frozenset({"agents", "discount", "actions", "observations", "T", "O", "R"})

_PREAMBLE_ORDER = "agents, discount, values, states, start, actions, observations"
_START_RE = re.compile(r"start(?:[ \t]+(include|exclude))?[ \t]*:(.*)")
_NAMES_LINE_RE = re.compile(r'"?[A-Za-z0-9][A-Za-z0-9_-]*"?(?:[ \t]+"?[A-Za-z0-9][A-Za-z0-9_-]*"?)*')


@dataclass(frozen=True)
class Preamble:
    """The declarations of a `.dpomdp` file (`values:` has one accepted value and is not kept)."""

    agents: Names
    discount: float
    states: Names
    start: np.ndarray
    actions: list[Names]
    observations: list[Names]


def read_preamble(r: LineReader) -> Preamble:
    """Read the preamble from the first data line of `r`, leaving `r` at the first entry."""
    line, rest = _keyword(r, "agents", "agents: <count or names>")
    agents = _names_or_count(r, rest, line, "agents", "agent")
    discount = _discount(r)
    _values(r)
    line, rest = _keyword(r, "states", "states: <count or names>")
    states = _names_or_count(r, rest, line, "states", "state")
    start = _start(r, states)
    n = len(agents.names)
    actions = _per_agent(r, "actions", "action", n, "observations")
    observations = _per_agent(r, "observations", "observation", n, None)
    return Preamble(agents, discount, states, start, actions, observations)


def _keyword(r: LineReader, key: str, form: str) -> tuple[int, str]:
    """Consume the line `key: ...` of the preamble; return its line and what follows ':'."""
    line, text = r.next(key, f"'{form}'")
    match = re.fullmatch(rf"{key}[ \t]*:(.*)", text)
    if match is None:
        r.fail(line, key, f"expected '{form}' (preamble order: {_PREAMBLE_ORDER}), found {short(text)!r}")
    return line, match.group(1).strip()


def _names_or_count(r: LineReader, text: str, line: int, field: str, kind: str) -> Names:
    """A declaration: one unsigned count, or a list of distinct identifiers."""
    tokens = text.split()
    if not tokens:
        r.fail(line, field, f"expected a count or a list of names ({kind})")
    if len(tokens) == 1 and UINT_RE.fullmatch(tokens[0]):
        count = as_index(tokens[0])
        if not 1 <= count <= SIZE_LIMIT:
            r.fail(line, field, f"a count must be between 1 and {SIZE_LIMIT}, found {short(tokens[0])} ({kind})")
        return Names(kind, tuple(str(i) for i in range(count)), {})
    names = [token(r, t, line, field) for t in tokens]
    for name in names:
        if name.isdigit():
            r.fail(line, field, f"a count and names cannot be mixed on one line ({kind})")
        if not IDENT_RE.fullmatch(name):
            r.fail(line, field, f"invalid name {name!r} for {kind} (names match [A-Za-z][A-Za-z0-9_-]*)")
        if name in RESERVED_WORDS:
            r.fail(line, field, f"{name!r} is a reserved word and cannot be used as a name ({kind})")
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        dup = next(name for name in names if names.count(name) > 1)
        r.fail(line, field, f"duplicate name {dup!r} in the {kind} declaration")
    return Names(kind, tuple(names), index)


def _discount(r: LineReader) -> float:
    """The `discount:` line: a real in [0, 1]."""
    line, rest = _keyword(r, "discount", "discount: <real>")
    value = r.real(rest, line, "discount", "discount")
    if not 0.0 <= value <= 1.0:
        r.fail(line, "discount", f"discount must be in [0, 1], found {value}")
    return value


def _values(r: LineReader) -> None:
    """The `values:` line: only `reward` is supported (like MADP)."""
    line, rest = _keyword(r, "values", "values: reward")
    words = rest.split()
    word = token(r, words[0], line, "values") if len(words) == 1 else rest
    if word == "cost":
        r.fail(line, "values", "'values: cost' is not supported (MADP aborts on it too); use reward")
    if word != "reward":
        r.fail(line, "values", f"expected 'reward' after 'values:', found {short(rest)!r}")


def _start(r: LineReader, states: Names) -> np.ndarray:
    """The start specification: vector or `uniform` on the next line, one state, include/exclude."""
    line, text = r.next("start", "the start specification")
    match = _START_RE.fullmatch(text)
    if match is None:
        r.fail(
            line, "start", "expected 'start:', 'start include:' or 'start exclude:' "
            f"(preamble order: {_PREAMBLE_ORDER}), found {short(text)!r}"
        )
    mode, rest = match.group(1), match.group(2).split()
    n = len(states.names)
    if mode is None and not rest:
        line, text = r.next("start", "'uniform' or the start vector on the line after 'start:'")
        words = text.split()
        if len(words) == 1 and not REAL_RE.fullmatch(words[0]) and token(r, words[0], line, "start") == "uniform":
            start = np.full(n, 1.0 / n)
        else:
            start = r.row(text, line, "start", n, "|S|")
    elif mode is None:
        start = _start_state(r, rest, states, line)
    else:
        start = _start_subset(r, mode, rest, states, line)
    check_start(r, start, line)
    return start


def _start_state(r: LineReader, tokens: list[str], states: Names, line: int) -> np.ndarray:
    """`start: <state>` (or SDM'Studio's `start: "uniform"`) on one line."""
    if len(tokens) != 1:
        r.fail(
            line, "start", "'start:' takes one state on its line; "
            "put a probability vector or 'uniform' on the next line"
        )
    word = token(r, tokens[0], line, "start")
    n = len(states.names)
    if r.sdms and word == "uniform":
        return np.full(n, 1.0 / n)
    start = np.zeros(n)
    start[r.pick(word, states, line, "start", star=False)[0]] = 1.0
    return start


def _start_subset(r: LineReader, mode: str, tokens: list[str], states: Names, line: int) -> np.ndarray:
    """`start include: ...` / `start exclude: ...`: uniform over a set of states."""
    if not tokens:
        r.fail(line, "start", f"'start {mode}:' needs its states on the same line")
    picked = [r.pick(token(r, t, line, "start"), states, line, "start", star=False)[0] for t in tokens]
    if len(set(picked)) != len(picked):
        r.fail(line, "start", f"a state is listed twice in 'start {mode}:'")
    mask = np.zeros(len(states.names), dtype=bool)
    mask[picked] = True
    if mode == "exclude":
        mask = ~mask
    if not mask.any():
        r.fail(line, "start", "'start exclude:' excludes every state")
    return mask / mask.sum()


def _per_agent(r: LineReader, key: str, kind: str, n_agents: int, next_key: str | None) -> list[Names]:
    """`actions:` / `observations:` then exactly one declaration line per agent."""
    line, rest = _keyword(r, key, f"{key}:")
    if rest:
        r.fail(line, key, f"nothing may follow '{key}:'; put each agent's {kind}s on its own line")
    sets = []
    for agent in range(n_agents):
        upcoming = r.peek()
        ends = upcoming is None or is_entry(upcoming[1])
        if ends or (next_key and re.match(rf"{next_key}[ \t]*:", upcoming[1])):
            where = upcoming[0] if upcoming else r.n_lines
            r.fail(where, key, f"expected {n_agents} lines under '{key}:' (one per agent), found {agent}")
        line, text = r.next(key, "")
        sets.append(_names_or_count(r, text, line, key, f"{kind} of agent {agent + 1}"))
    upcoming = r.peek()
    if upcoming is not None and _NAMES_LINE_RE.fullmatch(upcoming[1]):
        r.fail(upcoming[0], key, f"more lines under '{key}:' than agents ({n_agents}): one line per agent")
    return sets
