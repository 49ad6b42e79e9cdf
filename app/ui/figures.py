"""Pure Plotly builders of the dashboard's charts (those of Video detail and "Why this venue?" are Vega-Lite, in
app/ui/charts.py): per-class F1 and its change, training curves, an atom's venue support, the atom overview and the
confusion matrix (readable at 22 and at 188 venues) with its venue orders. No Streamlit here, so each builder is
unit-tested on its figure; the frames, audio and caption drawn with their attributions are in
app/ui/media_figures.py."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from core.venues import VENUE188_PATH

if TYPE_CHECKING:
    from app.services.models import ClassScore

MODALITY_LABELS = {"visual": "visual (frames)", "acoustic": "acoustic (sound)", "textual": "textual (caption)"}
POSITIVE, NEGATIVE, NEUTRAL = "#d62728", "#1f77b4", "#9aa0a6"
CHART_HEIGHT = 320
CELL_PX = 22  # one confusion cell, in screen pixels (the figure has a fixed size, so this is exact; >= 18)
MATRIX_WINDOW = 30  # venues drawn at once; a larger matrix is shown as windows of this many (in the chosen order)
TICK_CHARS = 24  # venue names longer than this are cut on the axes (the hover shows the full name)
TICK_FONT = 11
ORDERS = {"frequency": "by frequency", "tree": "Foursquare tree"}
DIAGONAL = "#111111"


# ---------------------------------------------------------------- charts


def fit_layout(fig: go.Figure, height: int = CHART_HEIGHT, **kw: Any) -> go.Figure:
    """The dashboard's compact layout: a fixed height and thin margins."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, **kw)
    return fig


