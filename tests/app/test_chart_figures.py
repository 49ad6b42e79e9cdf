"""The dashboard's pure figure builders (app/ui/figures.py, app/ui/media_figures.py, core/figures.py) on small
inputs: what each draws (traces, values, colours), in which order, and the axes a reader sees."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui import figures, media_figures
from core.figures import FIGURE6_TITLE, epoch_curves_figure

GREEN = "#2ca02c"


def test_top_venues_puts_the_most_likely_on_top_and_marks_the_label() -> None:
    top = [("Garden", 0.6), ("Speakeasy", 0.3), ("Beach", 0.1)]
    fig = figures.top_venues_figure(top, label="Speakeasy", title="Top-3")
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.y) == ["Beach", "Speakeasy", "Garden"]  # a horizontal bar chart draws the last bar on top
    assert list(bar.x) == [0.1, 0.3, 0.6]
    assert list(bar.text) == ["10%", "30%", "60%"]
    assert list(bar.marker.color) == ["#1f6feb", GREEN, "#1f6feb"]
    assert fig.layout.xaxis.range == (0, pytest.approx(0.69)) and fig.layout.xaxis.tickformat == ".0%"
    assert fig.layout.title.text == "Top-3" and fig.layout.height == 60 + 36 * 3


def test_ablation_bars_agreeing_with_the_full_model_are_green() -> None:
    from app.services.explain_view import AblationRow

    rows = [AblationRow("V", ["visual"], "Garden", 1, 0.5, []), AblationRow("A", ["acoustic"], "Beach", 2, 0.25, []),
            AblationRow("V+A", ["visual", "acoustic"], "Garden", 1, 0.75, [])]
    (bar,) = figures.ablation_figure(rows, full_prediction="Garden").data
    assert list(bar.y) == ["V+A", "A", "V"]
    assert list(bar.text) == ["Garden (75%)", "Beach (25%)", "Garden (50%)"]
    assert list(bar.marker.color) == [GREEN, figures.NEUTRAL, GREEN]


def test_atom_heatmap_names_the_modalities_and_reads_from_the_top() -> None:
    codes = np.array([[0.0, 0.5, 0.1], [0.2, 0.0, 0.0]])
    fig = figures.atom_heatmap(codes, ["visual", "textual"])
    (heat,) = fig.data
    assert np.array_equal(np.asarray(heat.z), codes)
    assert list(heat.y) == ["visual (frames)", "textual (caption)"] and list(heat.x) == [0, 1, 2]
    assert fig.layout.xaxis.title.text == "dictionary atom" and fig.layout.yaxis.autorange == "reversed"


def test_contributions_keep_the_strongest_nonzero_atoms_by_sign() -> None:
    pushes = np.array([[0.5, 0.0, -0.1], [0.0, -0.9, 0.05]])
    fig = figures.contribution_figure(pushes, ["visual", "acoustic"], venue="Garden", top=3)
    (bar,) = fig.data
    # the three largest by magnitude, the most negative first; zero pushes never drawn
    assert list(bar.y) == ["A atom 1", "V atom 2", "V atom 0"]
    assert list(bar.x) == [-0.9, -0.1, 0.5]
    assert list(bar.marker.color) == [figures.NEGATIVE, figures.NEGATIVE, figures.POSITIVE]
    assert fig.layout.xaxis.title.text == "contribution to the score of Garden"


def test_per_class_f1_leaves_out_venues_without_test_videos() -> None:
    from app.services.models import ClassScore

    per_class = [ClassScore("Garden", 0.9, 0.7, 0.8, 5), ClassScore("Beach", None, None, None, 2),
                 ClassScore("Speakeasy", None, None, None, 0)]
    fig = figures.per_class_figure(per_class)
    (bar,) = fig.data
    assert list(bar.y) == ["Beach", "Garden"] and list(bar.x) == [0.0, 0.8]
    assert list(bar.customdata) == [2, 5]
    assert fig.layout.title.text == "Per-class F1 (1 venues without test videos left out)"
    assert fig.layout.xaxis.range == (0, 1) and fig.layout.xaxis.title.text == "F1 on the held-out test split"
    assert figures.per_class_figure(per_class[:2]).layout.title.text == "Per-class F1"


def test_delta_bars_are_green_where_the_second_version_is_better() -> None:
    deltas = [{"venue": "Garden", "delta": 0.2}, {"venue": "Beach", "delta": -0.1}]
    fig = figures.delta_figure(deltas, "#1", "#2")
    (bar,) = fig.data
    assert list(bar.y) == ["Beach", "Garden"] and list(bar.marker.color) == [figures.POSITIVE, GREEN]
    assert fig.layout.xaxis.title.text == "F1 of #2 minus F1 of #1"


def test_training_curve_has_loss_and_validation_macro_f_on_two_axes() -> None:
    history = [{"epoch": 1, "train_loss": 2.0, "val_macro_f1": 0.1}, {"epoch": 2, "train_loss": 1.5,
                                                                      "val_macro_f1": 0.3}]
    fig = figures.curve_figure(history, title="Job 7")
    loss, macro = fig.data
    assert (loss.name, list(loss.x), list(loss.y), loss.yaxis) == ("training loss", [1, 2], [2.0, 1.5], "y")
    assert (macro.name, list(macro.y), macro.yaxis) == ("validation Macro-F", [0.1, 0.3], "y2")
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.yaxis2.title.text == "Macro-F"
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.range == (0, 1)
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.title.text == "Job 7"


def test_support_keeps_the_given_order_from_the_top() -> None:
    (bar,) = figures.support_figure([("Garden", 0.4), ("Beach", -0.2)], title="Atom 3").data
    assert list(bar.y) == ["Beach", "Garden"] and list(bar.marker.color) == [figures.NEGATIVE, figures.POSITIVE]


def test_atom_overview_draws_one_square_per_atom_and_outlines_the_selected_one() -> None:
    share = np.array([[0.0, 0.5, 1.0], [0.25, 0.0, 0.75]])
    mean = np.arange(6, dtype=float).reshape(2, 3)
    fig = figures.atom_overview_figure(share, mean, ["visual", "acoustic"], selected=1)
    (dots,) = fig.data
    assert list(dots.x) == [0, 1, 2, 0, 1, 2]
    assert list(dots.y) == ["visual (frames)"] * 3 + ["acoustic (sound)"] * 3
    assert list(dots.marker.color) == [0.0, 0.5, 1.0, 0.25, 0.0, 0.75] and dots.marker.symbol == "square"
    assert list(dots.marker.line.width) == [0.5, 2, 0.5, 0.5, 2, 0.5]
    assert [row[1] for row in dots.customdata] == [0, 1, 2, 3, 4, 5]
    assert list(fig.layout.yaxis.categoryarray) == ["acoustic (sound)", "visual (frames)"]


def test_waveform_shades_each_clip_by_its_attribution() -> None:
    wave = {"t": np.linspace(0, 6, 7), "high": np.full(7, 0.5), "low": np.full(7, -0.5)}
    fig = media_figures.waveform_figure(wave, [0.4, -0.2, 0, 0, 0, 0.1])
    assert len(fig.data) == 2 and fig.data[1].fill == "tonexty"
    shapes = fig.layout.shapes
    assert [(s.x0, s.x1) for s in shapes] == [(i, i + 1) for i in range(6)]
    assert shapes[0].fillcolor == figures.POSITIVE and shapes[1].fillcolor == figures.NEGATIVE
    assert shapes[0].opacity == pytest.approx(0.35) and shapes[1].opacity == pytest.approx(0.175)
    assert [a.text for a in fig.layout.annotations][:2] == ["+0.40", "-0.20"]
    assert fig.layout.xaxis.title.text == "seconds" and fig.layout.xaxis.range == (0, 6)
    assert not media_figures.waveform_figure(wave).layout.shapes  # no attribution, no shading


def test_spectrogram_plots_decibels_over_time_and_frequency() -> None:
    spec = {"db": np.zeros((3, 4)), "times": np.arange(4) * 1.5, "freqs": np.array([0.0, 1000.0, 2000.0])}
    fig = media_figures.spectrogram_figure(spec)
    (heat,) = fig.data
    assert np.asarray(heat.z).shape == (3, 4) and list(heat.y) == [0.0, 1000.0, 2000.0]
    assert fig.layout.xaxis.title.text == "seconds" and fig.layout.yaxis.title.text == "Hz"
    assert heat.colorbar.title.text == "dB"


def test_frame_strip_lays_frames_side_by_side_with_attribution_bars() -> None:
    frames = np.zeros((3, 10, 8, 3), dtype=np.uint8)
    plain = media_figures.frame_strip(frames, gap=4)
    assert plain.size == (3 * 8 + 2 * 4, 10 + 14 + 4)
    strip = media_figures.frame_strip(frames, [1.0, -1.0, 0.0], gap=4)
    assert strip.size == (3 * 8 + 2 * 4, 10 + 12 + 14 + 4)
    bar_y = 10 + 4
    assert strip.getpixel((1, bar_y)) == (255, 38, 38)  # frame 0 pushed the venue up: red bar
    assert strip.getpixel((12 + 1, bar_y)) == (38, 102, 255)  # frame 1 pushed it down: blue bar
    assert strip.getpixel((0, 0)) == (255, 38, 38)  # a strong frame is outlined too


def test_caption_html_escapes_the_caption_and_greys_unread_words() -> None:
    out = media_figures.caption_html([("<b>court</b>", 0.5), ("the", None), ("&", -0.25)])
    assert "<b>" not in out and "&lt;b&gt;court&lt;/b&gt;" in out  # a caption is user text: never HTML
    assert '<span style="color:#9aa0a6">the</span>' in out
    assert 'title="+0.500"' in out and 'title="-0.250"' in out and "&amp;" in out


def test_figure6_draws_one_percent_line_per_method_with_points() -> None:
    curves = {"EASTERN": [{"epoch": 1, "micro_f1": 0.4}, {"epoch": 2, "micro_f1": 0.5}],
              "LSTMs": [{"epoch": 1, "micro_f1": 0.3}], "CONV": []}
    fig = epoch_curves_figure(curves, height=360)
    assert [t.name for t in fig.data] == ["EASTERN", "LSTMs"]  # a method without points is left out
    assert list(fig.data[0].x) == [1, 2] and list(fig.data[0].y) == pytest.approx([40.0, 50.0])
    assert fig.data[0].mode == "lines+markers"
    assert fig.layout.title.text == FIGURE6_TITLE == "Figure 6: test Micro-F per epoch (first split)"
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.yaxis.title.text == "Micro-F (%)"
    assert fig.layout.height == 360
