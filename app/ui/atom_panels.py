"""The atom explorer's evidence per modality: frames as cards, the 1-second clips that fire an acoustic atom (to
hear), the captions with the words that fire a textual atom (to read)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.ui import cache, components, navigation


def acoustic_clips(atom: int, model_id: int, active: list[dict[str, Any]], rows_by_id: dict[int, Any]) -> None:
    """One player per video: the second that, left out, lowers the atom's code most."""
    ids = tuple(v["video_id"] for v in active if v["video_id"] in rows_by_id)
    with st.spinner("Finding the clips that fire this atom…"):
        evidence = components.attempt(cache.atom_evidence, atom, model_id, "acoustic", ids)
    if not evidence:
        return
    st.caption("Each row: the 1-second clip without which this atom's acoustic code falls most (the clip plays "
               "alone), the code of the whole video and how much that clip carries.")
    cols = st.columns(2)
    for n, ev in enumerate(evidence):
        with cols[n % 2].container(border=True):
            row = rows_by_id[ev.video_id]
            st.text(f"#{row.id} {row.original_name} · label {row.label or 'none'}")
            st.caption(f"code {ev.activation:.3f} · clip {ev.clip}-{ev.clip + 1} s carries {ev.drop:+.3f}")
            detail = components.attempt(cache.video_detail, ev.video_id)
            view = components.attempt(cache.media_view, detail.video.sha256, detail.video.path) if detail else None
            if view is not None and view.has_audio:
                sr = view.sample_rate
                st.audio(view.audio[ev.clip * sr:(ev.clip + 1) * sr], sample_rate=sr)
            else:
                st.caption("no audio track: the atom fires on the acoustic features of silence")
            navigation.video_link(ev.video_id, "Open")


def textual_words(atom: int, model_id: int, active: list[dict[str, Any]], rows_by_id: dict[int, Any],
                  key: str) -> None:
    """A table of captions (as text) with the words that, left out, lower the atom's code most."""
    ids = tuple(v["video_id"] for v in active if v["video_id"] in rows_by_id)
    with st.spinner("Finding the words that fire this atom…"):
        evidence = components.attempt(cache.atom_evidence, atom, model_id, "textual", ids)
    if not evidence:
        return
    table = pd.DataFrame([{
        "video": ev.video_id, "code": ev.activation,
        "words that fire it": ", ".join(f"{w} ({d:+.3f})" for w, d in ev.words if d > 0) or "—",
        "caption": rows_by_id[ev.video_id].caption or "(no caption)",
        "label": rows_by_id[ev.video_id].label or "—",
    } for ev in evidence])
    st.caption("Each row: a caption that fires this atom, and the words without which its textual code falls "
               "most (how much, in brackets). Select a row to open the video.")
    event = st.dataframe(table, hide_index=True, key=key, on_select="rerun", selection_mode="single-row",
                         column_config={"code": st.column_config.NumberColumn("code", format="%.3f")})
    if event.selection.rows:
        navigation.open_video(int(table.iloc[event.selection.rows[0]]["video"]))
