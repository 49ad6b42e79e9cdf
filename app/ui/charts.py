"""Vega-Lite specs (drawn with `st.vega_lite_chart`) for what a person opens from a card: Video detail's top-5,
modality ablation and waveform, and "Why this venue?"'s atom activations and atom pushes (also on the Case study
and Upload). Pure: no Streamlit here.

Why not Plotly for these: Streamlit loads a chart library's bundle the first time a page draws one of its charts,
and Plotly's is 4.7 MB: parsing it blocked Chromium's main thread for ~0.9 s on every fresh visit to Video detail
(benchmarks/dashboard_browser.py, `video_why_s`). Vega-Lite's is a sixth of that. The pages that stay on Plotly
(Models, Atom explorer, Map, the spectrogram on request) are opened less often and draw larger figures.

Every spec carries its data inline (`data.values`), so a test reads what is drawn from the dict alone; text in a
chart (venue names) is drawn by Vega on a canvas, never parsed as HTML."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from app.ui.figures import MODALITY_LABELS, NEGATIVE, NEUTRAL, POSITIVE

if TYPE_CHECKING:
    from app.services.explain_view import AblationRow

GREEN = "#2ca02c"
BLUE = "#1f6feb"
Spec = dict[str, Any]


def _chart(title: str, height: int | dict[str, int], values: list[dict[str, Any]], **spec: Any) -> Spec:
    """A spec with the dashboard's compact defaults: a title, a fixed height (or {"step": px}: one row of a discrete
    axis), the data inline."""
    return {"title": {"text": title, "anchor": "start", "fontSize": 13}, "height": height,
            "data": {"values": values}, **spec}


def _bars(title: str, rows: list[dict[str, Any]], *, x_title: str | None, x_domain: list[float] | None,
          x_format: str, label: str, height_per_bar: int) -> Spec:
    """Horizontal bars in the given order from the top, coloured by each row's `color`, with `text` beside each bar
    and `tip` as the tooltip."""
    order = [r["name"] for r in rows]
    x: dict[str, Any] = {"field": "value", "type": "quantitative", "axis": {"format": x_format, "title": x_title}}
    if x_domain is not None:
        x["scale"] = {"domain": x_domain}
    y_axis = {"title": None, "labelLimit": 220, "labelOverlap": False}  # every bar named, however many
    encoding = {"y": {"field": "name", "type": "nominal", "sort": order, "axis": y_axis},
                "x": x, "color": {"field": "color", "type": "nominal", "scale": None, "legend": None},
                "tooltip": [{"field": "tip", "type": "nominal", "title": label}]}
    return _chart(title, 80 + height_per_bar * max(len(rows), 1), rows, layer=[  # title and axis: ~80 px
        {"mark": {"type": "bar", "cornerRadiusEnd": 2}, "encoding": encoding},
        {"mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 11},
         "encoding": {"y": encoding["y"], "x": x, "text": {"field": "text"}}},
    ])


def top_venues(top: Sequence[tuple[str, float]], *, label: str | None = None, title: str = "Top-5 venues") -> Spec:
    """The model's most likely venues from the top; the video's current label in green."""
    rows = [{"name": v, "value": float(p), "text": f"{p:.0%}", "tip": f"{v}: {p:.1%}",
             "color": GREEN if v == label else BLUE} for v, p in top]
    peak = max([0.2, *(r["value"] for r in rows)])
    return _bars(title, rows, x_title=None, x_domain=[0, min(1.0, peak * 1.15)], x_format=".0%", label="venue",
                 height_per_bar=26)


def ablation(rows: Sequence[AblationRow], *, full_prediction: str | None) -> Spec:
    """One bar per modality subset: its predicted venue and probability; green where it agrees with the full
    model, grey elsewhere."""
    values = [{"name": r.subset, "value": float(r.probability), "text": f"{r.venue} ({r.probability:.0%})",
               "tip": f"{r.subset}: {r.venue} ({r.probability:.1%})",
               "color": GREEN if r.venue == full_prediction else NEUTRAL} for r in rows]
    return _bars("Prediction from each modality and pair", values, x_title=None, x_domain=[0, 1], x_format=".0%",
                 label="subset", height_per_bar=22)


def atom_heatmap(activations: np.ndarray, modalities: Sequence[str]) -> Spec:
    """The sparse codes: one cell per (modality, atom), visual first from the top as in the paper."""
    names = [MODALITY_LABELS.get(m, m) for m in modalities]
    values = [{"atom": k, "modality": names[m], "code": float(activations[m, k])}
              for m in range(activations.shape[0]) for k in range(activations.shape[1])]
    return _chart("Atom activations (sparse codes)", {"step": 24}, values, mark="rect", encoding={
        "x": {"field": "atom", "type": "ordinal", "axis": {"title": "dictionary atom", "labelAngle": 0,
                                                           "values": list(range(0, activations.shape[1], 10))}},
        "y": {"field": "modality", "type": "nominal", "sort": names, "axis": {"title": None}},
        "color": {"field": "code", "type": "quantitative", "scale": {"scheme": "blues"},
                  "legend": {"title": "code", "gradientLength": 60}},
        "tooltip": [{"field": "atom", "type": "ordinal"}, {"field": "modality", "type": "nominal"},
                    {"field": "code", "type": "quantitative", "format": ".3f"}],
    })


def contributions(pushes: np.ndarray, modalities: Sequence[str], *, venue: str, top: int = 12) -> Spec:
    """The atoms that pushed the venue's score up (red) or down (blue) most: the `top` largest nonzero pushes by
    magnitude, the most positive on top."""
    flat = [(float(pushes[m, k]), f"{modalities[m][0].upper()} atom {k}")
            for m in range(pushes.shape[0]) for k in range(pushes.shape[1]) if pushes[m, k] != 0]
    flat.sort(key=lambda t: abs(t[0]), reverse=True)
    chosen = sorted(flat[:top], key=lambda t: t[0], reverse=True)
    rows = [{"name": n, "value": v, "text": f"{v:+.3f}", "tip": f"{n}: {v:+.3f}",
             "color": POSITIVE if v > 0 else NEGATIVE} for v, n in chosen]
    spec = _bars(f"Atoms that pushed {venue} up (red) or down", rows, x_title=f"contribution to the score of {venue}",
                 x_domain=None, x_format="+.2~g", label="atom", height_per_bar=22)
    spec["layer"] = spec["layer"][:1]  # the axis says the value; a label beside a negative bar would cross it
    return spec


def waveform(wave: dict[str, np.ndarray], clip_weights: Sequence[float] | None = None, *,
             clip_seconds: float = 1.0) -> Spec:
    """The audio's min/max envelope over the 6 s; given the 6 clip attributions, each one-second clip shaded red
    (pushed the venue up) or blue, as strongly as its share of the largest, with its value on top."""
    t, low, high = (np.asarray(wave[k], dtype=float) for k in ("t", "low", "high"))
    points = [{"t": round(float(a), 4), "low": round(float(b), 4), "high": round(float(c), 4)}
              for a, b, c in zip(t, low, high, strict=True)]
    x = {"field": "t", "type": "quantitative", "scale": {"domain": [0, 6]},
         "axis": {"title": "seconds", "values": [0, 1, 2, 3, 4, 5, 6]}}
    layers: list[Spec] = []
    if clip_weights is not None:
        scale = max((abs(float(w)) for w in clip_weights), default=0.0) or 1.0
        clips = [{"start": i * clip_seconds, "end": (i + 1) * clip_seconds, "weight": float(w),
                  "label": f"{float(w):+.2f}", "color": POSITIVE if float(w) > 0 else NEGATIVE,
                  "opacity": round(0.35 * abs(float(w)) / scale, 4)} for i, w in enumerate(clip_weights)]
        clip_x = {"field": "start", "type": "quantitative", "scale": {"domain": [0, 6]}}
        layers += [
            {"data": {"values": clips}, "mark": "rect", "encoding": {
                "x": clip_x, "x2": {"field": "end"}, "color": {"field": "color", "type": "nominal", "scale": None},
                "opacity": {"field": "opacity", "type": "quantitative", "scale": None},
                "tooltip": [{"field": "label", "type": "nominal", "title": "clip attribution"}]}},
            {"data": {"values": clips}, "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3,
                                                 "dy": 3, "fontSize": 10},
             "encoding": {"x": clip_x, "y": {"value": 0}, "text": {"field": "label"}}},
        ]
    layers.append({"mark": {"type": "area", "color": "#3c3c3c", "opacity": 0.6, "line": {"color": "#555",
                                                                                      "strokeWidth": 0.5}},
                   "encoding": {"x": x, "y": {"field": "low", "type": "quantitative",
                                              "scale": {"domain": [-1, 1]}, "axis": None},
                                "y2": {"field": "high"}}})
    return _chart("Waveform (the 6 one-second clips the model reads)", 200, points, layer=layers)
