"""The checks that make a parsed `.dpomdp` model a model: probability rows, start vector, finite R.

The start vector is checked as soon as it is read (`check_start`); once the whole file is
read, `finish_tables` builds every T[ja] (dense or CSR) and checks that each row
T[ja][s, :] and O[ja, s', :] is a probability distribution (entries >= 0 and
|sum - 1| <= `PROBABILITY_SUM`; nothing is renormalised) and that R is finite. A row that
fails is blamed on the line that last wrote it, or on the first entry of its section when
no line wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import numpy as np
import scipy.sparse

from decdiff.implementations.models.dpomdp_lines import LineReader, Names
from decdiff.implementations.models.dpomdp_tables import Tables
from decdiff.tolerances import PROBABILITY_SUM

#: T is returned as dense numpy matrices when |S| * |S| * |JA| is at most this, else as CSR.
DENSE_T_LIMIT = 4_000_000


def _row_problem(total: float, minimum: float) -> str | None:
    """Why a row with this sum and smallest entry is not a probability distribution (None: it is)."""
    if minimum < 0:
        return f"has a negative entry {minimum!r}"
    if abs(total - 1.0) > PROBABILITY_SUM:
        return f"sums to {total!r}, not 1 (tolerance {PROBABILITY_SUM:g})"
    return None


def _first_bad_row(sums: np.ndarray, row_min: np.ndarray) -> tuple[int, ...] | None:
    """Index (C order) of the first row, given row sums and minima, that is no distribution; else None."""
    bad = np.argwhere((row_min < 0) | (np.abs(sums - 1.0) > PROBABILITY_SUM))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


def check_start(reader: LineReader, start: np.ndarray, line: int) -> None:
    """The start vector must be a probability distribution (never renormalised)."""
    problem = _row_problem(float(start.sum()), float(start.min()))
    if problem is not None:
        reader.fail(line, "start", f"start vector {problem}")


def finish_tables(
    reader: LineReader, tables: Tables, states: Names, actions: Sequence[Names]
) -> tuple[tuple[np.ndarray | scipy.sparse.csr_array, ...], np.ndarray, np.ndarray]:
    """The checked (transition, observation, reward) of a completely read file."""
    check = _Checks(reader, tables, states, actions)
    return check.transition(), check.observation(), check.reward()


class _Checks:
    """The final checks of one file, with what their error messages name."""

    def __init__(self, reader: LineReader, tables: Tables, states: Names, actions: Sequence[Names]) -> None:
        self.reader = reader
        self.tables = tables
        self.states = states
        self.actions = actions
        self.n_ja, self.n_s, _ = tables.o.shape

    def _joint_action_name(self, ja: int) -> str:
        """"(name_1, ..., name_n)" of a joint action."""
        parts = np.unravel_index(ja, tuple(len(a.names) for a in self.actions))
        return "(" + ", ".join(a.names[int(i)] for a, i in zip(self.actions, parts)) + ")"

    def _not_distribution(self, kind: str, line: int, row: str, total: float, minimum: float) -> NoReturn:
        """Fail for the `row` of table `kind` last written at `line` (0: never written).

        A row never written is blamed on the first entry of its section, else on the end.
        """
        self.reader.fail(
            line or self.tables.first_entry.get(kind, self.reader.n_lines), kind,
            f"{row} is not a probability distribution: it {_row_problem(total, minimum)}",
        )

    def transition(self) -> tuple[np.ndarray | scipy.sparse.csr_array, ...]:
        """Build every T[ja] and check that each row is a probability distribution."""
        t, n_s = self.tables.t, self.n_s
        dense = n_s * n_s * self.n_ja <= DENSE_T_LIMIT
        matrices = tuple(t.matrix(ja, dense) for ja in range(self.n_ja))
        for ja, matrix in enumerate(matrices):
            if dense:
                sums, row_min = matrix.sum(axis=1), matrix.min(axis=1)
            else:
                sums = matrix.sum(axis=1)
                row_min = np.zeros(n_s)
                np.minimum.at(row_min, np.repeat(np.arange(n_s), np.diff(matrix.indptr)), matrix.data)
            bad = _first_bad_row(sums, row_min)
            if bad is not None:
                (s,) = bad
                row = f"T(. | s={self.states.names[s]}, ja={self._joint_action_name(ja)})"
                self._not_distribution("T", t.line[ja][s], row, float(sums[s]), float(row_min[s]))
        return matrices

    def observation(self) -> np.ndarray:
        """Check that each O[ja, s', :] is a probability distribution."""
        o = self.tables.o
        sums, row_min = o.sum(axis=2), o.min(axis=2)
        bad = _first_bad_row(sums, row_min)
        if bad is not None:
            ja, sp = bad
            row = f"O(. | ja={self._joint_action_name(ja)}, s'={self.states.names[sp]})"
            line = int(self.tables.o_line[ja, sp])
            self._not_distribution("O", line, row, float(sums[ja, sp]), float(row_min[ja, sp]))
        return o

    def reward(self) -> np.ndarray:
        """R(s, ja), which must be finite."""
        r = self.tables.r
        if not np.isfinite(r).all():
            self.reader.fail(self.tables.last_r_line or self.reader.n_lines, "R", "rewards overflow float64")
        return r
