"""Render the report's figures (matplotlib, Agg) from the JSON's ``figures`` data and nothing else.

Each figure is a PNG with a title and a caption written from the same data; Table 1 is a
table (`table1_rows`) that Markdown and HTML lay out themselves.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from decdiff.report.figure_layout import (  # noqa: E402
    FONT,
    PAGE_WIDTH_IN,
    STYLE,
    label_groups,
    legend_below,
    separate_labels,
    side_labels,
)

#: Resolution of the PNG files.
DPI = 100
#: Fig. 2 (f) distances are drawn on a symmetric log scale, linear below this (exact fixed
#: points sit within ~1e-5 of their states at sigma = 0.3, some exactly on them).
SYMLOG_THRESHOLD = 1e-8


@dataclass(frozen=True)
class Rendered:
    """A rendered figure: ``name`` (file stem), ``title``, ``caption``, PNG bytes and the claims it illustrates."""

    name: str
    title: str
    caption: str
    png: bytes
    claims: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"figures/{self.name}.png"


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# ----- Fig. 1 -------------------------------------------------------------------------------------
def _field_panel(ax: plt.Axes, grid: np.ndarray, agent: dict, kind: str) -> None:
    panel = agent[kind]
    image = np.asarray(panel["image"], dtype=float)
    ax.quiver(grid[:, 0], grid[:, 1], image[:, 0] - grid[:, 0], image[:, 1] - grid[:, 1], angles="xy",
              scale_units="xy", scale=1, width=0.004, color="#7a7a7a")
    states = np.asarray(agent["consistent_points"], dtype=float)
    ax.scatter(states[:, 0], states[:, 1], marker="^", s=110, facecolor="none", edgecolor="#1b7837", linewidth=2,
               label="consistent state", zorder=3)
    labels = [f"{s} ({p:.2f})" for s, p in zip(agent["consistent_states"], agent["posterior"])]
    for point, text in label_groups(agent["consistent_points"], labels):
        ax.annotate(text, point, textcoords="offset points", xytext=(4, -14), color="#1b7837", gid="label")
    stable = np.asarray([p["point"] for p in panel["fixed_points"] if p["stable"]], dtype=float).reshape(-1, 2)
    unstable = np.asarray([p["point"] for p in panel["fixed_points"] if not p["stable"]], dtype=float).reshape(-1, 2)
    ax.scatter(stable[:, 0], stable[:, 1], s=40, color="#2166ac", label="stable fixed point", zorder=4)
    ax.scatter(unstable[:, 0], unstable[:, 1], s=30, marker="x", color="#b2182b", label="unstable fixed point",
               zorder=4)


def fig1(data: dict[str, Any]) -> list[Rendered]:
    grid = np.asarray(data["grid"], dtype=float)
    out = []
    for model in data["models"]:
        agents = model["agents"]
        fig, axes = plt.subplots(2, len(agents), figsize=(min(PAGE_WIDTH_IN, 2.9 * len(agents)), 7.2),
                                 squeeze=False, layout="constrained")
        for col, agent in enumerate(agents):
            for row, kind in enumerate(("exact", "trained")):
                ax = axes[row, col]
                _field_panel(ax, grid, agent, kind)
                ax.set_title(f"agent {agent['agent'] + 1}, obs {'/'.join(agent['observations'])} ({kind})")
                ax.set_xlabel(f"y[{model['dimensions'][0]}]")
                ax.set_ylabel(f"y[{model['dimensions'][1]}]")
                ax.set_aspect("equal")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3)
        fig.suptitle(f"{model['model']}: true state {model['true_state']}, joint support "
                     f"{{{', '.join(model['joint_support'])}}}, sigma = {data['sigma']:g}")
        separate_labels(fig)
        stable_counts = [sum(p["stable"] for p in a["trained"]["fixed_points"]) for a in agents]
        caption = (f"Arrows go from y to f(tau_i, y) in the first two state dimensions (other coordinates 0), "
                   f"exact denoiser (top) and the trained width-{data['width']} network (bottom); "
                   f"triangles: consistent states S_G(tau_i) with posterior probabilities; dots: stable fixed "
                   f"points, crosses: unstable ones (projected). Stable fixed points of the trained network per "
                   f"agent: {stable_counts}.")
        slug = model["model"].split(":")[0]
        out.append(Rendered(f"fig1_{slug}", f"Fig. 1 analogue: vector fields on {model['model']}", caption,
                            _png(fig), ("Theorem 1", "Theorem 2", "Theorem 3", "Theorem 4")))
    return out


# ----- Fig. 2 -------------------------------------------------------------------------------------
def fig2(data: dict[str, Any]) -> list[Rendered]:
    fig, axes = plt.subplot_mosaic([["d", "f"], ["g", "g"]], figsize=(PAGE_WIDTH_IN, 8.8), layout="constrained",
                                  height_ratios=(1.2, 1.0))
    ax_d, ax_f, ax_g = axes["d"], axes["f"], axes["g"]
    panel = data["agent_panel"]
    states = np.asarray(panel["consistent_points"], dtype=float)
    ax_d.scatter(states[:, 0], states[:, 1], marker="*", s=220, facecolor="none", edgecolor="#1b7837",
                 label="consistent state", zorder=2)
    side_labels(ax_d, panel["consistent_points"], panel["consistent_states"], "#1b7837")
    for kind, style in (("exact", {"marker": "x", "color": "#555555", "s": 40}),
                        ("trained", {"marker": "o", "facecolor": "none", "edgecolor": "#2166ac", "s": 90})):
        stable = np.asarray([p["point"] for p in panel[kind] if p["stable"]], dtype=float).reshape(-1, 2)
        ax_d.scatter(stable[:, 0], stable[:, 1], label=f"{kind} stable fixed point", zorder=3, **style)
    ax_d.set_title(f"(d) agent {panel['agent'] + 1}: fixed points\nagainst consistent states")
    ax_d.set_xlabel("principal axis 1 of the consistent states")
    ax_d.set_ylabel("principal axis 2")
    legend_below(ax_d, 1)

    distances = data["agents_panel"]["nearest_stable_distance"]
    agents = np.arange(1, len(distances["trained"]) + 1)
    for offset, kind, color in ((-0.2, "trained", "#2166ac"), (0.2, "exact", "#999999")):
        values = np.asarray([np.nan if v is None else v for v in distances[kind]], dtype=float)
        ax_f.bar(agents + offset, values, width=0.4, color=color, label=kind)
        zero = values == 0.0
        if zero.any():
            ax_f.scatter(agents[zero] + offset, values[zero], marker="v", s=40, color=color, edgecolor="black",
                         linewidth=0.5, label=f"{kind}: distance 0", zorder=3, clip_on=False)
    ax_f.set_title(f"(f) distance from the true state {data['agents_panel']['true_state']}\nto each agent's "
                   f"nearest stable fixed point")
    ax_f.set_yscale("symlog", linthresh=SYMLOG_THRESHOLD)
    ax_f.set_xlabel("agent")
    ax_f.set_ylabel(f"||y* - s|| (linear below {SYMLOG_THRESHOLD:g})")
    ax_f.set_xticks(agents)
    legend_below(ax_f, 2)

    rank = data["rank_panel"]
    ranks = np.asarray(rank["ranks"], dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, ranks.size)   # display only, fixed
    ax_g.scatter(ranks + jitter, rank["deviation_norms"], s=10, alpha=0.6, color="#2166ac",
                 label="fixed point")
    for line, style in zip(rank["r_hat"], ("--", ":")):
        if line["mean_R_hat"] is not None:
            ax_g.axhline(line["mean_R_hat"], linestyle=style, color="#b2182b",
                         label=f"mean R-hat, eps = {line['epsilon']:.3g} (quantile {line['quantile']:g})")
    ax_g.set_xticks(np.unique(ranks).astype(int) if ranks.size else [])
    ax_g.set_xlim(ranks.min(initial=0) - 1, ranks.max(initial=0) + 1)
    ax_g.set_xlabel(f"rank of J_+ (at most {rank['max_possible_rank']})")
    ax_g.set_ylabel("||D_phi||_2")
    ax_g.set_title("(g) deviation against Jacobian rank")
    legend_below(ax_g, 3)
    fig.suptitle(f"{data['model']}, trained width {data['training']['width']}, sigma = {data['sigma']:g}")
    checks = {c["id"]: c for c in data["checks"]}
    rho = next(iter(checks.values()))
    caption = (f"(d) stable fixed points of the trained and the exact denoiser for one agent's history, projected "
               f"on the principal axes of its consistent states; (f) per agent, the distance from the true state to "
               f"its nearest stable fixed point{_missing_bars(data['agents_panel'])}; (g) ||D_phi|| against rank(J_+) for {len(ranks)} fixed points of "
               f"sampled (history, state) pairs (ranks jittered for display), with R-hat (Eq. 17) averaged over the "
               f"epsilon-local sets of two epsilons. Checks on this denoiser: "
               + "; ".join(f"{c['id']} {c['verdict']}" for c in checks.values())
               + (f" (Spearman rho {rho['observed']:.3g})." if isinstance(rho["observed"], float) else "."))
    return [Rendered("fig2", "Fig. 2 analogue: trained fixed points and deviation against Jacobian rank", caption,
                     _png(fig), ("Theorem 2", "Theorem 3", "Finding 3", "Theorem 6"))]


def _missing_bars(panel: dict[str, Any]) -> str:
    """Why an agent in (f) has no bar: a distance of exactly 0 (one consistent state) or no stable fixed point."""
    notes = []
    for kind, values in panel["nearest_stable_distance"].items():
        zero = [k + 1 for k, v in enumerate(values) if v == 0.0]
        none = [k + 1 for k, v in enumerate(values) if v is None]
        counts = panel.get("consistent_counts")
        why = (", because their histories leave one consistent state, and f* is that state everywhere"
               if counts and kind == "exact" and all(counts[a - 1] == 1 for a in zero) else "")
        if zero:
            notes.append(f"{_agents(zero)} no {kind} bar: the {kind} fixed point is the true state itself "
                         f"(distance 0, marked by a triangle){why}")
        if none:
            notes.append(f"{_agents(none)} no {kind} bar: no stable fixed point was found")
    return "".join(f"; {n}" for n in notes)


def _agents(numbers: list[int]) -> str:
    return f"agent {numbers[0]} has" if len(numbers) == 1 else f"agents {', '.join(map(str, numbers))} have"


# ----- Fig. 3 -------------------------------------------------------------------------------------
_FIG3_AXES = {"width": "network width", "states": "number of states |S|", "samples": "training pairs"}


def fig3(data: dict[str, Any]) -> list[Rendered]:
    panels = data["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(PAGE_WIDTH_IN, 3.9 * len(panels)), 4.2), squeeze=False,
                             layout="constrained")
    notes = []
    for ax, (name, entries) in zip(axes[0], panels.items()):
        labels = [str(e["states"] if name == "states" else e["train_pairs"] if name == "samples" else e["value"])
                  for e in entries]
        for k, e in enumerate(entries):
            dev = np.asarray(e["deviation_norms"], dtype=float)
            x = k + np.random.default_rng(k).uniform(-0.2, 0.2, dev.size)   # display jitter, fixed
            ax.scatter(x, dev, s=6, alpha=0.4, color="#2166ac")
            if dev.size:
                ax.plot([k - 0.3, k + 0.3], [np.median(dev)] * 2, color="#b2182b", linewidth=2)
        ax.set_xticks(range(len(entries)), labels)
        ax.set_xlabel(_FIG3_AXES[name])
        ax.set_ylabel("||D_phi||_2")
        ax.set_title(f"against {_FIG3_AXES[name]}")
        notes.append(f"{_FIG3_AXES[name]}: " + ", ".join(
            f"{lab} (median {np.median(e['deviation_norms']) if e['deviation_norms'] else float('nan'):.3g}, "
            f"MSE/Bayes {e['training']['mse_ratio']:.2f}, "
            f"ranks {min(e['ranks'], default=0)}-{max(e['ranks'], default=0)})"
            for lab, e in zip(labels, entries)))
    fig.suptitle(f"Fixed-point deviations (red: median), sigma = {data['sigma']:g}")
    caption = ("One trained denoiser per setting, the base configuration otherwise; dots are the fixed points "
               "phi_inf(tau)(s) of sampled (history, state) pairs. " + "; ".join(notes) + ".")
    return [Rendered("fig3", "Fig. 3 analogue: deviation against width, number of states and training samples",
                     caption, _png(fig), ("Finding 3",))]


# ----- Fig. 4 -------------------------------------------------------------------------------------
def fig4(data: dict[str, Any]) -> list[Rendered]:
    panels = data["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(PAGE_WIDTH_IN, 3.8 * len(panels)), 4.8), squeeze=False,
                             layout="constrained")
    true = data["true_point"]
    for ax, panel in zip(axes[0], panels):
        paths = np.asarray(panel["path"], dtype=float)             # [starts, steps + 1, 2]
        for path in paths:
            ax.plot(path[:, 0], path[:, 1], color="#9ecae1", linewidth=0.7)
        ax.scatter(paths[:, 0, 0], paths[:, 0, 1], s=8, color="#999999", label="start")
        ax.scatter(paths[:, -1, 0], paths[:, -1, 1], s=20, color="#b2182b", label="end", zorder=3)
        ax.scatter([true[0]], [true[1]], marker="*", s=200, color="#1b7837", label="true state", zorder=4)
        agents = panel["agents"]
        shown = ",".join(str(a) for a in agents[:8]) + (",..." if len(agents) > 8 else "")
        ax.set_title(f"{panel['label']}\nagents [{shown}], {panel['steps']} steps", fontsize=FONT)
        ax.set_xlabel(f"y[{data['dimensions'][0]}]")
        ax.set_ylabel(f"y[{data['dimensions'][1]}]")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3)
    fig.suptitle(f"{data['model']}: true state {data['true_state']}, starts from {data['start_distribution']}, "
                 f"sigma = {data['sigma']:g}")
    ends = "; ".join(f"{p['label']}: ends at " + ", ".join(f"{s} x{c}" for s, c in p["final_states"].items())
                     for p in panels)
    caption = (f"Each step applies one agent's denoiser (Definition 6); the plane is spanned by the dimensions of "
               f"the true state's two target areas. {ends}. Subsets searched: {data['subsets_searched']} of size "
               f"{data['subset_size']}; a subset ending at a wrong state was "
               f"{'found' if data['wrong_subset_found'] else 'not found'}, one ending at the true state "
               f"{'found' if data['right_subset_found'] else 'not found'}.")
    return [Rendered("fig4", "Fig. 4 analogue: composite and partial composite flows", caption, _png(fig),
                     ("Theorem 7", "Corollary 7.2", "Finding 6"))]


# ----- Table 1 ------------------------------------------------------------------------------------
_FACTOR_LABELS = {"width": "W", "samples": "N", "history_length": "H", "miss": "miss"}


def table1_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of Table 1: one column per setting, rows train/test x individual/composite/difference."""
    columns = data["columns"]
    header = ["setting", "method"] + [f"{_FACTOR_LABELS.get(c['factor'], c['factor'])}={c['value']}"
                                      for c in columns]
    rows = []
    for split in ("train", "test"):
        rows.append([split, "individual"] + [f"{c[split]['individual']:.2f}" for c in columns])
        rows.append([split, "composite"] + [f"{c[split]['composite']:.2f}" for c in columns])
        rows.append([split, "difference [CI across seeds]"] + [_difference(c[split]) for c in columns])
        rows.append([split, "composite > individual"] + [c[split]["verdict"] for c in columns])
    return header, rows


