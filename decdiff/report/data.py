"""Helpers that turn computed arrays into the report's JSON figure data."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: Significant digits kept in figure data (plots need far fewer; check results keep full precision).
FIGURE_DIGITS = 6


def rounded(values: Any) -> Any:
    """Nested lists of floats rounded to FIGURE_DIGITS significant digits (NaN and inf become None)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        v = float(array)
        return float(f"{v:.{FIGURE_DIGITS}g}") if np.isfinite(v) else None
    return [rounded(row) for row in array]
