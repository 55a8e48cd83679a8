"""The body of a `.dpomdp` file: its T, O and R entries, read into the model's tables.

`read_sections` reads every entry after the preamble. An entry names its elements (joint
action, state, next state, joint observation) by name, index or `*`; its value is on the
entry line or, for the row and matrix forms, on the following lines (or `uniform` /
`identity`). T and O entries overwrite; reward entries overwrite R[s, ja] or accumulate
`T * r` (or `T * O * r`) with T and O as they stand at that line: the accumulations are
queued per (ja, s) and applied before T or O next change, and at the end of the file.
Work is counted so that a file asking for more than `SIZE_LIMIT` table writes is refused.
"""

from __future__ import annotations

import numpy as np

from decdiff.implementations.models.dpomdp_lines import (
    REAL_RE,
    ROW_RE,
    SIZE_LIMIT,
    LineReader,
    is_entry,
    short,
)
from decdiff.implementations.models.dpomdp_preamble import Preamble
from decdiff.implementations.models.dpomdp_sdms import token
from decdiff.implementations.models.dpomdp_tables import Tables


def read_sections(reader: LineReader, preamble: Preamble) -> Tables:
    """Read the T, O and R entries that follow the preamble into new tables."""
    return _Sections(reader, preamble).read()


class _Sections:
    """The reading of one file's entries: the element caches, the queued rewards, the work done."""

    def __init__(self, reader: LineReader, preamble: Preamble) -> None:
        self.reader = reader
        self.states, self.actions, self.observations = preamble.states, preamble.actions, preamble.observations
        self.n_s = len(self.states.names)
        self.a_dims = tuple(len(a.names) for a in self.actions)
        self.o_dims = tuple(len(o.names) for o in self.observations)
        self.n_ja = int(np.prod(self.a_dims, dtype=object))
        self.n_jo = int(np.prod(self.o_dims, dtype=object))
        if self.n_ja * self.n_s * self.n_jo > SIZE_LIMIT:
            reader.fail(
                reader.data[reader.pos - 1][0], "observations", f"model too large: O would have "
                f"{self.n_ja * self.n_s * self.n_jo} entries (limit {SIZE_LIMIT})"
            )
        self.tables = Tables(self.n_ja, self.n_s, self.n_jo)
        self.pending: dict[tuple[int, str], tuple[tuple[int, ...], dict[int, float]]] = {}
        self.caches: dict[str, dict[str, tuple[int, ...]]] = {"ja": {}, "jo": {}, "s": {}}
        self.work = 0

    def _charge(self, amount: int, line: int, field: str) -> None:
        """Account for `amount` table writes; refuse files that ask for more than SIZE_LIMIT."""
        self.work += amount
        if self.work > SIZE_LIMIT:
            self.reader.fail(line, field, f"model too large: more than {SIZE_LIMIT} table entries to write")

    def read(self) -> Tables:
        """Read T, O and R entries until the end of the file; the tables as they then stand."""
        handlers = {"T": self._t_entry, "O": self._o_entry, "R": self._r_entry}
        while self.reader.pos < len(self.reader.data):
            line, text = self.reader.data[self.reader.pos]
            self.reader.pos += 1
            head, colon, rest = text.partition(":")
            kind = head.strip()
            if not colon or kind not in handlers:
                problem = (
                    "unexpected row of numbers (too many rows for the entry above?)"
                    if ROW_RE.fullmatch(text) else f"expected a 'T:', 'O:' or 'R:' entry, found {short(text)!r}"
                )
                self.reader.fail(line, None, problem)
            self.tables.first_entry.setdefault(kind, line)
            handlers[kind](rest.split(":"), line)
        self._flush_rewards(self.reader.n_lines)
        return self.tables

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
        tokens = [token(self.reader, t, line, field) for t in text.split()]
        if not tokens:
            self.reader.fail(line, field, f"missing {what}")
        if len(tokens) == 1 and len(sets) > 1:
            result = self._joint_single(tokens[0], total, what, line, field)
        elif len(tokens) != len(sets):
            self.reader.fail(
                line, field, f"{what} {short(text.strip())!r} has {len(tokens)} per-agent tokens, "
                f"expected {len(sets)} (one per agent), a joint index or '*'"
            )
        else:
            picks = [self.reader.pick(t, s, line, field) for t, s in zip(tokens, sets)]
            result = tuple(np.ravel_multi_index(np.ix_(*picks), dims).ravel().tolist())
        cache[text] = result
        return result

    def _joint_single(self, word: str, total: int, what: str, line: int, field: str) -> tuple[int, ...]:
        """A one-token joint element of a multi-agent file: `*` or a joint index."""
        if word == "*":
            return tuple(range(total))
        if word.isdigit():
            return (self.reader.index(word, total, what, line, field),)
        self.reader.fail(
            line, field, f"{what} {word!r} is one token: expected one token per agent, "
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
            self.reader.fail(line, field, f"expected one state (name, index or '*'), found {short(text.strip())!r}")
        result = self.reader.pick(token(self.reader, tokens[0], line, field), self.states, line, field)
        cache[text] = result
        return result

    def _is_star(self, text: str, line: int, field: str) -> bool:
        """Whether every token of an element is the wildcard `*`."""
        return all(token(self.reader, t, line, field) == "*" for t in text.split())

    def _block(
        self, header: str, header_line: int, field: str, n_rows: int, width: int, width_name: str,
        keywords: tuple[str, ...],
    ) -> str | np.ndarray:
        """What follows an entry header: one of `keywords` on its own line, or n_rows rows."""
        upcoming = self.reader.peek()
        if upcoming is not None:
            words = upcoming[1].split()
            if len(words) == 1 and not REAL_RE.fullmatch(words[0]) and not is_entry(upcoming[1]):
                word = token(self.reader, words[0], upcoming[0], field)
                if word in ("uniform", "identity"):
                    if word not in keywords:
                        allowed = ", ".join(keywords) if keywords else "only numbers"
                        self.reader.fail(upcoming[0], field, f"{word!r} cannot follow {header} (allowed: {allowed})")
                    self.reader.pos += 1
                    return word
        block = np.empty((n_rows, width))
        for i in range(n_rows):
            upcoming = self.reader.peek()
            if upcoming is None or is_entry(upcoming[1]):
                self.reader.fail(
                    upcoming[0] if upcoming else self.reader.n_lines, field,
                    f"{header} at line {header_line} needs {n_rows} row(s) of {width} numbers, found {i}",
                )
            self.reader.pos += 1
            block[i] = self.reader.row(upcoming[1], upcoming[0], field, width, width_name)
        return block

    # ----- T ----------------------------------------------------------------------------

    def _t_entry(self, parts: list[str], line: int) -> None:
        """`T: ja : s : s' : p`, `T: ja : s :` + row, `T: ja :` + matrix/uniform/identity."""
        last = parts[-1].strip()
        if len(parts) == 4 and last:
            jas = self._joint(parts[0], line, "T", False)
            ss, sps = self._state(parts[1], line, "T"), self._state(parts[2], line, "T")
            p = self.reader.real(parts[3], line, "T", "probability")
            self._model_changes(line, len(jas) * len(ss) * len(sps))
            self.tables.t.set_entries(jas, ss, sps, p, line)
        elif len(parts) == 3 and not last:
            jas, ss = self._joint(parts[0], line, "T", False), self._state(parts[1], line, "T")
            row = self._block("'T: <ja> : <s> :'", line, "T", 1, self.n_s, "|S|", ())[0]
            nz = np.flatnonzero(row)
            entries = dict(zip(nz.tolist(), row[nz].tolist()))
            self._model_changes(line, len(jas) * len(ss) * max(len(entries), 1))
            for ja in jas:
                for s in ss:
                    self.tables.t.set_row(ja, s, dict(entries), line)
        elif len(parts) == 2 and not last:
            jas = self._joint(parts[0], line, "T", False)
            block = self._block("'T: <ja> :'", line, "T", self.n_s, self.n_s, "|S|", ("uniform", "identity"))
            self._t_matrix(jas, block, line)
        else:
            self.reader.fail(
                line, "T", "malformed T entry: expected 'T: <ja> : <s> : <s'> : <prob>', "
                "'T: <ja> : <s> :' (row on the next line) or 'T: <ja> :' (matrix, uniform or identity next)"
            )

    def _t_matrix(self, jas: tuple[int, ...], block: str | np.ndarray, line: int) -> None:
        """Apply a whole-matrix T form (uniform, identity or |S| rows) to joint actions `jas`."""
        n = self.n_s
        if isinstance(block, str):
            self._model_changes(line, len(jas) * (n * n if block == "uniform" else n))
            for ja in jas:
                self.tables.t.set_base(ja, block, line)
            return
        rows = [(s, np.flatnonzero(block[s])) for s in range(n)]
        self._model_changes(line, len(jas) * max(sum(len(nz) for _, nz in rows), 1))
        for ja in jas:
            self.tables.t.set_base(ja, "zero", line)
            for s, nz in rows:
                self.tables.t.set_row(ja, s, dict(zip(nz.tolist(), block[s, nz].tolist())), line)

    # ----- O ----------------------------------------------------------------------------

    def _o_entry(self, parts: list[str], line: int) -> None:
        """`O: ja : s' : jo : p`, `O: ja : s' :` + row, `O: ja :` + matrix/uniform."""
        last = parts[-1].strip()
        if len(parts) == 4 and last:
            jas, sps = self._joint(parts[0], line, "O", False), self._state(parts[1], line, "O")
            jos = self._joint(parts[2], line, "O", True)
            p = self.reader.real(parts[3], line, "O", "probability")
            self._model_changes(line, len(jas) * len(sps) * len(jos))
            self.tables.o[np.ix_(jas, sps, jos)] = p
        elif len(parts) == 3 and not last:
            jas, sps = self._joint(parts[0], line, "O", False), self._state(parts[1], line, "O")
            row = self._block("'O: <ja> : <s'> :'", line, "O", 1, self.n_jo, "|JO|", ())[0]
            self._model_changes(line, len(jas) * len(sps) * self.n_jo)
            self.tables.o[np.ix_(jas, sps)] = row
        elif len(parts) == 2 and not last:
            jas = self._joint(parts[0], line, "O", False)
            sps = self.states.all
            block = self._block("'O: <ja> :'", line, "O", self.n_s, self.n_jo, "|JO|", ("uniform",))
            self._model_changes(line, len(jas) * self.n_s * self.n_jo)
            self.tables.o[list(jas)] = 1.0 / self.n_jo if isinstance(block, str) else block
        else:
            self.reader.fail(
                line, "O", "malformed O entry: expected 'O: <ja> : <s'> : <jo> : <prob>', "
                "'O: <ja> : <s'> :' (row on the next line) or 'O: <ja> :' (matrix or uniform next)"
            )
        self.tables.o_line[np.ix_(jas, sps)] = line

    # ----- R ----------------------------------------------------------------------------

    def _r_entry(self, parts: list[str], line: int) -> None:
        """Reward entries: single, row (`R: ja : s : s' :`), matrix (`R: ja : s :`), SDMS short."""
        last = parts[-1].strip()
        self.tables.last_r_line = line
        if len(parts) == 5 and last:
            self._r_single(parts, line)
        elif len(parts) == 4 and not last:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            sps = self._state(parts[2], line, "R")
            row = self._block("'R: <ja> : <s> : <s'> :'", line, "R", 1, self.n_jo, "|JO|", ())[0]
            for ja in jas:
                self._pend(ja, parts[1].strip(), ss, sps, (self.tables.o[ja][list(sps)] @ row).tolist(), line)
        elif len(parts) == 3 and not last:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            block = self._block("'R: <ja> : <s> :'", line, "R", self.n_s, self.n_jo, "|JO|", ())
            for ja in jas:
                weights = (self.tables.o[ja] * block).sum(axis=1).tolist()
                self._pend(ja, parts[1].strip(), ss, self.states.all, weights, line)
        elif len(parts) == 3 and self.reader.sdms:
            jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
            self._set_reward(ss, jas, self.reader.real(parts[2], line, "R", "reward"), line)
        elif len(parts) == 3:
            self.reader.fail(
                line, "R", "'R: <ja> : <s> : <value>' is the SDM'Studio short form; "
                "a MADP file writes 'R: <ja> : <s> : * : * : <value>'"
            )
        else:
            self.reader.fail(
                line, "R", "malformed R entry: expected 'R: <ja> : <s> : <s'> : <jo> : <value>', "
                "'R: <ja> : <s> : <s'> :' (row next) or 'R: <ja> : <s> :' (matrix next)"
            )

    def _r_single(self, parts: list[str], line: int) -> None:
        """`R: ja : s : s' : jo : r` with MADP's overwrite / accumulate rules."""
        jas, ss = self._joint(parts[0], line, "R", False), self._state(parts[1], line, "R")
        sps, jos = self._state(parts[2], line, "R"), self._joint(parts[3], line, "R", True)
        value = self.reader.real(parts[4], line, "R", "reward")
        next_star, obs_star = self._is_star(parts[2], line, "R"), self._is_star(parts[3], line, "R")
        if next_star and obs_star:
            self._set_reward(ss, jas, value, line)
        elif obs_star:
            for ja in jas:
                self._pend(ja, parts[1].strip(), ss, sps, [value] * len(sps), line)
        else:
            for ja in jas:
                weights = value * self.tables.o[ja][np.ix_(sps, jos)].sum(axis=1)
                self._pend(ja, parts[1].strip(), ss, sps, weights.tolist(), line)

    def _set_reward(self, ss: tuple[int, ...], jas: tuple[int, ...], value: float, line: int) -> None:
        """R[s, ja] = value (the overwrite rule), after the pending accumulations."""
        self._flush_rewards(line)
        self._charge(len(ss) * len(jas), line, "R")
        self.tables.r[np.ix_(ss, jas)] = value

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
                self.tables.r[s, ja] += self.tables.t.dot(ja, s, acc, total)
        self.pending.clear()

    def _model_changes(self, line: int, amount: int) -> None:
        """Before T or O change: settle queued rewards (they use the old T and O); count the work."""
        if self.pending:
            self._flush_rewards(line)
        self._charge(amount, line, "T/O")

