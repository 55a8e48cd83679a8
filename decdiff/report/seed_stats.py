"""Intervals across training seeds, and the verdict of a claim "A > B" read off them.

A configuration trained with seeds k = 1..n gives one value per seed (e.g. the PSNR
difference composite - individual of Table 1). Treating the n values as a sample of the
seed distribution, the two-sided Student-t interval for its mean is

    mean +- t_{n-1, (1 + c) / 2} * sd / sqrt(n),    sd the sample standard deviation (ddof 1),

at confidence c. The claim "the mean is > 0" then *holds* when the interval lies above 0,
is *violated* when it lies below 0, and is *inconclusive* otherwise, which includes n = 1
(no spread, no interval). With few seeds t is large (12.7 for n = 2 at 95 %), so the
verdict is honest about how little two seeds say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats

from decdiff.tolerances import CONFIDENCE_LEVEL

Verdict = Literal["holds", "violated", "inconclusive"]


@dataclass(frozen=True)
class SeedInterval:
    """Mean of per-seed values with its Student-t interval (None bounds when n < 2) and the verdict of "mean > 0"."""

    mean: float
    low: float | None
    high: float | None
    n: int
    confidence: float
    verdict: Verdict

    def to_json(self) -> dict:
        return asdict(self)


def across_seeds(values: Sequence[float], confidence: float = CONFIDENCE_LEVEL) -> SeedInterval:
    """The Student-t interval of the mean of `values` (one per seed) and the verdict of "mean > 0"."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"need one finite value per seed, got {values!r}")
    mean, n = float(x.mean()), int(x.size)
    if n < 2:
        return SeedInterval(mean, None, None, n, confidence, "inconclusive")
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict: Verdict = "holds" if low > 0 else ("violated" if high < 0 else "inconclusive")
    return SeedInterval(mean, low, high, n, confidence, verdict)


def every_column(verdicts: Sequence[Verdict]) -> Verdict:
    """"A > B in every column": violated if any column is, holds if all do, inconclusive otherwise."""
    if not verdicts:
        raise ValueError("no columns")
    if "violated" in verdicts:
        return "violated"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"
