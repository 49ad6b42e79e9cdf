"""A player for 6-second clips (st.iframe with our own small JS, app/ui/static/player.html): playback speed
0.25x-4x, loop, frame and half-second steps, and under it one time line of the 12 frame and 6 audio-clip
attributions with the caption's words. Clicking the time line seeks; playing moves its cursor. The media is
streamed by URL from Streamlit's media file manager (`/media/...`, HTTP range requests): the browser copy when
the original does not play in every browser (app.services.proxies), else the original.

The time line comes with the player (`player(..., timeline=)`, Annotate) or from a feed (`timeline_feed`): a fragment
below the player (Video detail's "Why this venue?") reruns alone, and its feed posts the attributions into the
player's page (window.postMessage), so the time line changes without a new document and the video stays loaded.
An iframe, not a v2 component, for the player itself: Chromium creates it as soon as the element arrives, while a
v2 component first loads Streamlit's component chunk and then its own script (~0.4 s later on a fresh visit,
benchmarks/dashboard_browser.py)."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from app.services.explain_view import ExplanationView
from app.services.proxies import Playback

if TYPE_CHECKING:
    from app.services.browse import VideoDetail
from app.ui.components import plain

TEMPLATE = Path(__file__).resolve().parent / "static" / "player.html"
SPEEDS = (0.25, 0.5, 1, 1.5, 2, 3, 4)
SPAN_S = 6.0  # the time line covers the 6 s the model reads
VIDEO_HEIGHT = 300


@dataclass(frozen=True)
class Timeline:
    """What the time line colours: 12 frame attributions (one per 0.5 s), 6 clip attributions (one per second),
    the caption's words with theirs (None: not read by the model), and the venue they explain."""

    frames: list[float] | None = None
    clips: list[float] | None = None
    words: list[tuple[str, float | None]] | None = None
    venue: str | None = None


def timeline_of(explanation: ExplanationView | None) -> Timeline:
    """The time line of an app.services.explain.explain_video result (empty without one)."""
    if explanation is None:
        return Timeline()
    inputs = explanation.inputs
    words = inputs.caption_words
    return Timeline(
        frames=[float(x) for x in inputs.visual] if inputs.visual is not None else None,
        clips=[float(x) for x in inputs.acoustic] if inputs.acoustic is not None else None,
        words=[(str(w), None if s is None else float(s)) for w, s in words] if words else None,
        venue=explanation.target.venue,
    )


MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm",
        ".mkv": "video/webm"}  # what the browser is told; a .mov of H.264 plays as video/mp4


def _script_safe(text: str) -> str:
    """JSON for an inline <script>: every <, > and & as a \\u escape, so no text closes the script or opens an
    HTML comment (`<!--<script>` would otherwise swallow the closing tag and blank the player)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def timeline_payload(timeline: Timeline | None) -> dict[str, Any]:
    """What the player draws of a time line: its values and one line of hint (JSON, written as text)."""
    timeline = timeline or Timeline()
    if timeline.venue:
        hint = (f"Time line: attributions toward {timeline.venue} (red pushed it up, blue down). "
                "Click a moment to seek; keys: space play, , and . frame step, l loop, m sound.")
    else:
        hint = "Click a moment to seek; keys: space play, , and . frame step, l loop, m sound."
    return {"frames": timeline.frames, "clips": timeline.clips,
            "words": [list(w) for w in timeline.words] if timeline.words else None, "hint": hint}


def player_html(src: str, *, fps: float, timeline: Timeline | None = None, loop: bool = True,
                video_height: int = VIDEO_HEIGHT, key: str = "player", video_id: int | None = None) -> str:
    """The player's page for the media at URL `src`: the template with its payload as script-safe JSON. `key` and
    `video_id` name it for a `timeline_feed`."""
    payload = {
        "src": src, "fps": float(fps) if fps and fps > 0 else 30.0, "span": SPAN_S, "speeds": list(SPEEDS),
        "loop": loop, "video_height": int(video_height), "key": key, "video": video_id,
        "timeline": timeline_payload(timeline),
    }
    return TEMPLATE.read_text(encoding="utf-8").replace("__PAYLOAD__", _script_safe(json.dumps(payload)))


FEED_JS = """export default function (component) {
  // {target, video, timeline}: the latest time line for the player keyed `target`, posted into its page
  const { data } = component;
  const store = (window.__easternTimelines = window.__easternTimelines || {});
  store[data.target] = data;
  const post = (m) => document.querySelectorAll(".st-key-" + CSS.escape(m.target) + " iframe").forEach((f) => {
    if (f.contentWindow) f.contentWindow.postMessage({ type: "eastern-timeline", key: m.target, video: m.video,
                                                       timeline: m.timeline }, "*");
  });
  post(data);
  if (!window.__easternTimelineAsk) {  // a player page that loads later asks for the latest
    window.__easternTimelineAsk = true;
    window.addEventListener("message", (e) => {
      const m = e.data;
      if (!m || m.type !== "eastern-timeline-ask") return;
      const last = (window.__easternTimelines || {})[m.key];
      if (last && last.video === m.video) post(last);
    });
  }
}"""


@functools.cache
def _feed() -> Any:
    """The feed's v2 component (script only, draws nothing), registered once per process."""
    return st.components.v2.component("eastern.timeline_feed", js=FEED_JS)