def _difference(cell: dict[str, Any]) -> str:
    interval = "no interval (one seed)" if cell["ci"] is None else f"{cell['ci'][0]:+.2f}, {cell['ci'][1]:+.2f}"
    return f"{cell['difference']:+.2f} [{interval}]"


#: The claims Table 1 bears on (Evidence 5.1: composite beats individual diffusion).
TABLE1_CLAIMS = ("Theorem 8",)

# ----- the SMACv2-like section --------------------------------------------------------------------
def smax_figures(data: dict[str, Any]) -> list[Rendered]:
    """Fig. 2(g.2) and the per-column PSNR differences of the SMACv2-like section."""
    from decdiff.implementations.smax import LABEL

    fig2, table = data["fig2_g2"], data["table1"]
    fig, (ax_g, ax_t) = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 5.6), layout="constrained")
    ranks = np.asarray(fig2["ranks"], dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, ranks.size)         # display only, fixed
    ax_g.scatter(ranks + jitter, fig2["deviation_norms"], s=10, alpha=0.6, color="#2166ac", label="fixed point")
    for line, style in zip(fig2["r_hat"], ("--", ":")):
        if line["mean_R_hat"] is not None:
            ax_g.axhline(line["mean_R_hat"], linestyle=style, color="#b2182b",
                         label=f"mean R-hat, eps = {line['epsilon']:.3g} (quantile {line['quantile']:g})")
    ax_g.set_xlabel(f"rank of J_+ (at most {fig2['max_possible_rank']})")
    ax_g.set_ylabel("||D_phi||_2")
    ax_g.set_title(f"(g.2) {fig2['label']}, H = {fig2['training']['history_length']}", fontsize=FONT)
    legend_below(ax_g, 1)
    labels = [f"{c['factor']}={c['value']}" for c in table["columns"]]
    x = np.arange(len(labels))
    for offset, split, color in ((-0.15, "train", "#2166ac"), (0.15, "test", "#b2182b")):
        cells = [c[split] for c in table["columns"]]
        mean = np.asarray([c["difference"] for c in cells], dtype=float)
        low = np.asarray([np.nan if c["ci"] is None else c["ci"][0] for c in cells], dtype=float)
        high = np.asarray([np.nan if c["ci"] is None else c["ci"][1] for c in cells], dtype=float)
        ax_t.errorbar(x + offset, mean, yerr=[mean - low, high - mean], fmt="o", color=color, capsize=3,
                      label=f"{split} (interval across seeds)")
    ax_t.axhline(0.0, color="#555555", linewidth=0.8)
    ax_t.set_xticks(x, labels, rotation=45, ha="right")
    ax_t.set_ylabel("PSNR composite - individual (dB)")
    ax_t.set_title(f"Table 1 columns: composite > individual\nin every column: {table['every_column']}",
                   fontsize=FONT)
    legend_below(ax_t, 1, below=0.45)
    fig.suptitle(f"{LABEL}: sigma = {table['sigma']:g}, {table['denoising_steps']} denoising steps")
    rho = fig2["spearman"]
    lines = "; ".join(f"quantile {line['quantile']:g}: {line['degenerate_sets']} of {line['anchors']} sets "
                      f"degenerate, mean R-hat {line['mean_R_hat']}, fraction ||D|| < R-hat "
                      f"{line['fraction_bounded_norm']}" for line in fig2["r_hat"])
    caption = (f"Left: ||D_phi|| against rank(J_+) for {fig2['converged']} of {fig2['pairs']} held-out agent "
               f"histories ({fig2['feature_dim']} features; ranks jittered for display); Spearman rho "
               f"{rho['rho']} {rho['ci']} ({rho['verdict']}); R-hat {lines}. Right: per Table 1 column, the "
               f"mean over seeds {table['seeds']} of the PSNR difference composite - individual with its "
               f"{table['confidence']:.0%} Student-t interval. Not SMACv2: see the listed differences.")
    return [Rendered("smax", f"{LABEL}: Fig. 2(g.2) and Table 1 analogues", caption, _png(fig),
                     ("Finding 3", "Theorem 6", "Theorem 8"))]


RENDERERS: dict[str, Callable[[dict[str, Any]], list[Rendered]]] = {
    "fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, "smax": smax_figures,
}


def render_figures(figures: dict[str, Any]) -> list[Rendered]:
    """Every figure present in the report's ``figures`` data, in order (the SMACv2-like section's last)."""
    with plt.rc_context(STYLE):
        return [r for name, render in RENDERERS.items() if name in figures for r in render(figures[name])]
