"""Correcting a video's label: the conflict-checked label editor, the undo button for this session's newest
save, and a video's label history as plain text."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from app.errors import user_message
from app.ui import cache
from app.ui.components import attempt, flash, plain
from app.ui.session import annotator, run_number


def label_editor(video: Any, venues: list[str], *, key: str, save: Any, picks: Sequence[tuple[str, float]] = (),
                 on_saved: Any = None) -> None:
    """Correct a video's venue: a form (Enter submits) with a reason. The picker starts at the current label,
    never at the model's guess (no automation bias); `picks` are the model's top venues as buttons with the
    shortcuts 1, 2, 3 that move the picker, and Enter then saves. The save is conflict-checked against the
    label version the user was shown (kept from the previous run, so a fresher read in this run never hides
    someone else's change). `save(venue, reason, who, expected_version)` returns the new version."""
    from db.repo import LabelConflict

    shown_key = f"{key}_shown_version"
    shown_version, shown_run = st.session_state.get(shown_key, (video.version, -1))
    # The version drawn in the previous run is what the user saw when they pressed Save; a form last
    # drawn on an earlier visit says nothing about what is on screen now.
    expected = shown_version if shown_run == run_number() - 1 else video.version
    st.session_state[shown_key] = (video.version, run_number())
    who = annotator()
    picker = f"{key}_venue"
    if picker not in st.session_state and video.current_venue in venues:
        st.session_state[picker] = video.current_venue
    if picks:
        st.caption("Model's top venues (press 1, 2, 3 to pick; Enter saves what is picked):")
        cols = st.columns(len(picks))
        for n, ((venue_name, prob), col) in enumerate(zip(picks, cols, strict=False), start=1):
            col.button(f"{n} · {venue_name} ({prob:.0%})", key=f"{key}_pick{n}", shortcut=str(n),
                       on_click=_pick, args=(picker, venue_name), disabled=venue_name not in venues,
                       use_container_width=True)
    with st.form(f"{key}_form", enter_to_submit=True):
        venue = st.selectbox("Venue", venues, index=None, key=picker,
                             placeholder=f"type to search {len(venues)} venues")
        reason = st.text_input("Reason (optional)", key=f"{key}_reason", placeholder="e.g. the court is visible at 2 s")
        submitted = st.form_submit_button("Save label", type="primary", disabled=not who, key=f"{key}_save",
                                          shortcut="Enter",
                                          help=None if who else "Sign in as an annotator first")
    if not who:
        st.caption(":material/info: Sign in as an annotator (sidebar) to correct labels.")
    if not submitted:
        return
    if not venue:
        st.error("Choose a venue first.")
        return
    try:
        version = save(venue=venue, reason=reason, who=who, expected_version=expected)
    except LabelConflict as exc:
        current = exc.current
        other = (f"{plain(current.who)} set it to **{current.venue_name}** at {current.created_at:%H:%M:%S}"
                 if current else "someone else changed it")
        flash("error", f"Conflict: not saved. While you were looking, {other}. Your choice '{venue}' was not "
                       "stored. Check the label and save again to replace it.")
        st.session_state[shown_key] = (exc.current_version, run_number())
        cache.clear_after_label_change()
        st.rerun()
    except Exception as exc:  # noqa: BLE001 - known user errors become one line, bugs re-raise
        message = user_message(exc)
        if message is None:
            raise
        st.error(message)
        return
    st.session_state[shown_key] = (version, run_number())
    st.session_state["last_change"] = {"video_id": video.id, "version": version, "venue": venue}
    flash("success", f"Saved: video {video.id} is now labelled **{venue}**.")
    cache.clear_after_label_change()
    if on_saved:
        on_saved(version)
    st.rerun()


def _pick(picker: str, venue: str) -> None:
    st.session_state[picker] = venue


def undo_button(*, key: str, video_id: int | None = None) -> None:
    """"Undo last change": put back the label before this session's newest save (only for `video_id`
    when given). Refused with the conflict line when someone changed the video since."""
    from app.services import annotate

    last = st.session_state.get("last_change")
    who = annotator()
    if not last or not who or (video_id is not None and last["video_id"] != video_id):
        return
    if not st.button("Undo last change", key=key, icon=":material/undo:", shortcut="U",
                     help=f"video {last['video_id']} back to the label before '{last['venue']}'"):
        return
    result = attempt(annotate.undo, cache.ctx(), video_id=last["video_id"], who=who,
                     expected_version=last["version"])
    if result is None:
        return
    st.session_state.pop("last_change")
    for name in list(st.session_state):
        if str(name).endswith(f"_{last['video_id']}_shown_version"):
            st.session_state[name] = (result.version, run_number())
    cache.clear_after_label_change()
    flash("success", f"Undone: video {last['video_id']} is back to **{plain(result.venue)}**.")
    st.rerun()


def history_lines(history: Sequence[Any]) -> list[str]:
    """A video's label history, newest first, one plain-text entry each: when, who, from -> to, and the reason on
    its own line (drawn with st.text: user text stays text; a table widget would load ~1 MB of grid code on every
    visit to Video detail and hide the reason in a column scrolled out of view)."""
    lines = []
    for h in history:
        line = f"{h.created_at:%Y-%m-%d %H:%M:%S} · {h.who} · {h.previous_venue_name or '—'} → {h.venue_name}"
        lines.append(line + (f"\n    reason: {h.reason}" if h.reason else ""))
    return lines
