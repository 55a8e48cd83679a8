"""The model's tables while the T, O and R sections are read, and the lines that wrote them.

T is kept per joint action as a base matrix plus the rows written explicitly
(`TransitionBuilder`), so that large sparse models stay cheap until the end; O and R are
dense arrays. `Tables` also records which line last wrote each T and O row and where each
section starts, for the error messages of the final checks (`dpomdp_validation`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse


class TransitionBuilder:
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


class Tables:
    """T, O[ja, s', jo] and R[s, ja] being built, and the lines that wrote them.

    Attributes:
        t: the transition builder.
        o: [JA, S, JO] observation table.
        o_line: [JA, S] the line that last wrote each row O[ja, s', :] (0: never written).
        r: [S, JA] reward table.
        first_entry: "T", "O" or "R" -> the line of the first entry of that kind.
        last_r_line: the line of the last reward entry (0: none).
    """

    def __init__(self, n_joint_actions: int, n_states: int, n_joint_observations: int) -> None:
        self.t = TransitionBuilder(n_joint_actions, n_states)
        self.o = np.zeros((n_joint_actions, n_states, n_joint_observations))
        self.o_line = np.zeros((n_joint_actions, n_states), dtype=np.int64)
        self.r = np.zeros((n_states, n_joint_actions))
        self.first_entry: dict[str, int] = {}
        self.last_r_line = 0
