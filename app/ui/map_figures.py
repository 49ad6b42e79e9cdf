"""Pure Plotly builders of the corpus map: a WebGL scatter (`scattergl`) of every video, coloured by a
categorical column (one trace per value, most frequent first) or a numeric one (one trace, a colour bar).
Each point carries its video id as customdata, so a click or a lasso names videos, not point indices."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_CATEGORIES = 24  # more values than this: the rarest are drawn as one "other" trace
# Up to this many points the hover names each video's file; above it only its id (a click shows the card with the
# name): 200k file names are megabytes sent to the browser on every page run.
HOVER_NAMES_UP_TO = 20_000
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
           "#756bb1", "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8")


def _marker_size(n: int) -> float:
    return 7.0 if n < 2_000 else 4.0 if n < 50_000 else 2.5


def _xy(points: pd.DataFrame) -> dict[str, np.ndarray]:
    """Coordinates and ids as compact numpy arrays (Plotly sends them as typed binary arrays)."""
    return {"x": points["x"].to_numpy(np.float32), "y": points["y"].to_numpy(np.float32),
            "customdata": points["video_id"].to_numpy(np.int32)}


def map_figure(points: pd.DataFrame, color: str, *, categorical: bool, title: str, height: int = 640) -> go.Figure:
    """The scatter of `points` (columns video_id, x, y, name, `color`) coloured by `color`."""
    fig = go.Figure()
    size = _marker_size(len(points))
    names = len(points) <= HOVER_NAMES_UP_TO
    hover = "#%{customdata}" + (" %{text}" if names else "") + "<extra>%{fullData.name}</extra>"
    if categorical:
        values = points[color].astype(str)
        order = values.value_counts().index.tolist()
        keep = set(order[:MAX_CATEGORIES - 1]) if len(order) > MAX_CATEGORIES else set(order)
        values = values.where(values.isin(keep), "other")
        for i, value in enumerate([v for v in order if v in keep] + (["other"] if len(keep) < len(order) else [])):
            part = points[values.to_numpy() == value]
            fig.add_trace(go.Scattergl(
                **_xy(part), mode="markers", name=value, text=part["name"] if names else None, hovertemplate=hover,
                marker={"size": size, "color": PALETTE[i % len(PALETTE)], "opacity": 0.8}))
    else:
        numbers = pd.to_numeric(points[color], errors="coerce")
        fig.add_trace(go.Scattergl(
            **_xy(points), mode="markers", name=title, text=points["name"] if names else None,
            hovertemplate="#%{customdata}" + (" %{text}" if names else "") + "<br>%{marker.color:.3f}<extra></extra>",
            marker={"size": size, "color": numbers.to_numpy(np.float32, na_value=np.nan), "colorscale": "Viridis",
                    "showscale": True, "colorbar": {"title": {"text": title}}, "opacity": 0.8}))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="lasso",
                      legend={"itemsizing": "constant"}, uirevision="map",
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"})
    return fig


def selected_ids(selection: dict | None) -> list[int]:
    """The video ids of a Streamlit plotly selection (its points' customdata), in the order selected, unique."""
    if not selection:
        return []
    seen: dict[int, None] = {}
    for point in selection.get("points", []):
        data = point.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if data is not None:
            seen.setdefault(int(data), None)
    return list(seen)
