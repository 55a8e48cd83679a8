"""Exact, strict parser for the `.dpomdp` Dec-POMDP text format (MADP Toolbox / MASPlan).

`parse_dpomdp(text)` and `load_dpomdp(path)` turn a `.dpomdp` file into a `DpomdpData`:
named index sets, the start distribution, one transition matrix per joint action, the
observation table and MADP's reward R(s, ja). The grammar and the semantics are those of
MADP's own parser (`shared/dpomdp/FORMAT.md`); the SDM'Studio dialect (quoted names,
`start: "uniform"`, 3-field rewards) is read as well and recorded in `DpomdpData.dialect`.

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
  after a data line, or as the first line, is rejected with its line number.
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
are bare); `start: "uniform"` may sit on the `start:` line; `R: ja : s : r` sets R[s, ja].
Otherwise the line structure is the MADP one; the T-then-O-then-R order of SDM'Studio's
grammar is not enforced. Quotes in a MADP file are rejected.

Resource limit: a file whose dense tables (O is [JA, S, JO]) or whose table writes exceed
`SIZE_LIMIT` entries is refused, so that a corrupted count cannot exhaust memory.
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib
import re
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import scipy.sparse

from decdiff.errors import InputError
from decdiff.tolerances import PROBABILITY_SUM

#: T is returned as dense numpy matrices when |S| * |S| * |JA| is at most this, else as CSR.
DENSE_T_LIMIT = 4_000_000

#: Largest dense table (entries) and largest number of table writes a file may ask for.
SIZE_LIMIT = 50_000_000

#: Words MADP reserves: they can never be names.
RESERVED_WORDS = frozenset({"agents", "discount", "actions", "observations", "T", "O", "R"})

_PREAMBLE_ORDER = "agents, discount, values, states, start, actions, observations"
_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # unambiguous: no backtracking blow-up
_REAL_RE = re.compile(_NUM)
_ROW_RE = re.compile(rf"{_NUM}(?:[ \t]+{_NUM})*")
_UINT_RE = re.compile(r"[0-9]+")
_IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_BAD_CHAR_RE = re.compile(r"[^\t\x20-\x7e]")
_EOL_RE = re.compile(r"\r\n|\r|\n")
_START_RE = re.compile(r"start(?:[ \t]+(include|exclude))?[ \t]*:(.*)")
_NAMES_LINE_RE = re.compile(r'"?[A-Za-z0-9][A-Za-z0-9_-]*"?(?:[ \t]+"?[A-Za-z0-9][A-Za-z0-9_-]*"?)*')
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
    return _Parser(text, source).parse()


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


@dataclass(frozen=True)
class _Names:
    """One declared index set: its kind for messages, names, and name -> index if named."""

    kind: str
    names: tuple[str, ...]
    index: dict[str, int]

    @property
    def all(self) -> tuple[int, ...]:
        """Every index of the set."""
        return tuple(range(len(self.names)))


def _short(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters for an error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_index(token: str) -> int:
    """An unsigned integer token as an int; absurdly long ones map to a value beyond any limit."""
    return int(token) if len(token) <= 18 else 10**18


def _is_entry(text: str) -> bool:
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


def _split_lines(text: str, source: str) -> tuple[list[tuple[int, str]], int]:
    """Data lines as (line number, stripped text), and the number of lines in the file.

    Drops comment lines and the blank lines MADP's comment parser swallows; rejects other
    blank lines, comments after data, non-ASCII or control characters in data, and a last
    data line without a newline.
    """
    lines = _EOL_RE.split(text)
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()
    check_chars = _BAD_CHAR_RE.search(text.replace("\r", "").replace("\n", "")) is not None
    data: list[tuple[int, str]] = []
    after_comment = False
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip(" \t")
        if not stripped:
            if not after_comment:
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
    if lines and not ends_with_newline and data and data[-1][0] == len(lines):
        raise InputError(
            "missing newline at the end of the file (MADP drops the last entry)",
            source=source,
            line=len(lines),
        )
    return data, max(len(lines), 1)


class _TransitionBuilder:
    """T while it is being read: per joint action a base matrix and explicitly written rows.

    The base is "zero", "uniform" or "identity" (set by the matrix forms); a row that is
    written to is materialised as a dict {s': p} that replaces the base row. This keeps
    large sparse models (fireFighting_2_4_3: 16 x 2025 x 2025) cheap.
    """

    def __init__(self, n_joint_actions: int, n_states: int) -> None:
        self.n_states = n_states
        self.base = ["zero"] * n_joint_actions
        self.rows: list[dict[int, dict[int, float]]] = [{} for _ in range(n_joint_actions)]
        self.line = [[0] * n_states for _ in range(n_joint_actions)]

    def set_base(self, ja: int, kind: str, line: int) -> None:
        """Make T[ja] the base matrix `kind`, forgetting every written row."""
        self.base[ja] = kind
        self.rows[ja] = {}
        self.line[ja] = [line] * self.n_states

    def set_row(self, ja: int, s: int, row: dict[int, float], line: int) -> None:
        """Replace the row T[ja][s, :] by `row` (missing columns are 0)."""
        self.rows[ja][s] = row
        self.line[ja][s] = line

    def set_entries(
        self, jas: tuple[int, ...], ss: tuple[int, ...], sps: tuple[int, ...], p: float, line: int
    ) -> None:
        """Set T[ja][s, s'] = p for every combination of the given indices."""
        for ja in jas:
            rows = self.rows[ja]
            lines = self.line[ja]
            for s in ss:
                row = rows.get(s)
                if row is None:
                    row = rows[s] = self._base_row(ja, s)
                for sp in sps:
                    row[sp] = p
                lines[s] = line

    def _base_row(self, ja: int, s: int) -> dict[int, float]:
        """The row T[ja][s, :] of the base matrix, as a dict."""
        kind = self.base[ja]
        if kind == "uniform":
            return dict.fromkeys(range(self.n_states), 1.0 / self.n_states)
        return {s: 1.0} if kind == "identity" else {}

    def dot(self, ja: int, s: int, weights: dict[int, float], weight_sum: float) -> float:
        """sum over s' of T[ja][s, s'] * weights[s'] (`weight_sum` = sum of the weights)."""
        row = self.rows[ja].get(s)
        if row is None:
            kind = self.base[ja]
            if kind == "uniform":
                return weight_sum / self.n_states
            return weights.get(s, 0.0) if kind == "identity" else 0.0
        if len(row) <= len(weights):
            return sum(p * weights.get(sp, 0.0) for sp, p in row.items())
        return sum(w * row.get(sp, 0.0) for sp, w in weights.items())

    def matrix(self, ja: int, dense: bool) -> np.ndarray | scipy.sparse.csr_array:
        """The finished T[ja] as a dense array or a CSR array."""
        n = self.n_states
        rows_idx, cols_idx, values = self._triplets(ja)
        if dense:
            out = np.zeros((n, n))
            out[rows_idx, cols_idx] = values
            return out
        return scipy.sparse.csr_array((values, (rows_idx, cols_idx)), shape=(n, n))

    def _triplets(self, ja: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every non-zero entry of T[ja]."""
        n = self.n_states
        written = self.rows[ja]
        r: list[int] = []
        c: list[int] = []
        v: list[float] = []
        for s, row in written.items():
            r.extend([s] * len(row))
            c.extend(row.keys())
            v.extend(row.values())
        rows_idx, cols_idx, values = np.array(r, dtype=np.int64), np.array(c, dtype=np.int64), np.array(v)
        untouched = np.setdiff1d(np.arange(n), np.fromiter(written.keys(), dtype=np.int64, count=len(written)))
        if self.base[ja] == "uniform":
            rows_idx = np.concatenate([rows_idx, np.repeat(untouched, n)])
            cols_idx = np.concatenate([cols_idx, np.tile(np.arange(n), len(untouched))])
            values = np.concatenate([values, np.full(len(untouched) * n, 1.0 / n)])
        elif self.base[ja] == "identity":
            rows_idx = np.concatenate([rows_idx, untouched])
            cols_idx = np.concatenate([cols_idx, untouched])
            values = np.concatenate([values, np.ones(len(untouched))])
        keep = values != 0.0
        return rows_idx[keep], cols_idx[keep], values[keep]


class _Parser:
    """One parse of one text: a cursor over its data lines plus the tables being built."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.data, self.n_lines = _split_lines(text, source)
        self.pos = 0
        self.sdms = self._detect_sdms()
        self.work = 0
        self.caches: dict[str, dict[str, tuple[int, ...]]] = {"ja": {}, "jo": {}, "s": {}}
        self.first_entry: dict[str, int] = {}

    # ----- generic helpers -------------------------------------------------------------

    def fail(self, line: int | None, field: str | None, problem: str) -> NoReturn:
        """Raise the InputError for `problem` at `line` of this source."""
        raise InputError(problem, source=self.source, line=line, field=field)

    def _detect_sdms(self) -> bool:
        """SDM'Studio dialect: its `values:` line (third data line) is quoted."""
        for _, text in self.data[:3]:
            if re.match(r"values[ \t]*:", text):
                return '"' in text
        return False

    def _next(self, field: str, expected: str) -> tuple[int, str]:
        """The next data line; fail at the end of the file saying what was `expected`."""
        if self.pos >= len(self.data):
            self.fail(self.n_lines, field, f"unexpected end of file: expected {expected}")
        item = self.data[self.pos]
        self.pos += 1
        return item

    def _peek(self) -> tuple[int, str] | None:
        """The next data line without consuming it, or None at the end of the file."""
        return self.data[self.pos] if self.pos < len(self.data) else None

    def _charge(self, amount: int, line: int, field: str) -> None:
        """Account for `amount` table writes; refuse files that ask for more than SIZE_LIMIT."""
        self.work += amount
        if self.work > SIZE_LIMIT:
            self.fail(line, field, f"model too large: more than {SIZE_LIMIT} table entries to write")

    def _tok(self, raw: str, line: int, field: str) -> str:
        """A name/keyword/index token in the dialect's spelling, unquoted; checks the quoting."""
        if not self.sdms:
            if '"' in raw:
                self.fail(
                    line, field, f"unexpected quote in {raw!r}: quoted names are SDM'Studio dialect, "
                    "which needs a quoted values: line"
                )
            return raw
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            inner = raw[1:-1]
            if inner == "*" or _IDENT_RE.fullmatch(inner):
                return inner
            self.fail(line, field, f"malformed quoted name {raw!r}")
        if _UINT_RE.fullmatch(raw):
            return raw
        self.fail(
            line, field, f"expected a double-quoted name, '\"*\"' or an index, found {raw!r} "
            "(SDM'Studio dialect: names and keywords are quoted)"
        )

    def _real(self, text: str, line: int, field: str, what: str) -> float:
        """Parse one real number (sign, decimals and exponent allowed; no NaN/inf)."""
        token = text.strip()
        if not _REAL_RE.fullmatch(token):
            self.fail(line, field, f"expected a number for the {what}, found {_short(token)!r}")
        value = float(token)
        if not np.isfinite(value):
            self.fail(line, field, f"{what} {token} overflows float64")
        return value

    def _row(self, text: str, line: int, field: str, width: int, width_name: str) -> np.ndarray:
        """Parse a line of exactly `width` real numbers."""
        if not _ROW_RE.fullmatch(text):
            bad = next((t for t in text.split() if not _REAL_RE.fullmatch(t)), text)
            special = bad.lower().lstrip("+-") in ("nan", "inf", "infinity")
            hint = " (NaN and infinity are not allowed)" if special else ""
            self.fail(line, field, f"expected a number, found {_short(bad)!r}{hint}")
        values = np.array(text.split(), dtype=np.float64)
        if len(values) != width:
            self.fail(line, field, f"row has {len(values)} numbers, expected {width} ({width_name} = {width})")
        if not np.isfinite(values).all():
            self.fail(line, field, "a number overflows float64")
        return values

    # ----- preamble ---------------------------------------------------------------------

    def _keyword(self, key: str, form: str) -> tuple[int, str]:
        """Consume the line `key: ...` of the preamble; return its line and what follows ':'."""
        line, text = self._next(key, f"'{form}'")
        match = re.fullmatch(rf"{key}[ \t]*:(.*)", text)
        if match is None:
            self.fail(
                line, key, f"expected '{form}' (preamble order: {_PREAMBLE_ORDER}), found {_short(text)!r}"
            )
        return line, match.group(1).strip()

    def _names_or_count(self, text: str, line: int, field: str, kind: str) -> _Names:
        """A declaration: one unsigned count, or a list of distinct identifiers."""
        tokens = text.split()
        if not tokens:
            self.fail(line, field, f"expected a count or a list of names ({kind})")
        if len(tokens) == 1 and _UINT_RE.fullmatch(tokens[0]):
            count = _as_index(tokens[0])
            if not 1 <= count <= SIZE_LIMIT:
                self.fail(
                    line, field, f"a count must be between 1 and {SIZE_LIMIT}, found {_short(tokens[0])} ({kind})"
                )
            return _Names(kind, tuple(str(i) for i in range(count)), {})
        names = [self._tok(t, line, field) for t in tokens]
        for name in names:
            if name.isdigit():
                self.fail(line, field, f"a count and names cannot be mixed on one line ({kind})")
            if not _IDENT_RE.fullmatch(name):
                self.fail(line, field, f"invalid name {name!r} for {kind} (names match [A-Za-z][A-Za-z0-9_-]*)")
            if name in RESERVED_WORDS:
                self.fail(line, field, f"{name!r} is a reserved word and cannot be used as a name ({kind})")
        index = {name: i for i, name in enumerate(names)}
        if len(index) != len(names):
            dup = next(name for name in names if names.count(name) > 1)
            self.fail(line, field, f"duplicate name {dup!r} in the {kind} declaration")
        return _Names(kind, tuple(names), index)

    def _discount(self) -> float:
        """The `discount:` line: a real in [0, 1]."""
        line, rest = self._keyword("discount", "discount: <real>")
        value = self._real(rest, line, "discount", "discount")
        if not 0.0 <= value <= 1.0:
            self.fail(line, "discount", f"discount must be in [0, 1], found {value}")
        return value

    def _values(self) -> None:
        """The `values:` line: only `reward` is supported (like MADP)."""
        line, rest = self._keyword("values", "values: reward")
        words = rest.split()
        word = self._tok(words[0], line, "values") if len(words) == 1 else rest
        if word == "cost":
            self.fail(line, "values", "'values: cost' is not supported (MADP aborts on it too); use reward")
        if word != "reward":
            self.fail(line, "values", f"expected 'reward' after 'values:', found {_short(rest)!r}")

    def _pick(self, token: str, names: _Names, line: int, field: str, star: bool = True) -> tuple[int, ...]:
        """Indices named by one token of `names`: a name, an index, or `*` (all) if allowed."""
        if token == "*" and star:
            return names.all
        if token.isdigit():
            index = _as_index(token)
            if index >= len(names.names):
                self.fail(
                    line, field, f"{names.kind} index {_short(token)} out of range (valid: 0..{len(names.names) - 1})"
                )
            return (index,)
        found = names.index.get(token)
        if found is not None:
            return (found,)
        if not _IDENT_RE.fullmatch(token):
            wanted = "a name, an index or '*'" if star else "a name or an index"
            self.fail(line, field, f"expected {wanted} ({names.kind}), found {_short(token)!r}")
        if not names.index:
            self.fail(
                line, field, f"unknown {names.kind} {token!r}: the {names.kind}s are unnamed, "
                f"use an index 0..{len(names.names) - 1}"
            )
        known = ", ".join(names.names[:6]) + (", ..." if len(names.names) > 6 else "")
        self.fail(line, field, f"unknown {names.kind} {token!r} (known: {known})")

    def _start(self, states: _Names) -> np.ndarray:
        """The start specification: vector or `uniform` on the next line, one state, include/exclude."""
        line, text = self._next("start", "the start specification")
        match = _START_RE.fullmatch(text)
        if match is None:
            self.fail(
                line, "start", "expected 'start:', 'start include:' or 'start exclude:' "
                f"(preamble order: {_PREAMBLE_ORDER}), found {_short(text)!r}"
            )
        mode, rest = match.group(1), match.group(2).split()
        n = len(states.names)
        if mode is None and not rest:
            line, text = self._next("start", "'uniform' or the start vector on the line after 'start:'")
            words = text.split()
            if len(words) == 1 and not _REAL_RE.fullmatch(words[0]) and self._tok(words[0], line, "start") == "uniform":
                start = np.full(n, 1.0 / n)
            else:
                start = self._row(text, line, "start", n, "|S|")
        elif mode is None:
            start = self._start_state(rest, states, line)
        else:
            start = self._start_subset(mode, rest, states, line)
        self._check_start(start, line)
        return start

    def _start_state(self, tokens: list[str], states: _Names, line: int) -> np.ndarray:
        """`start: <state>` (or SDM'Studio's `start: "uniform"`) on one line."""
        if len(tokens) != 1:
            self.fail(
                line, "start", "'start:' takes one state on its line; "
                "put a probability vector or 'uniform' on the next line"
            )
        token = self._tok(tokens[0], line, "start")
        n = len(states.names)
        if self.sdms and token == "uniform":
            return np.full(n, 1.0 / n)
        start = np.zeros(n)
        start[self._pick(token, states, line, "start", star=False)[0]] = 1.0
        return start

    def _start_subset(self, mode: str, tokens: list[str], states: _Names, line: int) -> np.ndarray:
        """`start include: ...` / `start exclude: ...`: uniform over a set of states."""
        if not tokens:
            self.fail(line, "start", f"'start {mode}:' needs its states on the same line")
        picked = [self._pick(self._tok(t, line, "start"), states, line, "start", star=False)[0] for t in tokens]
        if len(set(picked)) != len(picked):
            self.fail(line, "start", f"a state is listed twice in 'start {mode}:'")
        mask = np.zeros(len(states.names), dtype=bool)
        mask[picked] = True
        if mode == "exclude":
            mask = ~mask
        if not mask.any():
            self.fail(line, "start", "'start exclude:' excludes every state")
        return mask / mask.sum()

    def _check_start(self, start: np.ndarray, line: int) -> None:
        """The start vector must be a probability distribution (never renormalised)."""
        if (start < 0).any():
            self.fail(line, "start", f"start vector has a negative entry {float(start.min())!r}")
        total = float(start.sum())
        if abs(total - 1.0) > PROBABILITY_SUM:
            self.fail(
                line, "start", f"start vector sums to {total!r}, not 1 (tolerance {PROBABILITY_SUM:g})"
            )

    def _per_agent(self, key: str, kind: str, n_agents: int, next_key: str | None) -> list[_Names]:
        """`actions:` / `observations:` then exactly one declaration line per agent."""
        line, rest = self._keyword(key, f"{key}:")
        if rest:
            self.fail(line, key, f"nothing may follow '{key}:'; put each agent's {kind}s on its own line")
        sets = []
        for agent in range(n_agents):
            upcoming = self._peek()
            ends = upcoming is None or _is_entry(upcoming[1])
            if ends or (next_key and re.match(rf"{next_key}[ \t]*:", upcoming[1])):
                where = upcoming[0] if upcoming else self.n_lines
                self.fail(
                    where, key, f"expected {n_agents} lines under '{key}:' (one per agent), found {agent}"
                )
            line, text = self._next(key, "")
            sets.append(self._names_or_count(text, line, key, f"{kind} of agent {agent + 1}"))
        upcoming = self._peek()
        if upcoming is not None and _NAMES_LINE_RE.fullmatch(upcoming[1]):
            self.fail(
                upcoming[0], key, f"more lines under '{key}:' than agents ({n_agents}): one line per agent"
            )
        return sets

    # ----- the model --------------------------------------------------------------------

    def parse(self) -> DpomdpData:
        """Parse the whole text into a validated DpomdpData."""
        line, rest = self._keyword("agents", "agents: <count or names>")
        agents = self._names_or_count(rest, line, "agents", "agent")
        discount = self._discount()
        self._values()
        line, rest = self._keyword("states", "states: <count or names>")
        self.states = self._names_or_count(rest, line, "states", "state")
        start = self._start(self.states)
        n = len(agents.names)
        self.actions = self._per_agent("actions", "action", n, "observations")
        self.observations = self._per_agent("observations", "observation", n, None)
        self._allocate(self.data[self.pos - 1][0])
        self._body()
        return DpomdpData(
            source=self.source,
            agent_names=agents.names,
            state_names=self.states.names,
            action_names=tuple(a.names for a in self.actions),
            observation_names=tuple(o.names for o in self.observations),
            discount=discount,
            start=start,
            transition=self._finish_transition(),
            observation=self._finish_observation(),
            reward=self._finish_reward(),
            dialect="sdms" if self.sdms else "madp",
        )

    def _allocate(self, line: int) -> None:
        """Create the empty tables once all sizes are known."""
        self.n_s = len(self.states.names)
        self.a_dims = tuple(len(a.names) for a in self.actions)
        self.o_dims = tuple(len(o.names) for o in self.observations)
        self.n_ja = int(np.prod(self.a_dims, dtype=object))
        self.n_jo = int(np.prod(self.o_dims, dtype=object))
        if self.n_ja * self.n_s * self.n_jo > SIZE_LIMIT:
            self.fail(
                line, "observations", f"model too large: O would have {self.n_ja * self.n_s * self.n_jo} "
                f"entries (limit {SIZE_LIMIT})"
            )
        self.t = _TransitionBuilder(self.n_ja, self.n_s)
        self.o = np.zeros((self.n_ja, self.n_s, self.n_jo))
        self.o_line = np.zeros((self.n_ja, self.n_s), dtype=np.int64)
        self.r = np.zeros((self.n_s, self.n_ja))
        self.pending: dict[tuple[int, str], tuple[tuple[int, ...], dict[int, float]]] = {}
        self.last_r_line = 0

    def _joint(self, text: str, line: int, field: str, observations: bool) -> tuple[int, ...]:
        """Joint indices of a joint action/observation element (`*`, joint index, per-agent tokens)."""
        cache = self.caches["jo" if observations else "ja"]
        hit = cache.get(text)
        if hit is not None:
            return hit
        sets, dims, total = (
            (self.observations, self.o_dims, self.n_jo) if observations else (self.actions, self.a_dims, self.n_ja)
        )
        what = "joint observation" if observations else "joint action"
        tokens = [self._tok(t, line, field) for t in text.split()]
        if not tokens:
            self.fail(line, field, f"missing {what}")
        if len(tokens) == 1 and len(sets) > 1:
            result = self._joint_single(tokens[0], total, what, line, field)
        elif len(tokens) != len(sets):
            self.fail(
                line, field, f"{what} {_short(text.strip())!r} has {len(tokens)} per-agent tokens, "
                f"expected {len(sets)} (one per agent), a joint index or '*'"
            )
        else:
            picks = [self._pick(t, s, line, field) for t, s in zip(tokens, sets)]
            result = tuple(np.ravel_multi_index(np.ix_(*picks), dims).ravel().tolist())
        cache[text] = result
        return result

    def _joint_single(self, token: str, total: int, what: str, line: int, field: str) -> tuple[int, ...]:
        """A one-token joint element of a multi-agent file: `*` or a joint index."""
        if token == "*":
            return tuple(range(total))
        if token.isdigit():
            index = _as_index(token)
            if index >= total:
                self.fail(line, field, f"{what} index {_short(token)} out of range (valid: 0..{total - 1})")
            return (index,)
        self.fail(
            line, field, f"{what} {token!r} is one token: expected one token per agent, "
            f"a {what} index or '*'"
        )

    def _state(self, text: str, line: int, field: str) -> tuple[int, ...]:
        """State indices of a state element: a name, an index or `*`."""
        cache = self.caches["s"]
        hit = cache.get(text)
        if hit is not None:
            return hit
        tokens = text.split()
        if len(tokens) != 1:
            self.fail(line, field, f"expected one state (name, index or '*'), found {_short(text.strip())!r}")
        result = self._pick(self._tok(tokens[0], line, field), self.states, line, field)
        cache[text] = result
        return result

    def _is_star(self, text: str, line: int, field: str) -> bool:
        """Whether every token of an element is the wildcard `*`."""
        return all(self._tok(t, line, field) == "*" for t in text.split())

    def _block(
        self, header: str, header_line: int, field: str, n_rows: int, width: int, width_name: str,
        keywords: tuple[str, ...],
    ) -> str | np.ndarray:
        """What follows an entry header: one of `keywords` on its own line, or n_rows rows."""
        upcoming = self._peek()
        if upcoming is not None:
            words = upcoming[1].split()
            if len(words) == 1 and not _REAL_RE.fullmatch(words[0]) and not _is_entry(upcoming[1]):
                word = self._tok(words[0], upcoming[0], field)
                if word in ("uniform", "identity"):
                    if word not in keywords:
                        allowed = ", ".join(keywords) if keywords else "only numbers"
                        self.fail(upcoming[0], field, f"{word!r} cannot follow {header} (allowed: {allowed})")
                    self.pos += 1
                    return word
        block = np.empty((n_rows, width))
        for i in range(n_rows):
            upcoming = self._peek()
            if upcoming is None or _is_entry(upcoming[1]):
                self.fail(
                    upcoming[0] if upcoming else self.n_lines, field,
                    f"{header} at line {header_line} needs {n_rows} row(s) of {width} numbers, found {i}",
                )
            self.pos += 1
            block[i] = self._row(upcoming[1], upcoming[0], field, width, width_name)
        return block

    def _body(self) -> None:
        """Read T, O and R entries until the end of the file."""
        handlers = {"T": self._t_entry, "O": self._o_entry, "R": self._r_entry}
        while self.pos < len(self.data):
            line, text = self.data[self.pos]
            self.pos += 1
            head, colon, rest = text.partition(":")
            kind = head.strip()
            if not colon or kind not in handlers:
                problem = (
                    "unexpected row of numbers (too many rows for the entry above?)"
                    if _ROW_RE.fullmatch(text) else f"expected a 'T:', 'O:' or 'R:' entry, found {_short(text)!r}"
                )
                self.fail(line, None, problem)
            self.first_entry.setdefault(kind, line)
            handlers[kind](rest.split(":"), line)
        self._flush_rewards(self.n_lines)

    # ----- T ----------------------------------------------------------------------------

    def _t_entry(self, parts: list[str], line: int) -> None:
        """`T: ja : s : s' : p`, `T: ja : s :` + row, `T: ja :` + matrix/uniform/identity."""
        last = parts[-1].strip()
        if len(parts) == 4 and last:
            jas = self._joint(parts[0], line, "T", False)
            ss, sps = self._state(parts[1], line, "T"), self._state(parts[2], line, "T")
            p = self._real(parts[3], line, "T", "probability")
            self._model_changes(line, len(jas) * len(ss) * len(sps))
            self.t.set_entries(jas, ss, sps, p, line)
        elif len(parts) == 3 and not last:
            jas, ss = self._joint(parts[0], line, "T", False), self._state(parts[1], line, "T")
            row = self._block("'T: <ja> : <s> :'", line, "T", 1, self.n_s, "|S|", ())[0]
            nz = np.flatnonzero(row)
            entries = dict(zip(nz.tolist(), row[nz].tolist()))
            self._model_changes(line, len(jas) * len(ss) * max(len(entries), 1))
            for ja in jas:
                for s in ss:
                    self.t.set_row(ja, s, dict(entries), line)
        elif len(parts) == 2 and not last:
            jas = self._joint(parts[0], line, "T", False)
            block = self._block("'T: <ja> :'", line, "T", self.n_s, self.n_s, "|S|", ("uniform", "identity"))
            self._t_matrix(jas, block, line)
        else:
            self.fail(
                line, "T", "malformed T entry: expected 'T: <ja> : <s> : <s'> : <prob>', "
                "'T: <ja> : <s> :' (row on the next line) or 'T: <ja> :' (matrix, uniform or identity next)"
            )

    def _t_matrix(self, jas: tuple[int, ...], block: str | np.ndarray, line: int) -> None:
        """Apply a whole-matrix T form (uniform, identity or |S| rows) to joint actions `jas`."""
        n = self.n_s
        if isinstance(block, str):
            self._model_changes(line, len(jas) * (n * n if block == "uniform" else n))
            for ja in jas:
                self.t.set_base(ja, block, line)
            return
        rows = [(s, np.flatnonzero(block[s])) for s in range(n)]
        self._model_changes(line, len(jas) * max(sum(len(nz) for _, nz in rows), 1))
        for ja in jas:
            self.t.set_base(ja, "zero", line)
            for s, nz in rows:
                self.t.set_row(ja, s, dict(zip(nz.tolist(), block[s, nz].tolist())), line)

    # ----- O ----------------------------------------------------------------------------

    def _o_entry(self, parts: list[str], line: int) -> None:
        """`O: ja : s' : jo : p`, `O: ja : s' :` + row, `O: ja :` + matrix/uniform."""
        last = parts[-1].strip()
        if len(parts) == 4 and last:
            jas, sps = self._joint(parts[0], line, "O", False), self._state(parts[1], line, "O")
            jos = self._joint(parts[2], line, "O", True)
            p = self._real(parts[3], line, "O", "probability")
            self._model_changes(line, len(jas) * len(sps) * len(jos))
            self.o[np.ix_(jas, sps, jos)] = p
        elif len(parts) == 3 and not last:
            jas, sps = self._joint(parts[0], line, "O", False), self._state(parts[1], line, "O")
            row = self._block("'O: <ja> : <s'> :'", line, "O", 1, self.n_jo, "|JO|", ())[0]
            self._model_changes(line, len(jas) * len(sps) * self.n_jo)
            self.o[np.ix_(jas, sps)] = row
        elif len(parts) == 2 and not last:
            jas = self._joint(parts[0], line, "O", False)
            sps = self.states.all
            block = self._block("'O: <ja> :'", line, "O", self.n_s, self.n_jo, "|JO|", ("uniform",))
            self._model_changes(line, len(jas) * self.n_s * self.n_jo)
            self.o[list(jas)] = 1.0 / self.n_jo if isinstance(block, str) else block
        else:
            self.fail(
                line, "O", "malformed O entry: expected 'O: <ja> : <s'> : <jo> : <prob>', "
                "'O: <ja> : <s'> :' (row on the next line) or 'O: <ja> :' (matrix or uniform next)"
            )
        self.o_line[np.ix_(jas, sps)] = line

    # ----- R ----------------------------------------------------------------------------

    def _r_entry(self, parts: list[str], line: int) -> None:
        """Reward entries: single, row (`R: ja : s : s' :`), matrix (`R: ja : s :`), SDMS short."""
        last = parts[-1].strip()
        self.last_r_line = line
        if len(parts) == 5 and last:
            self._r_single(parts, line)
        elif len(parts) == 4 and not last:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            sps = self._state(parts[2], line, "R")
            row = self._block("'R: <ja> : <s> : <s'> :'", line, "R", 1, self.n_jo, "|JO|", ())[0]
            for ja in jas:
                self._pend(ja, parts[1].strip(), ss, sps, (self.o[ja][list(sps)] @ row).tolist(), line)
        elif len(parts) == 3 and not last:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            block = self._block("'R: <ja> : <s> :'", line, "R", self.n_s, self.n_jo, "|JO|", ())
            for ja in jas:
                weights = (self.o[ja] * block).sum(axis=1).tolist()
                self._pend(ja, parts[1].strip(), ss, self.states.all, weights, line)
        elif len(parts) == 3 and self.sdms:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            self._set_reward(ss, jas, self._real(parts[2], line, "R", "reward"), line)
        elif len(parts) == 3:
            self.fail(
                line, "R", "'R: <ja> : <s> : <value>' is the SDM'Studio short form; "
                "a MADP file writes 'R: <ja> : <s> : * : * : <value>'"
            )
        else:
            self.fail(
                line, "R", "malformed R entry: expected 'R: <ja> : <s> : <s'> : <jo> : <value>', "
                "'R: <ja> : <s> : <s'> :' (row next) or 'R: <ja> : <s> :' (matrix next)"
            )

    def _r_single(self, parts: list[str], line: int) -> None:
        """`R: ja : s : s' : jo : r` with MADP's overwrite / accumulate rules."""
        jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
        sps, jos = self._state(parts[2], line, "R"), self._joint(parts[3], line, "R", True)
        value = self._real(parts[4], line, "R", "reward")
        next_star, obs_star = self._is_star(parts[2], line, "R"), self._is_star(parts[3], line, "R")
        if next_star and obs_star:
            self._set_reward(ss, jas, value, line)
        elif obs_star:
            for ja in jas:
                self._pend(ja, parts[1].strip(), ss, sps, [value] * len(sps), line)
        else:
            for ja in jas:
                weights = value * self.o[ja][np.ix_(sps, jos)].sum(axis=1)
                self._pend(ja, parts[1].strip(), ss, sps, weights.tolist(), line)

    def _set_reward(self, ss: tuple[int, ...], jas: tuple[int, ...], value: float, line: int) -> None:
        """R[s, ja] = value (the overwrite rule), after the pending accumulations."""
        self._flush_rewards(line)
        self._charge(len(ss) * len(jas), line, "R")
        self.r[np.ix_(ss, jas)] = value

    def _pend(
        self, ja: int, s_key: str, ss: tuple[int, ...], sps: tuple[int, ...], weights: list[float], line: int
    ) -> None:
        """Queue R[s, ja] += sum_s' T[ja, s, s'] * weights[s'] for s in `ss` (the accumulate rule)."""
        self._charge(len(sps), line, "R")
        _, acc = self.pending.setdefault((ja, s_key), (ss, {}))
        for sp, w in zip(sps, weights):
            if w:
                acc[sp] = acc.get(sp, 0.0) + w

    def _flush_rewards(self, line: int) -> None:
        """Apply the queued accumulations with T as it stands now."""
        for (ja, _), (ss, acc) in self.pending.items():
            self._charge(len(ss), line, "R")
            total = sum(acc.values())
            for s in ss:
                self.r[s, ja] += self.t.dot(ja, s, acc, total)
        self.pending.clear()

    def _model_changes(self, line: int, amount: int) -> None:
        """Before T or O change: settle queued rewards (they use the old T and O); count the work."""
        if self.pending:
            self._flush_rewards(line)
        self._charge(amount, line, "T/O")

    # ----- final checks -----------------------------------------------------------------

    def _joint_action_name(self, ja: int) -> str:
        """"(name_1, ..., name_n)" of a joint action."""
        parts = np.unravel_index(ja, self.a_dims)
        return "(" + ", ".join(a.names[int(i)] for a, i in zip(self.actions, parts)) + ")"

    def _row_problem(self, total: float, negative: float | None) -> str:
        """Why a row is not a probability distribution."""
        if negative is not None:
            return f"has a negative entry {negative!r}"
        return f"sums to {total!r}, not 1 (tolerance {PROBABILITY_SUM:g})"

    def _fallback_line(self, kind: str) -> int:
        """Line to blame for a row never written: the first entry of the section, else the end."""
        return self.first_entry.get(kind, self.n_lines)

    def _finish_transition(self) -> tuple[np.ndarray | scipy.sparse.csr_array, ...]:
        """Build every T[ja] and check that each row is a probability distribution."""
        dense = self.n_s * self.n_s * self.n_ja <= DENSE_T_LIMIT
        matrices = tuple(self.t.matrix(ja, dense) for ja in range(self.n_ja))
        for ja, matrix in enumerate(matrices):
            if dense:
                sums, row_min = matrix.sum(axis=1), matrix.min(axis=1)
            else:
                sums = matrix.sum(axis=1)
                row_min = np.zeros(self.n_s)
                np.minimum.at(row_min, np.repeat(np.arange(self.n_s), np.diff(matrix.indptr)), matrix.data)
            bad = np.flatnonzero((row_min < 0) | (np.abs(sums - 1.0) > PROBABILITY_SUM))
            if len(bad):
                s = int(bad[0])
                line = self.t.line[ja][s] or self._fallback_line("T")
                negative = float(row_min[s]) if row_min[s] < 0 else None
                self.fail(
                    line, "T", f"T(. | s={self.states.names[s]}, ja={self._joint_action_name(ja)}) is not a "
                    f"probability distribution: it {self._row_problem(float(sums[s]), negative)}"
                )
        return matrices

    def _finish_observation(self) -> np.ndarray:
        """Check that each O[ja, s', :] is a probability distribution."""
        sums, row_min = self.o.sum(axis=2), self.o.min(axis=2)
        bad = np.argwhere((row_min < 0) | (np.abs(sums - 1.0) > PROBABILITY_SUM))
        if len(bad):
            ja, sp = (int(i) for i in bad[0])
            line = int(self.o_line[ja, sp]) or self._fallback_line("O")
            negative = float(row_min[ja, sp]) if row_min[ja, sp] < 0 else None
            self.fail(
                line, "O", f"O(. | ja={self._joint_action_name(ja)}, s'={self.states.names[sp]}) is not a "
                f"probability distribution: it {self._row_problem(float(sums[ja, sp]), negative)}"
            )
        return self.o

    def _finish_reward(self) -> np.ndarray:
        """R(s, ja), which must be finite."""
        if not np.isfinite(self.r).all():
            self.fail(self.last_r_line or self.n_lines, "R", "rewards overflow float64")
        return self.r
