"""A player for 6-second clips (Streamlit's components API with our own small JS, app/ui/static/player.html):
playback speed 0.25x-4x, loop, frame and half-second steps, and under it one time line of the 12 frame and 6
audio-clip attributions with the caption's words. Clicking the time line seeks; playing moves its cursor. The
media travels inside the page as a data URL (clips are small), so nothing is fetched or downloaded at run time."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as st_components

from app.services.explain_view import ExplanationView

TEMPLATE = Path(__file__).resolve().parent / "static" / "player.html"
SPEEDS = (0.25, 0.5, 1, 1.5, 2, 3, 4)
SPAN_S = 6.0  # the time line covers the 6 s the model reads
MAX_INLINE_BYTES = 20 * 1024 * 1024  # larger files fall back to st.video
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


def player_html(media: bytes, *, fps: float, timeline: Timeline | None = None, loop: bool = True,
                video_height: int = VIDEO_HEIGHT, mime: str = "video/mp4") -> str:
    """The player's page: the template with its payload as JSON (`</` escaped, so no text closes the script)."""
    timeline = timeline or Timeline()
    if timeline.venue:
        hint = (f"Time line: attributions toward {timeline.venue} (red pushed it up, blue down). "
                "Click a moment to seek; keys: space play, , and . frame step, l loop, m sound.")
    else:
        hint = "Click a moment to seek; keys: space play, , and . frame step, l loop, m sound."
    payload = {
        "src": f"data:{mime};base64,{base64.b64encode(media).decode('ascii')}",
        "fps": float(fps) if fps and fps > 0 else 30.0, "span": SPAN_S, "speeds": list(SPEEDS), "loop": loop,
        "video_height": int(video_height), "frames": timeline.frames, "clips": timeline.clips,
        "words": [list(w) for w in timeline.words] if timeline.words else None, "hint": hint,
    }
    # no "<" at all in the script element: "</script>" cannot close it and "<!--<script>" cannot make the
    # parser skip its real end (JSON reads \u003c back as "<")
    text = json.dumps(payload).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return TEMPLATE.read_text(encoding="utf-8").replace("__PAYLOAD__", text)


def player(path: str | Path, *, fps: float, key: str, timeline: Timeline | None = None,
           video_height: int = VIDEO_HEIGHT) -> None:
    """Draw the player for a stored clip inside a container keyed `key` (st.video for a very large file)."""
    path = Path(path)
    with st.container(key=key):
        if path.stat().st_size > MAX_INLINE_BYTES:
            st.video(str(path), loop=True)
            st.caption("A large file: the plain player (no speed, steps or time line).")
            return
        words = timeline.words if timeline else None
        height = video_height + 150 + (28 * (1 + len(" ".join(w for w, _ in words)) // 70) if words else 0)
        st_components.html(player_html(path.read_bytes(), fps=fps, timeline=timeline, video_height=video_height),
                           height=height)
