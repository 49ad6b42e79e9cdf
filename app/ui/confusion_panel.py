"""The confusion matrix as the Models page draws it: order (frequency or the Foursquare tree, the same on both
axes), raw counts or row shares, a window of MATRIX_WINDOW venues at a time for a large matrix (188 venues), and
the clicked cell."""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app.ui import figures


def confusion_section(confusion: Sequence[Sequence[int]], names: Sequence[str], *, key: str) -> tuple[int, int] | None:
    """Draw the controls and the matrix full width; return the clicked cell (label index, predicted index)."""
    c1, c2, c3 = st.columns([3, 2, 3])
    by = c1.segmented_control("Order (both axes)", list(figures.ORDERS), format_func=figures.ORDERS.get,
                              default="frequency", required=True, key=f"{key}_order")
    values = c2.segmented_control("Cells", ["videos", "share of row"], default="videos", required=True,
                                  key=f"{key}_values")
    order = figures.confusion_order(confusion, names, by=by or "frequency")
    parts = figures.windows(order)
    shown = parts[0]
    if len(parts) > 1:
        spans = [f"{s * figures.MATRIX_WINDOW + 1}-{s * figures.MATRIX_WINDOW + len(p)}" for s, p in enumerate(parts)]
        pick = c3.select_slider(f"Venues shown ({len(names)} in all, {figures.MATRIX_WINDOW} at a time)", spans,
                                key=f"{key}_window")
        shown = parts[spans.index(pick)]
        c3.caption(f"{names[shown[0]]} … {names[shown[-1]]}. Mistakes outside the window are listed in the table "
                   "below.")
    fig = figures.confusion_figure(confusion, names, indices=shown, normalised=values == "share of row")
    event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points", width="content",
                            config={"displaylogo": False})
    points = event.selection.get("points", []) if event else []
    if not points:
        return None
    point = points[0]
    if point.get("customdata") is not None:
        return int(point["customdata"][0]), int(point["customdata"][1])
    if point.get("y") in names and point.get("x") in names:
        return list(names).index(point["y"]), list(names).index(point["x"])
    return None