def timeline_feed(timeline: Timeline | None, *, video_id: int, target: str, key: str) -> None:
    """Send `timeline` to the player keyed `target` showing video `video_id` (None: back to the player's own);
    draws nothing."""
    empty = timeline is None or timeline == Timeline()
    _feed()(data={"target": target, "video": video_id, "timeline": None if empty else timeline_payload(timeline)},
            key=key)


def media_url(path: Path, *, key: str) -> str:
    """A URL the browser streams `path` from (Streamlit's media file manager, kept while the page shows it)."""
    from streamlit import runtime

    if not runtime.exists():  # bare mode (no server): nothing to serve from
        return ""
    mime = MIME.get(path.suffix.lower(), "video/mp4")
    return runtime.get_instance().media_file_mgr.add(str(path), mime, f"eastern.player.{key}")


def player(media: Playback | str | Path, *, fps: float, key: str, timeline: Timeline | None = None,
           video_id: int | None = None, caption: str | None = None, video_height: int = VIDEO_HEIGHT) -> None:
    """Draw the player inside a container keyed `key` for a Playback (app.services.proxies.playback) or a
    file path, with one caption line when a browser copy plays or nothing can. `video_id` lets a
    `timeline_feed` for that video colour its time line; `caption`, the words a feed may show under it, sizes the
    player so they fit."""
    playback = media if isinstance(media, Playback) else Playback(Path(media), False, None)
    with st.container(key=key):
        if playback.path is None:
            st.warning(plain(playback.note or "This video cannot be played."), icon=":material/videocam_off:")
            return
        words = " ".join(w for w, _ in timeline.words) if timeline and timeline.words else (caption or "")
        height = video_height + 150 + (28 * (1 + len(words) // 70) if words else 0)
        page = player_html(media_url(Path(playback.path), key=key), fps=fps, timeline=timeline,
                           video_height=video_height, key=key, video_id=video_id)
        st.iframe(page, height=height, alt="video player")
        if playback.note:
            st.caption(plain(playback.note))


def video_media(detail: VideoDetail, *, key: str, timeline: Timeline | None = None) -> None:
    """A video's player (its browser copy when it has one) and the strip of the 12 frames the model reads, or a
    warning when the stored file is missing: what Annotate and "Label new videos" show beside the editor."""
    from app.ui import cache, components, media_figures

    video = detail.video
    if detail.media_file:
        player(detail.playback or detail.media_file, fps=video.fps, key=key, timeline=timeline)
    else:
        st.warning("The stored file of this video is missing.")
    view = components.attempt(cache.media_view, video.sha256, video.path)
    if view is not None:
        st.image(media_figures.frame_strip(view.frames), caption="the 12 frames the model reads (one per 0.5 s)")
