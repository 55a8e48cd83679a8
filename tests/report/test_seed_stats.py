"""Intervals across seeds and the verdict of "mean > 0" (decdiff.report.seed_stats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from decdiff.report.seed_stats import across_seeds, every_column


def test_interval_is_students_t_of_the_mean():
    values = [1.0, 2.0, 4.0]
    interval = across_seeds(values, confidence=0.9)
    expected = stats.t.interval(0.9, df=2, loc=np.mean(values), scale=stats.sem(values))
    assert (interval.low, interval.high) == pytest.approx(expected, rel=1e-12)
    assert interval.mean == pytest.approx(7 / 3) and interval.n == 3 and interval.confidence == 0.9


@pytest.mark.parametrize(("values", "verdict"), [
    ([1.0, 1.1, 0.9], "holds"),
    ([-1.0, -1.1, -0.9], "violated"),
    ([1.0, -1.0, 0.5], "inconclusive"),
    ([0.1, 0.05], "inconclusive"),        # two seeds: t = 12.7 makes the interval straddle 0
    ([3.0], "inconclusive"),              # one seed: no interval at all
])
def test_verdict_of_mean_above_zero(values, verdict):
    interval = across_seeds(values)
    assert interval.verdict == verdict
    if len(values) == 1:
        assert interval.low is None and interval.high is None


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValueError):
        across_seeds(bad)


def test_every_column():
    assert every_column(["holds", "holds"]) == "holds"
    assert every_column(["holds", "inconclusive"]) == "inconclusive"
    assert every_column(["inconclusive", "violated", "holds"]) == "violated"
    with pytest.raises(ValueError):
        every_column([])
