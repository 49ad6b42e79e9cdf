"""A player for 6-second clips (a Streamlit v2 component with our own small JS, app/ui/static/player.{html,css,js},
mounted in the page itself): playback speed 0.25x-4x, loop, frame and half-second steps, and under it one time line
of the 12 frame and 6 audio-clip attributions with the caption's words. Clicking the time line seeks; playing moves
its cursor. The media is streamed by URL from Streamlit's media file manager (`/media/...`, HTTP range requests): the
browser copy when the original does not play in every browser (app.services.proxies), else the original.

A rerun with a new time line redraws it and keeps the video loaded (an iframe would load a new document and the
video again). The time line comes with the player (`player(..., timeline=)`, Annotate) or from a feed
(`timeline_feed`), which a fragment below the player can draw: Video detail's "Why this venue?" reruns alone and
still colours the player's time line.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from app.services.explain_view import ExplanationView
from app.services.proxies import Playback

if TYPE_CHECKING:
    from app.services.browse import VideoDetail
from app.ui.components import plain

STATIC = Path(__file__).resolve().parent / "static"
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


def timeline_payload(timeline: Timeline | None) -> dict[str, Any]:
    """What the component draws of a time line: its values and one line of hint (plain JSON, written as text)."""
    timeline = timeline or Timeline()
    if timeline.venue:
        hint = (f"Time line: attributions toward {timeline.venue} (red pushed it up, blue down). "
                "Click a moment to seek; keys (click the player first): space play, , and . frame step, l loop, "
                "m sound.")
    else:
        hint = "Click a moment to seek; keys (click the player first): space play, , and . frame step, l loop, m sound."
    return {"frames": timeline.frames, "clips": timeline.clips,
            "words": [list(w) for w in timeline.words] if timeline.words else None, "hint": hint}


def player_data(src: str, *, fps: float, key: str, video_id: int | None = None, timeline: Timeline | None = None,
                loop: bool = True, video_height: int = VIDEO_HEIGHT) -> dict[str, Any]:
    """The component's data for the media at URL `src`: plain JSON, never HTML (the JS writes text with
    textContent only)."""
    return {"src": src, "fps": float(fps) if fps and fps > 0 else 30.0, "span": SPAN_S, "speeds": list(SPEEDS),
            "loop": loop, "video_height": int(video_height), "key": key, "video": video_id,
            "timeline": timeline_payload(timeline)}


@functools.cache
def _component(name: str) -> Any:
    """The registered v2 component `name` ("player" or "feed"), registered once per process."""
    if name == "player":
        text = {part: (STATIC / f"player.{part}").read_text(encoding="utf-8") for part in ("html", "css", "js")}
        return st.components.v2.component("eastern.player", **text)
    return st.components.v2.component("eastern.timeline_feed", js=FEED_JS)


FEED_JS = """export default function (component) {
  const { data } = component;  // {target, video, timeline}: the latest time line for the player keyed `target`
  const store = (window.__easternTimelines = window.__easternTimelines || {});
  store[data.target] = data;
  window.dispatchEvent(new CustomEvent("eastern-timeline", { detail: data.target }));
}"""


def timeline_feed(timeline: Timeline | None, *, video_id: int, target: str, key: str) -> None:
    """Send `timeline` to the player keyed `target` showing video `video_id` (None clears what an earlier feed sent);
    draws nothing."""
    _component("feed")(data={"target": target, "video": video_id,
                             "timeline": timeline_payload(timeline) if timeline else None},
                       key=key)


def media_url(path: Path, *, key: str) -> str:
    """A URL the browser streams `path` from (Streamlit's media file manager, kept while the page shows it)."""
    from streamlit import runtime

    if not runtime.exists():  # bare mode (no server): nothing to serve from
        return ""
    mime = MIME.get(path.suffix.lower(), "video/mp4")
    return runtime.get_instance().media_file_mgr.add(str(path), mime, f"eastern.player.{key}")


def player(media: Playback | str | Path, *, fps: float, key: str, timeline: Timeline | None = None,
           video_id: int | None = None, video_height: int = VIDEO_HEIGHT) -> None:
    """Draw the player inside a container keyed `key` for a Playback (app.services.proxies.playback) or a
    file path, with one caption line when a browser copy plays or nothing can. `video_id` lets a
    `timeline_feed` for that video colour its time line."""
    playback = media if isinstance(media, Playback) else Playback(Path(media), False, None)
    with st.container(key=key):
        if playback.path is None:
            st.warning(plain(playback.note or "This video cannot be played."), icon=":material/videocam_off:")
            return
        data = player_data(media_url(Path(playback.path), key=key), fps=fps, key=key, video_id=video_id,
                           timeline=timeline, video_height=video_height)
        _component("player")(data=data, key=f"{key}_component")
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
