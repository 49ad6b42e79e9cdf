"""The media the model reads, drawn with their attributions: the 12 frames as one strip (PIL), the 6 s of audio as a
spectrogram shaded per one-second clip (Plotly; the waveform is app.ui.charts), and the caption as HTML with each
word shaded. Pure: no Streamlit here."""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from app.ui.figures import NEGATIVE, POSITIVE, fit_layout


def frame_strip(frames: np.ndarray, weights: Sequence[float] | None = None, *, gap: int = 4) -> Image.Image:
    """The 12 sampled frames side by side, with the time under each and, given attributions, a bar
    coloured by sign (red pushed the venue up, blue down) and sized by magnitude."""
    n, h, w = frames.shape[:3]
    bar = 12 if weights is not None else 0
    label = 14
    canvas = Image.new("RGB", (n * w + (n - 1) * gap, h + bar + label + 4), "white")
    draw = ImageDraw.Draw(canvas)
    scale = max((abs(float(x)) for x in weights), default=0.0) if weights is not None else 0.0
    for i in range(n):
        x = i * (w + gap)
        canvas.paste(Image.fromarray(frames[i]), (x, 0))
        if weights is not None and scale > 0:
            value = float(weights[i]) / scale
            color = _heat(value)
            draw.rectangle([x, h + 2, x + max(2, int(abs(value) * (w - 1))), h + 2 + bar - 2], fill=color)
            if abs(value) > 0.6:
                draw.rectangle([x, 0, x + w - 1, h - 1], outline=color, width=3)
        draw.text((x + 2, h + bar + 3), f"{0.5 * i:.1f} s", fill="#333333")
    return canvas


def _heat(value: float) -> tuple[int, int, int]:
    """-1..1 -> blue..white..red."""
    v = max(-1.0, min(1.0, value))
    if v >= 0:
        return (255, int(255 * (1 - v * 0.85)), int(255 * (1 - v * 0.85)))
    return (int(255 * (1 + v * 0.85)), int(255 * (1 + v * 0.6)), 255)


def _clip_shapes(fig: go.Figure, clip_weights: Sequence[float] | None, *, clip_seconds: float = 1.0) -> None:
    if clip_weights is None:
        return
    scale = max((abs(float(x)) for x in clip_weights), default=0.0) or 1.0
    for i, value in enumerate(clip_weights):
        v = float(value) / scale
        color = POSITIVE if v > 0 else NEGATIVE
        fig.add_vrect(x0=i * clip_seconds, x1=(i + 1) * clip_seconds, fillcolor=color, opacity=0.35 * abs(v),
                      line_width=0, annotation_text=f"{value:+.2f}", annotation_position="top left",
                      annotation_font_size=10)


def spectrogram_figure(spec: dict[str, np.ndarray], clip_weights: Sequence[float] | None = None) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=spec["db"], x=spec["times"], y=spec["freqs"], colorscale="Magma",
                               colorbar={"title": "dB"}, hovertemplate="%{x:.2f} s, %{y:.0f} Hz<extra></extra>"))
    _clip_shapes(fig, clip_weights)
    fig.update_xaxes(title="seconds", range=[0, 6])
    fig.update_yaxes(title="Hz")
    return fit_layout(fig, height=240, title="Spectrogram")


def caption_html(words: Sequence[tuple[str, float | None]]) -> str:
    """The caption as written, each word shaded by its attribution (red up, blue down); words the
    model never read (stop words, emoji) in grey."""
    scale = max((abs(w) for _, w in words if w is not None), default=0.0) or 1.0
    parts = []
    for word, weight in words:
        text = html.escape(word)
        if weight is None:
            parts.append(f'<span style="color:#9aa0a6">{text}</span>')
            continue
        r, g, b = _heat(weight / scale)
        parts.append(f'<span title="{weight:+.3f}" style="background:rgb({r},{g},{b});padding:1px 3px;'
                     f'border-radius:3px">{text}</span>')
    return '<div style="line-height:2">' + " ".join(parts) + "</div>"
