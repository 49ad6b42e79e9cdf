"""Pure Plotly builders of the reproduction report's figures that the dashboard draws too (Models page), so both
show the same figure. No app, no Streamlit: arrays and dicts in, a figure out."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

FIGURE6_TITLE = "Figure 6: test Micro-F per epoch (first split)"


def epoch_curves_figure(curves: Mapping[str, Sequence[Mapping[str, Any]]], **layout: Any) -> go.Figure:
    """Figure 6: one line per method of its test Micro-F (in %) after each epoch; a method without points is left
    out. `curves` maps a method name to its points ({"epoch", "micro_f1"}); `layout` (height, template, margin)
    is the caller's page."""
    fig = go.Figure()
    for name, curve in curves.items():
        if curve:
            fig.add_trace(go.Scatter(x=[p["epoch"] for p in curve], y=[100 * p["micro_f1"] for p in curve],
                                     mode="lines+markers", name=name))
    fig.update_layout(title=FIGURE6_TITLE, xaxis_title="epoch", yaxis_title="Micro-F (%)", **layout)
    return fig