def per_class_figure(per_class: Sequence[ClassScore]) -> go.Figure:
    """F1 of each venue that has test videos (a venue without any has no F1 to show)."""
    rows = sorted((r for r in per_class if r.support), key=lambda r: (r.f1 or 0.0))
    fig = go.Figure(go.Bar(
        x=[r.f1 or 0.0 for r in rows], y=[r.venue for r in rows], orientation="h", marker_color="#1f6feb",
        customdata=[r.support for r in rows],
        hovertemplate="%{y}: F1 %{x:.2f} (%{customdata} test videos)<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 1], title="F1 on the held-out test split")
    left_out = len(per_class) - len(rows)
    title = "Per-class F1" + (f" ({left_out} venues without test videos left out)" if left_out else "")
    return fit_layout(fig, height=max(300, 20 * len(rows) + 80), title=title)


def delta_figure(deltas: Sequence[dict[str, Any]], a: str, b: str) -> go.Figure:
    rows = sorted(deltas, key=lambda r: r["delta"])
    fig = go.Figure(go.Bar(
        x=[r["delta"] for r in rows], y=[r["venue"] for r in rows], orientation="h",
        marker_color=["#2ca02c" if r["delta"] > 0 else POSITIVE for r in rows],
        hovertemplate="%{y}: %{x:+.2f}<extra></extra>",
    ))
    fig.update_xaxes(title=f"F1 of {b} minus F1 of {a}")
    return fit_layout(fig, height=max(300, 20 * len(rows) + 80), title="Per-class F1 change")


def curve_figure(history: Sequence[dict[str, Any]], *, title: str = "Training") -> go.Figure:
    """Training loss and validation Macro-F per epoch."""
    epochs = [h.get("epoch") for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=epochs, y=[h.get("train_loss") for h in history], name="training loss",
                             mode="lines+markers", yaxis="y"))
    fig.add_trace(go.Scatter(x=epochs, y=[h.get("val_macro_f1") for h in history], name="validation Macro-F",
                             mode="lines+markers", yaxis="y2"))
    fig.update_layout(yaxis={"title": "loss"}, yaxis2={"title": "Macro-F", "overlaying": "y", "side": "right",
                                                       "range": [0, 1]},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title="epoch", dtick=1)
    return fit_layout(fig, height=300, title=title)


def support_figure(support: Sequence[tuple[str, float]], *, title: str) -> go.Figure:
    rows = list(support)[::-1]
    fig = go.Figure(go.Bar(
        x=[v for _, v in rows], y=[n for n, _ in rows], orientation="h",
        marker_color=[POSITIVE if v > 0 else NEGATIVE for _, v in rows],
        hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
    ))
    return fit_layout(fig, height=max(260, 22 * len(rows) + 80), title=title)


def atom_overview_figure(share: np.ndarray, mean: np.ndarray, modalities: Sequence[str],
                         selected: int | None = None) -> go.Figure:
    """Every atom per modality as a square coloured by how many videos use it (a scatter, so a click
    returns the atom: Plotly heatmaps return no selection in Streamlit)."""
    n_mod, n_atoms = share.shape
    xs = [k for _ in range(n_mod) for k in range(n_atoms)]
    ys = [MODALITY_LABELS.get(m, m) for m in modalities for _ in range(n_atoms)]
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="markers",
        marker={"symbol": "square", "size": max(8, min(22, int(900 / max(n_atoms, 1)))),
                "color": share.ravel(), "colorscale": "Blues", "cmin": 0, "cmax": 1,
                "line": {"width": [2 if k == selected else 0.5 for k in xs],
                         "color": ["#d62728" if k == selected else "#888" for k in xs]},
                "colorbar": {"title": "videos using it"}},
        customdata=np.stack([np.asarray(xs), mean.ravel()], axis=1),
        hovertemplate="atom %{x}, %{y}<br>used by %{marker.color:.0%} of videos<br>"
                      "mean code %{customdata[1]:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title="dictionary atom (click one)")
    fig.update_yaxes(categoryorder="array", categoryarray=[MODALITY_LABELS.get(m, m) for m in modalities][::-1])
    return fit_layout(fig, height=120 + 45 * n_mod, title="All atoms")


# ---------------------------------------------------------------- the confusion matrix


@lru_cache(maxsize=1)
def _tree_keys() -> dict[str, tuple[int, ...]]:
    """Each VENUE-188 name's path through the Foursquare tree: the indices of the inner nodes holding it,
    largest node first, so sorting by it puts sibling venues next to each other."""
    tree = json.loads(VENUE188_PATH.read_text(encoding="utf-8"))
    names = {int(v["id"]): str(v["name"]) for v in tree["venues"]}
    inner = sorted((g for g in tree["tree_groups"] if len(g) > 1), key=len, reverse=True)
    keys: dict[str, list[int]] = {name: [] for name in names.values()}
    for index, group in enumerate(inner):
        for leaf in group:
            if leaf in names:
                keys[names[leaf]].append(index)
    return {name: tuple(path) for name, path in keys.items()}


def confusion_order(confusion: Sequence[Sequence[int]], names: Sequence[str], by: str = "frequency") -> list[int]:
    """Class indices in the order both axes use: by row total (most videos first), or along the Foursquare tree
    (venues not in VENUE-188 last). Ties by name."""
    if by not in ORDERS:
        raise ValueError(f"unknown order {by!r}; choose from {', '.join(ORDERS)}")
    matrix = np.asarray(confusion, dtype=float).reshape(len(names), len(names))
    if by == "frequency":
        totals = matrix.sum(axis=1)
        return sorted(range(len(names)), key=lambda i: (-totals[i], names[i]))
    keys = _tree_keys()
    return sorted(range(len(names)), key=lambda i: (names[i] not in keys, keys.get(names[i], ()), names[i]))


def windows(order: Sequence[int], size: int = MATRIX_WINDOW) -> list[list[int]]:
    """The order cut into consecutive windows of at most `size` venues (one window when it fits)."""
    return [list(order[s:s + size]) for s in range(0, len(order), size)] or [[]]


def _short(name: str) -> str:
    return name if len(name) <= TICK_CHARS else name[: TICK_CHARS - 1] + "…"


def confusion_figure(confusion: Sequence[Sequence[int]], names: Sequence[str], *,
                     indices: Sequence[int] | None = None, normalised: bool = False,
                     cell_px: int = CELL_PX) -> go.Figure:
    """The confusion matrix as a scatter of square markers (Plotly heatmaps return no selection in Streamlit).
    `indices` are the classes to draw, in order, the same on both axes (default: all, as given). The figure has a
    fixed size so every cell is `cell_px` wide; the diagonal is outlined; each cell carries customdata (label index,
    predicted index, count, row share) and its hover says both; `normalised` colours and labels cells by the share
    of their row instead of the count."""
    matrix = np.asarray(confusion, dtype=float).reshape(len(names), len(names))
    order = list(range(len(names)) if indices is None else indices)
    cats = [names[i] for i in order]
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    sub = matrix[np.ix_(order, order)]
    pi, pj = np.nonzero(sub)
    ii, jj = [order[p] for p in pi], [order[p] for p in pj]
    counts = [matrix[i, j] for i, j in zip(ii, jj, strict=True)]
    shares = [share[i, j] for i, j in zip(ii, jj, strict=True)]
    color = shares if normalised else counts
    top = 1.0 if normalised else max([1.0, *counts])
    n = len(cats)
    custom = np.array([[i, j, c, s] for i, j, c, s in zip(ii, jj, counts, shares, strict=True)]).reshape(-1, 4)
    fig = go.Figure()
    # The diagonal first: every venue's own cell outlined in black (also when empty), under the counts.
    fig.add_trace(go.Scatter(
        x=cats, y=cats, mode="markers", name="diagonal", showlegend=False,
        marker={"symbol": "square-open", "size": cell_px - 1, "color": DIAGONAL, "line": {"width": 2}},
        customdata=np.array([[i, i, matrix[i, i], share[i, i]] for i in order]).reshape(-1, 4),
        hovertemplate="%{y}: %{customdata[2]:.0f} right (%{customdata[3]:.0%} of its videos)<extra></extra>",
    ))
    small = n <= MATRIX_WINDOW
    fig.add_trace(go.Scatter(
        x=[names[j] for j in jj], y=[names[i] for i in ii], mode="markers+text" if small else "markers",
        name="cells", showlegend=False,
        marker={"symbol": "square", "size": cell_px - 3, "color": color, "colorscale": "Blues", "cmin": 0,
                "cmax": top, "line": {"width": 0},
                "colorbar": {"title": "share of row" if normalised else "videos", "thickness": 12,
                             "len": min(1.0, max(0.3, 12 / max(n, 1))), **_colorbar_ticks(top, normalised)}},
        text=[f"{100 * s:.0f}" if normalised else f"{c:.0f}" for c, s in zip(counts, shares, strict=True)],
        textfont={"size": 9, "color": [("white" if v > 0.55 * top else "#222") for v in color]},
        customdata=custom,
        hovertemplate="label %{y}<br>predicted %{x}<br>%{customdata[2]:.0f} video(s), "
                      "%{customdata[3]:.0%} of the label's videos<extra></extra>",
    ))
    left = 12 + int(0.62 * TICK_FONT * max((len(_short(c)) for c in cats), default=4))
    margin = {"l": left, "r": 90, "t": 40, "b": left}
    axis = {"categoryorder": "array", "categoryarray": cats, "tickmode": "array", "tickvals": cats,
            "ticktext": [_short(c) for c in cats], "tickfont": {"size": TICK_FONT}, "showgrid": True,
            "gridcolor": "#eeeeee", "zeroline": False, "range": [-0.5, n - 0.5], "fixedrange": False}
    fig.update_xaxes(title="predicted", tickangle=-90, **axis)
    fig.update_yaxes(title="label", autorange=None, **axis)
    fig.update_yaxes(range=[n - 0.5, -0.5])  # first venue at the top, as a table reads
    fig.update_layout(
        width=margin["l"] + margin["r"] + n * cell_px, height=margin["t"] + margin["b"] + n * cell_px,
        margin=margin, plot_bgcolor="white", dragmode="zoom", clickmode="event+select",
        title={"text": "Confusion matrix (" + ("share of each label's videos, %" if normalised else "videos")
               + "; click a cell)", "font": {"size": 14}},
    )
    return fig


def _colorbar_ticks(top: float, normalised: bool) -> dict:
    if normalised:
        return {"tickformat": ".0%"}
    step = max(1, int(top) // 5)
    return {"tickmode": "array", "tickvals": list(range(0, int(top) + 1, step))}


def cell_px(fig: go.Figure) -> tuple[float, float]:
    """The width and height of one confusion cell in screen pixels (the figure's plot area over its venues)."""
    n = len(fig.layout.xaxis.categoryarray)
    m = fig.layout.margin
    return ((fig.layout.width - m.l - m.r) / n, (fig.layout.height - m.t - m.b) / n)
