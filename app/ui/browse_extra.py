"""Browse's filters that come from the corpus map: the videos a map selection opened, a saved selection, and a
data issue (near duplicate, outlier, non-iid) of the active model's embedding run."""
from __future__ import annotations

import streamlit as st

from app.services.dataissues import TYPES
from app.ui import cache
from app.ui.map_panel import BROWSE_IDS

ISSUE_TITLES = {"near_duplicate": "Near duplicates", "outlier": "Outliers",
                "non_iid": "Non-iid (drift in ingest order)"}
KEEP = {"persist_state": "session"}


def _first_page() -> None:
    st.session_state["browse_page"] = 1


def filters() -> tuple[int | None, tuple[int, str] | None, tuple[int, ...]]:
    """(saved selection id, (embedding run, data issue type), video ids from the map) as the user set them."""
    map_ids = tuple(st.session_state.get(BROWSE_IDS) or ())
    if map_ids:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(f"Showing the {len(map_ids):,} videos selected on the map (with the filters below).",
                icon=":material/bubble_chart:")
        if c2.button("Show all videos", key="browse_clear_map"):
            st.session_state.pop(BROWSE_IDS, None)
            _first_page()
            st.rerun()
    saved = {s.id: s for s in cache.saved_selections()}
    state = cache.map_state()
    run = state.run if state.run is not None and state.run.has("data_issues") else None
    if not saved and run is None:
        return None, None, map_ids
    c1, c2 = st.columns(2)
    selection = c1.selectbox("Saved selection", [None, *saved], key="browse_selection", on_change=_first_page,
                             format_func=lambda i: "any video" if i is None else
                             f"{saved[i].name} ({saved[i].n_videos} videos, {saved[i].owner})", **KEEP)
    issue = c2.selectbox("Data issue", [None, *TYPES], key="browse_data_issue", on_change=_first_page,
                         disabled=run is None, format_func=lambda t: "any" if t is None else ISSUE_TITLES[t],
                         help="found by cleanlab's Datalab in the active model's embeddings (the Map's job)", **KEEP)
    if selection not in saved:
        selection = None
    return selection, (run.id, issue) if run is not None and issue else None, map_ids
