"""Pure Plotly builders that need more than a few lines of layout: the confusion matrix (readable at 22 and at
188 venues) and its venue orders. No Streamlit here, so each builder is unit-tested on its figure."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from core.venues import VENUE188_PATH

CELL_PX = 22  # one confusion cell, in screen pixels (the figure has a fixed size, so this is exact; >= 18)
MATRIX_WINDOW = 30  # venues drawn at once; a larger matrix is shown as windows of this many (in the chosen order)
TICK_CHARS = 24  # venue names longer than this are cut on the axes (the hover shows the full name)
TICK_FONT = 11
ORDERS = {"frequency": "by frequency", "tree": "Foursquare tree"}
DIAGONAL = "#111111"


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
