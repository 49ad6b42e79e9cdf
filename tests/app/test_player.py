"""The clip player's data (a Streamlit v2 component): the clip by URL, speeds 0.25x-4x, the time line of 12 frame
and 6 clip attributions with the caption's words, a feed's time line for one player and video, and user text that
stays data (the component writes it with textContent only). tests/e2e/test_browser.py plays it in Chromium."""
from __future__ import annotations

import json
from pathlib import Path

from app.ui import player
from tests.media import write_video


def test_the_data_carries_the_clip_and_its_time_line(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", seconds=2.0)
    timeline = player.Timeline(frames=[0.1 * i - 0.5 for i in range(12)], clips=[0.2, -0.1, 0, 0, 0.3, 0.1],
                               words=[("court", 0.4), ("#fun", None)], venue="College Basketball Court")
    data = player.player_data("/media/abc.mp4", fps=10, key="p", video_id=7, timeline=timeline)
    assert json.loads(json.dumps(data)) == data  # plain JSON: what Streamlit sends to the component
    assert data["src"] == "/media/abc.mp4" and data["key"] == "p" and data["video"] == 7
    assert clip.exists() and "base64" not in json.dumps(data)  # streamed by URL, never inlined
    assert data["speeds"][0] == 0.25 and data["speeds"][-1] == 4 and 2 in data["speeds"]
    line = data["timeline"]
    assert len(line["frames"]) == 12 and len(line["clips"]) == 6
    assert line["words"] == [["court", 0.4], ["#fun", None]]
    assert data["fps"] == 10 and data["span"] == 6.0
    assert "College Basketball Court" in line["hint"]


def test_user_text_stays_text() -> None:
    hostile = '</script><img src=x onerror="alert(1)">'
    data = player.player_data("/media/x.mp4", fps=0, key="p", timeline=player.Timeline(words=[(hostile, 0.1)]))
    assert data["timeline"]["words"] == [[hostile, 0.1]]  # carried as data, verbatim
    assert data["fps"] == 30.0  # an unknown frame rate steps in 1/30 s
    script = (player.STATIC / "player.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "outerHTML" not in script
    assert "span.textContent = word" in script  # the caption's words are written as text
    assert "innerHTML" not in player.FEED_JS


def test_a_feed_carries_a_time_line_for_one_player_and_video() -> None:
    timeline = player.Timeline(frames=[0.5] * 12, venue="Garden")
    payload = player.timeline_payload(timeline)
    assert payload["frames"] == [0.5] * 12 and payload["clips"] is None and "Garden" in payload["hint"]
    assert "Garden" not in player.timeline_payload(None)["hint"]  # no explanation: the plain hint
    script = (player.STATIC / "player.js").read_text(encoding="utf-8")
    # the player takes a feed's time line only for its own key and its own video
    assert "fed.video === state.data.video" in script and "(window[STORE] || {})[state.data.key]" in script


def test_timeline_of_an_explanation() -> None:
    from app.services.explain_view import ExplanationView, InputAttributions, ModelRef, VenueScore

    garden = VenueScore(index=0, venue_id=7, venue="Garden", probability=1.0)
    explanation = ExplanationView(
        format=1, model=ModelRef(1, "m"), video_id=1, predicted=garden, target=garden, probabilities=[garden],
        modalities=["visual"], atoms=None, ablation=[], timings={},
        inputs=InputAttributions(visual=[0.0] * 12, acoustic=None, text=None, tokens=[], caption_words=[], delta=0.0))
    timeline = player.timeline_of(explanation)
    assert timeline.frames == [0.0] * 12 and timeline.clips is None and timeline.words is None
    assert timeline.venue == "Garden" and player.timeline_of(None) == player.Timeline()
