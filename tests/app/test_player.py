"""The clip player's page: the clip by URL, speeds 0.25x-4x, the time line of 12 frame and 6 clip
attributions with the caption's words, and user text that cannot close the script it travels in."""
from __future__ import annotations

import json
import re
from pathlib import Path

from app.ui import player
from tests.media import write_video


def _payload(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="payload">(.*?)</script>', page, re.S)
    assert found, "no payload"
    return json.loads(found.group(1))


def test_the_page_carries_the_clip_and_its_time_line(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mp4", seconds=2.0)
    timeline = player.Timeline(frames=[0.1 * i - 0.5 for i in range(12)], clips=[0.2, -0.1, 0, 0, 0.3, 0.1],
                               words=[("court", 0.4), ("#fun", None)], venue="College Basketball Court")
    page = player.player_html("/media/abc.mp4", fps=10, timeline=timeline, key="p", video_id=7)
    data = _payload(page)
    assert data["src"] == "/media/abc.mp4" and data["key"] == "p" and data["video"] == 7
    assert clip.exists() and "base64" not in page  # streamed by URL, never inlined
    assert data["speeds"][0] == 0.25 and data["speeds"][-1] == 4 and 2 in data["speeds"]
    line = data["timeline"]
    assert len(line["frames"]) == 12 and len(line["clips"]) == 6
    assert line["words"] == [["court", 0.4], ["#fun", None]]
    assert data["fps"] == 10 and data["span"] == 6.0
    assert "College Basketball Court" in line["hint"]


def test_user_text_stays_text(tmp_path: Path) -> None:
    hostile = '</script><img src=x onerror="alert(1)">'
    page = player.player_html("/media/x.mp4", fps=0, timeline=player.Timeline(words=[(hostile, 0.1)]))
    assert hostile not in page  # "<" is escaped inside the JSON, so the script cannot be closed early
    assert _payload(page)["timeline"]["words"] == [[hostile, 0.1]]
    assert _payload(page)["fps"] == 30.0  # an unknown frame rate steps in 1/30 s
    assert "innerHTML" not in page  # the template writes user text with textContent only


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


def test_a_comment_opener_cannot_blank_the_player() -> None:
    hostile = "<!--<script>"
    page = player.player_html("/media/x.mp4", fps=25, timeline=player.Timeline(words=[(hostile, 0.2)]))
    payload_part = page.split('id="payload">', 1)[1].split("</script>", 1)[0]
    assert "<" not in payload_part and ">" not in payload_part  # nothing in the JSON opens a comment or a tag
    assert _payload(page)["timeline"]["words"] == [[hostile, 0.2]]


def test_a_feed_carries_a_time_line_for_one_player_and_video() -> None:
    """Video detail's "Why this venue?" fragment feeds the player above it: the page takes a fed time line only from
    its parent page, for its own key and video, and draws it with textContent like its own."""
    payload = player.timeline_payload(player.Timeline(frames=[0.5] * 12, venue="Garden"))
    assert payload["frames"] == [0.5] * 12 and payload["clips"] is None and "Garden" in payload["hint"]
    assert "Garden" not in player.timeline_payload(None)["hint"]  # no explanation: the plain hint
    page = player.player_html("/media/x.mp4", fps=25, key="video_player", video_id=3)
    assert "e.source !== window.parent" in page
    assert "msg.key !== data.key" in page and "msg.video !== data.video" in page
    assert "innerHTML" not in page and "innerHTML" not in player.FEED_JS
    # the feed posts into the iframes of the player's container, and answers a player page that asks after loading
    assert '".st-key-" + CSS.escape(m.target) + " iframe"' in player.FEED_JS and "eastern-timeline-ask" in page
