"""The dashboard's pure figure builders (app/ui/figures.py, app/ui/charts.py, app/ui/media_figures.py,
core/figures.py) on small inputs: what each draws (traces, values, colours), in which order, and the axes a reader
sees."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui import charts, figures, media_figures
from core.figures import FIGURE6_TITLE, epoch_curves_figure

GREEN = "#2ca02c"










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


# ---------------------------------------------------------------- Vega-Lite specs (app/ui/charts.py)


def _layer(spec: dict, mark: str) -> dict:
    (layer,) = [la for la in spec["layer"]
                if (la["mark"] if isinstance(la["mark"], str) else la["mark"]["type"]) == mark]
    return layer


def test_top_venues_puts_the_most_likely_on_top_and_marks_the_label() -> None:
    spec = charts.top_venues([("Garden", 0.6), ("Speakeasy", 0.3), ("Beach", 0.1)], label="Speakeasy", title="Top-3")
    rows = spec["data"]["values"]
    bars = _layer(spec, "bar")["encoding"]
    assert bars["y"]["sort"] == ["Garden", "Speakeasy", "Beach"]  # drawn from the top in this order
    assert [r["value"] for r in rows] == [0.6, 0.3, 0.1] and [r["text"] for r in rows] == ["60%", "30%", "10%"]
    assert [r["color"] for r in rows] == [charts.BLUE, GREEN, charts.BLUE] and bars["color"]["scale"] is None
    assert bars["x"]["scale"]["domain"] == [0, pytest.approx(0.69)] and bars["x"]["axis"]["format"] == ".0%"
    assert spec["title"]["text"] == "Top-3" and spec["height"] == 80 + 26 * 3


def test_ablation_bars_agreeing_with_the_full_model_are_green() -> None:
    from app.services.explain_view import AblationRow

    rows = [AblationRow("V", ["visual"], "Garden", 1, 0.5, []), AblationRow("A", ["acoustic"], "Beach", 2, 0.25, []),
            AblationRow("V+A", ["visual", "acoustic"], "Garden", 1, 0.75, [])]
    spec = charts.ablation(rows, full_prediction="Garden")
    values = spec["data"]["values"]
    assert _layer(spec, "bar")["encoding"]["y"]["sort"] == ["V", "A", "V+A"]
    assert [v["text"] for v in values] == ["Garden (50%)", "Beach (25%)", "Garden (75%)"]
    assert [v["color"] for v in values] == [GREEN, figures.NEUTRAL, GREEN]


def test_atom_heatmap_names_the_modalities_and_reads_from_the_top() -> None:
    codes = np.array([[0.0, 0.5, 0.1], [0.2, 0.0, 0.0]])
    spec = charts.atom_heatmap(codes, ["visual", "textual"])
    cells = {(v["modality"], v["atom"]): v["code"] for v in spec["data"]["values"]}
    assert cells == {("visual (frames)", 0): 0.0, ("visual (frames)", 1): 0.5, ("visual (frames)", 2): 0.1,
                     ("textual (caption)", 0): 0.2, ("textual (caption)", 1): 0.0, ("textual (caption)", 2): 0.0}
    assert spec["encoding"]["y"]["sort"] == ["visual (frames)", "textual (caption)"]  # visual on top, as the paper
    assert spec["encoding"]["x"]["axis"]["title"] == "dictionary atom" and spec["mark"] == "rect"


def test_contributions_keep_the_strongest_nonzero_atoms_by_sign() -> None:
    pushes = np.array([[0.5, 0.0, -0.1], [0.0, -0.9, 0.05]])
    spec = charts.contributions(pushes, ["visual", "acoustic"], venue="Garden", top=3)
    rows = spec["data"]["values"]
    # the three largest by magnitude, the most positive on top; zero pushes never drawn
    assert [r["name"] for r in rows] == ["V atom 0", "V atom 2", "A atom 1"]
    assert [r["value"] for r in rows] == [0.5, -0.1, -0.9]
    assert [r["color"] for r in rows] == [figures.POSITIVE, figures.NEGATIVE, figures.NEGATIVE]
    bars = _layer(spec, "bar")["encoding"]
    assert bars["y"]["sort"] == ["V atom 0", "V atom 2", "A atom 1"]
    assert bars["x"]["axis"]["title"] == "contribution to the score of Garden"


def test_waveform_shades_each_clip_by_its_attribution() -> None:
    wave = {"t": np.linspace(0, 6, 7), "high": np.full(7, 0.5), "low": np.full(7, -0.5)}
    spec = charts.waveform(wave, [0.4, -0.2, 0, 0, 0, 0.1])
    area = _layer(spec, "area")
    assert area["encoding"]["y"]["field"] == "low" and area["encoding"]["y2"]["field"] == "high"
    assert [p["t"] for p in spec["data"]["values"]] == [0, 1, 2, 3, 4, 5, 6]
    clips = _layer(spec, "rect")["data"]["values"]
    assert [(c["start"], c["end"]) for c in clips] == [(i, i + 1) for i in range(6)]
    assert clips[0]["color"] == figures.POSITIVE and clips[1]["color"] == figures.NEGATIVE
    assert clips[0]["opacity"] == pytest.approx(0.35) and clips[1]["opacity"] == pytest.approx(0.175)
    assert [c["label"] for c in clips][:2] == ["+0.40", "-0.20"]
    assert area["encoding"]["x"]["axis"]["title"] == "seconds" and area["encoding"]["x"]["scale"]["domain"] == [0, 6]
    plain = charts.waveform(wave)  # no attribution, no shading
    assert [la["mark"]["type"] for la in plain["layer"]] == ["area"]


def test_every_spec_is_valid_vega_lite_json() -> None:
    """Each spec survives a JSON round trip (what Streamlit sends) and names only fields its data has."""
    import json

    from app.services.explain_view import AblationRow

    specs = [charts.top_venues([("Garden", 0.6)]), charts.ablation([AblationRow("V", ["visual"], "Garden", 1, 0.5, [])],
                                                                      full_prediction="Garden"),
             charts.atom_heatmap(np.ones((3, 100)), ["visual", "acoustic", "textual"]),
             charts.contributions(np.ones((3, 4)), ["visual", "acoustic", "textual"], venue="Garden"),
             charts.waveform({"t": np.arange(3.0), "low": -np.ones(3), "high": np.ones(3)}, [0.1] * 6)]
    for spec in specs:
        assert json.loads(json.dumps(spec)) == spec
        for layer in spec.get("layer", [spec]):
            values = (layer.get("data") or spec["data"])["values"]
            for channel in layer["encoding"].values():
                for enc in channel if isinstance(channel, list) else [channel]:
                    if "field" in enc:
                        assert all(enc["field"] in v for v in values), (enc, values[:1])
