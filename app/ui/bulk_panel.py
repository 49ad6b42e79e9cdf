"""Browse's table view: select rows to open one video, or (signed in to label) to relabel them all with one venue
and one reason, through app.services.bulk (each video conflict-checked against the version shown)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from app.services import bulk
from app.ui import cache, components, navigation, session


def video_table(rows: Sequence[Any], *, key: str) -> None:
    table = navigation.browse_table(rows)
    who = session.annotator()
    shown_key = f"{key}_shown_versions"
    shown: dict[int, int] = st.session_state.get(shown_key, {})  # what the previous run put on screen
    conflicts = st.session_state.pop(f"{key}_conflicts", [])
    if conflicts:  # names of other annotators: text in a table, never Markdown
        st.dataframe([{"video": v, "not saved because": why} for v, why in conflicts], hide_index=True,
                     key=f"{key}_conflict_list")
    st.caption("Select rows to relabel them together, or one row to open it." if who
               else "Select a row to open the video (sign in to relabel several at once).")
    event = st.dataframe(
        table, hide_index=True, key=key, on_select="rerun", selection_mode="multi-row" if who else "single-row",
        column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                     format="percent")})
    st.session_state[shown_key] = bulk.label_versions(cache.ctx(), [int(i) for i in table["id"]])
    ids = [int(table.iloc[i]["id"]) for i in (event.selection.rows if event is not None else [])]
    if not ids:
        return
    if not who:
        navigation.open_video(ids[0])
    if len(ids) == 1 and st.button(f"Open video #{ids[0]}", key=f"{key}_open", icon=":material/movie:"):
        navigation.open_video(ids[0])
    with st.form(f"{key}_bulk", border=True):
        st.markdown(f"**Relabel {len(ids)} selected video{'s' if len(ids) > 1 else ''}**")
        c1, c2 = st.columns([2, 3])
        venue = c1.selectbox("New venue", cache.venue_choices(), index=None, key=f"{key}_bulk_venue",
                             placeholder="type to search")
        reason = c2.text_input("Reason (one for all)", key=f"{key}_bulk_reason")
        submitted = st.form_submit_button(f"Relabel {len(ids)}", type="primary", key=f"{key}_bulk_save")
    if not submitted:
        return
    if not venue:
        st.error("Choose a venue first.")
        return
    versions = {v: shown.get(v, st.session_state[shown_key].get(v)) for v in ids}
    result = components.attempt(bulk.relabel_many, cache.ctx(), shown_versions=versions, venue=venue, who=who,
                                reason=reason)
    if result is None:
        return
    cache.clear_after_label_change()
    message = f"Relabelled {len(result.saved)} video(s) as {venue}."
    if result.conflicts:
        message += f" {len(result.conflicts)} not saved: changed by someone else meanwhile (listed above the table)."
    st.session_state[f"{key}_conflicts"] = result.conflicts
    components.flash("warning" if result.conflicts else "success", message)
    st.rerun()
