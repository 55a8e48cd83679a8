"""How the report's figures stay readable: sizes, fonts, point labels that never overlap, legends outside the data.

`decdiff.report.figures` draws every figure within PAGE_WIDTH_IN and with STYLE; the tests check each rendered
figure with `visible_texts` and `text_extent` (no text below FONT, no two texts overlapping).
"""

from __future__ import annotations

from collections import defaultdict

import matplotlib
import matplotlib.text
import matplotlib.transforms

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

#: The widest figure, in inches: the HTML page's text column (72rem = 1152 px) at the 100 dpi of the PNGs, so that
#: the page shows every figure at its natural size and no text shrinks.
PAGE_WIDTH_IN = 11.5
#: The smallest text in a figure, in points (at 100 dpi and natural size, 9 CSS points or more).
FONT = 9
#: Font sizes of every figure (rc parameters): nothing below FONT.
STYLE = {"font.size": FONT, "axes.titlesize": FONT + 1, "axes.labelsize": FONT, "xtick.labelsize": FONT,
         "ytick.labelsize": FONT, "legend.fontsize": FONT, "figure.titlesize": FONT + 2}


def label_groups(points: list[list[float]], labels: list[str]) -> list[tuple[list[float], str]]:
    """Labels of points that project onto the same place, joined."""
    groups: dict[tuple[float, float], list[str]] = defaultdict(list)
    for p, label in zip(points, labels):
        groups[(round(p[0], 3), round(p[1], 3))].append(label)
    return [([x, y], ", ".join(ls)) for (x, y), ls in groups.items()]


#: Where `_separate_labels` tries a point's label, in points from the point: below, above, left, further down.
_LABEL_OFFSETS = ((4, -14), (4, 6), (-4, -14), (-4, 6), (4, -26), (-4, -26), (4, 18), (-4, 18))


def separate_labels(fig: plt.Figure) -> None:
    """Lay the figure out, then move each point label (``gid="label"``) to the first offset where it overlaps
    no label placed before it and stays inside the figure; the layout is then frozen."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = visible_texts(fig)
    placed = [text_extent(t, renderer) for t in texts if t.get_gid() != "label"]
    for text in [t for t in texts if t.get_gid() == "label"]:
        for offset in _LABEL_OFFSETS:
            text.set_horizontalalignment("left" if offset[0] > 0 else "right")
            text.xyann = offset
            box = text_extent(text, renderer)
            if not any(box.overlaps(other) for other in placed) and fig.bbox.contains(box.x1, box.y0):
                break
        placed.append(text_extent(text, renderer))
    fig.set_layout_engine("none")


def visible_texts(fig: plt.Figure) -> list[matplotlib.text.Text]:
    """Every piece of text the figure shows (titles, tick labels, legends, annotations): not the labels of ticks
    outside an axis's view, which matplotlib keeps but does not draw."""
    hidden = set()
    for axis in (axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)):
        low, high = sorted(axis.get_view_interval())
        hidden |= {id(label) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                   if not low - 1e-9 * (high - low) <= tick.get_loc() <= high + 1e-9 * (high - low)
                   for label in (tick.label1, tick.label2)}
    return [t for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def text_extent(text: matplotlib.text.Text, renderer) -> matplotlib.transforms.Bbox:
    """Where a text is drawn, in pixels: its glyphs only (an annotation's own extent includes its arrow)."""
    return matplotlib.text.Text.get_window_extent(text, renderer)


def side_labels(ax: plt.Axes, points: list[list[float]], labels: list[str], color: str) -> None:
    """Label points from a column right of the axes, one line each in the order of their heights, with a leader
    line to each point: labels never overlap, however close the points are."""
    groups = sorted(label_groups(points, labels), key=lambda g: (-round(g[0][1], 1), g[0][0]))   # no crossings
    for k, (point, text) in enumerate(groups):
        ax.annotate(text, point, xytext=(1.04, 1.0 - (k + 0.5) / max(len(groups), 6)), textcoords="axes fraction",
                    va="center", color=color, annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.6, "alpha": 0.7})


def legend_below(ax: plt.Axes, columns: int, below: float = 0.14) -> None:
    """The legend under the axes, outside the data."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -below), ncol=columns, frameon=False)
