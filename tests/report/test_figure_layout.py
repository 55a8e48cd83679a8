"""The report's figures are readable: no text below FONT points or shrunk by the page, no two texts overlap,
every legend outside the data."""

from __future__ import annotations

import itertools

import pytest

from decdiff.report import figures
from decdiff.report.figure_layout import FONT, PAGE_WIDTH_IN, text_extent, visible_texts


@pytest.fixture(scope="module")
def drawn(mini_report):
    """(name, figure) of every figure of the mini report, laid out as its PNG is."""
    _, report, _ = mini_report
    captured = []
    original = figures._png

    def capture(fig):
        fig.canvas.draw()
        captured.append(fig)
        return b""

    figures._png = capture
    try:
        rendered = figures.render_figures(report["figures"])
    finally:
        figures._png = original
    assert len(captured) == len(rendered) >= 4
    return list(zip([r.name for r in rendered], captured))


def test_text_is_large_enough_at_the_size_the_page_shows(drawn):
    for name, fig in drawn:
        assert fig.get_figwidth() <= PAGE_WIDTH_IN + 1e-9, name
        small = [(t.get_text(), t.get_fontsize()) for t in visible_texts(fig) if t.get_fontsize() < FONT]
        assert small == [], name


def test_no_two_texts_overlap(drawn):
    for name, fig in drawn:
        renderer = fig.canvas.get_renderer()
        boxes = [(t.get_text(), text_extent(t, renderer)) for t in visible_texts(fig)]
        overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
        assert overlapping == [], name


def test_legends_lie_outside_the_data(drawn):
    for name, fig in drawn:
        renderer = fig.canvas.get_renderer()
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
        for legend, ax in itertools.product(legends, fig.axes):
            assert not legend.get_window_extent(renderer).overlaps(ax.patch.get_window_extent(renderer)), name
