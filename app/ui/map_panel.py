"""The Map page's side pieces: the card of a clicked video, and the panel of a lasso or box selection with its
actions (open in Browse, bulk relabel through app.services.bulk, export, save as a named selection)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app.services import bulk, corpusmap, export, selections
from app.ui import cache, components, navigation, session
from app.ui.pages import PAGE_FILES

GRID = 12  # thumbnails shown of a selection (the ids of all of them are listed)
BROWSE_IDS = "browse_map_ids"  # session key: the videos Browse shows when opened from the map


def card(video_id: int) -> None:
    """Thumbnail, name, label, prediction and an Open link of one video."""
    rows = corpusmap.rows_of(cache.ctx(), [video_id])
    if not rows:
        st.caption(f"Video {video_id} no longer exists.")
        return
    row = rows[0]
    with st.container(border=True, key="map_card"):
        path = cache.thumbnails((row,)).get(row.id)
        if path:
            st.html(navigation.CARD_CSS)
            st.image(path, width="stretch")
        st.text(f"#{row.id} {row.original_name}")  # a file name: text, never Markdown
        st.caption(navigation.card_subtitle(row))
        navigation.video_link(row.id, "Open")


def selection_panel(ids: list[int]) -> None:
    """The selected videos (ids listed, the first as a grid) and what can be done with them."""
    st.subheader(f"{len(ids):,} videos selected")
    with st.expander("Video ids of the selection", expanded=False):
        st.code(", ".join(str(v) for v in sorted(ids)), language=None, wrap_lines=True)
    rows = corpusmap.rows_of(cache.ctx(), ids[:GRID])
    navigation.video_cards(rows, cache.thumbnails(tuple(rows)), grid="selection", columns=6)
    if len(ids) > GRID:
        st.caption(f"The first {GRID} of {len(ids):,} are shown; open them in Browse to page through all.")
    versions_key = f"map_versions_{hash(tuple(sorted(ids)))}"  # the label versions shown with this selection
    if versions_key not in st.session_state:
        st.session_state[versions_key] = bulk.label_versions(cache.ctx(), ids)
    shown = st.session_state[versions_key]
    browse_tab, relabel_tab, export_tab, save_tab = st.tabs(["Open in Browse", "Relabel", "Export", "Save"])
    with browse_tab:
        if st.button(f"Open these {len(ids):,} videos in Browse", key="map_open_browse", icon=":material/grid_view:"):
            st.session_state[BROWSE_IDS] = sorted(ids)
            st.session_state["browse_page"] = 1
            st.switch_page(PAGE_FILES["browse"])
    with relabel_tab:
        _relabel(ids, shown)
    with export_tab:
        _export(ids)
    with save_tab:
        _save(ids)


def _relabel(ids: list[int], shown: dict[int, int]) -> None:
    who = session.annotator()
    if not who:
        st.caption("Sign in as an annotator to relabel the selection.")
        return
    with st.form("map_bulk", border=False):
        c1, c2 = st.columns([2, 3])
        venue = c1.selectbox("New venue", cache.venue_choices(), index=None, key="map_bulk_venue",
                             placeholder="type to search")
        reason = c2.text_input("Reason (one for all)", key="map_bulk_reason")
        submitted = st.form_submit_button(f"Relabel {len(ids):,}", type="primary", key="map_bulk_save")
    if not submitted:
        return
    if not venue:
        st.error("Choose a venue first.")
        return
    result = components.attempt(bulk.relabel_many, cache.ctx(), shown_versions={v: shown[v] for v in ids},
                                venue=venue, who=who, reason=reason)
    if result is None:
        return
    cache.clear_after_label_change()
    message = f"Relabelled {len(result.saved)} video(s) as {venue}."
    if result.conflicts:
        message += f" {len(result.conflicts)} not saved: changed by someone else meanwhile."
    components.flash("warning" if result.conflicts else "success", message)
    st.rerun()


def _export(ids: list[int]) -> None:
    if not session.can("export"):
        st.caption("Sign in (a viewer account at least) to export the selection.")
        return
    kind = st.selectbox("What", ["labels", "predictions", "history"], key="map_export_kind")
    actor = session.account_name() or ""

    def produce() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{kind}.csv"
            export.export(cache.ctx(), kind, fmt="csv", out=out, actor=actor, video_ids=ids)
            return out.read_bytes()

    st.download_button(f"Download {kind} of the selection (CSV)", data=produce, file_name=f"eastern-{kind}-map.csv",
                       mime="text/csv", key="map_export", icon=":material/download:", on_click="ignore")


def _save(ids: list[int]) -> None:
    if not session.account_name():
        st.caption("Sign in to save the selection; Browse and Annotate can then filter on it.")
        return
    with st.form("map_save", border=False):
        name = st.text_input("Name of the selection", key="map_save_name", max_chars=selections.MAX_NAME)
        submitted = st.form_submit_button("Save selection", key="map_save_button", icon=":material/bookmark_add:")
    if submitted:
        saved = components.attempt(selections.save, cache.ctx(), name=name, video_ids=ids,
                                   who=session.account_name() or "")
        if saved is not None:
            cache.saved_selections.clear()
            components.flash("success", f"Saved {len(ids):,} videos as selection {saved}.")
            st.rerun()


def more_like_this(video_id: int) -> None:
    """The k nearest videos in one space of the active model's embeddings, with their labels and distances."""
    from core.embeddings import SPACES

    st.subheader("More like this")
    state = cache.map_state()
    if state.run is None:
        st.caption("No embeddings of the active model yet (the Map page says how far its job is).")
        return
    c1, c2 = st.columns([3, 1])
    spaces = [s for s in SPACES if s in state.run.spaces]
    space = c1.segmented_control("Nearest by", spaces, default=spaces[0], required=True, key="video_similar_space",
                                 format_func=str.capitalize)
    k = c2.number_input("How many", 1, 50, 8, key="video_similar_k")
    found = components.attempt(cache.similar, video_id, space, int(k), state.run.id)
    if not found:
        return
    rows = {r.id: r for r in corpusmap.rows_of(cache.ctx(), [n.video_id for n in found])}
    distance = {n.video_id: n.distance for n in found}
    ordered = [rows[n.video_id] for n in found if n.video_id in rows]
    navigation.video_cards(ordered, cache.thumbnails(tuple(ordered)), grid="similar", columns=4,
                           subtitle=lambda r: f"distance {distance[r.id]:.3f} · {navigation.card_subtitle(r)}")
