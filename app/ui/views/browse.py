"""Browse: every video, filtered, sorted and paged in SQL; a grid of first frames or a table."""
from __future__ import annotations

import streamlit as st

from app.services import browse, triage
from app.ui import browse_extra, bulk_panel, cache, components, labelissues, navigation
from db.queries import VideoFilter

SORT_LABELS = {
    "id": "Oldest id first", "newest": "Newest first", "confidence_desc": "Most confident prediction",
    "confidence_asc": "Least confident prediction", "label": "Label (A–Z)", "name": "File name",
}
CORRECTNESS = {"any": "Any", "correct": "Right", "wrong": "Wrong", "unpredicted": "None"}
TRISTATE = {"any": None, "yes": True, "no": False}
KEEP = {"persist_state": "session"}  # filters survive a visit to a video and back
VIEWS = {"Grid": 4, "Dense": 6, "Table": 0}  # cards per row (0: the table)

if (deep := navigation.requested_video()) is not None:  # ?video=ID on Browse opens that video
    navigation.open_video(deep)

st.title("Browse videos")
components.show_flash()


def _first_page() -> None:
    st.session_state["browse_page"] = 1


def _issue_set() -> int:
    source = cache.queue_source()
    if source.kind != "crossval":
        st.info("No out-of-sample label issues yet: an admin can compute them on the Annotate page.",
                icon=":material/info:")
        st.stop()
    return source.set_id


if len(st.session_state.get("browse_text") or "") > browse.MAX_SEARCH:  # a search pasted or linked in, too long
    st.session_state["browse_text"] = st.session_state["browse_text"][:browse.MAX_SEARCH]
with st.container(border=True):  # three rows that fit from 1280 to 1920 px (checked by the browser test)
    c1, c2, c3, c4 = st.columns([3, 3, 3, 2])
    text = c1.text_input("Search captions and file names", key="browse_text", on_change=_first_page,
                         max_chars=browse.MAX_SEARCH, **KEEP)
    labels = c2.multiselect("Current label", cache.venue_choices(used_only=True), key="browse_labels",
                            on_change=_first_page, **KEEP)
    predicted = c3.multiselect("Predicted venue", cache.venue_choices(used_only=True), key="browse_predicted",
                               on_change=_first_page, **KEEP)
    sort = c4.selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get, key="browse_sort", **KEEP)
    c1, c2, c3, c4, c5 = st.columns([2, 3, 1, 1, 1])
    low, high = c1.slider("Confidence of the prediction", 0.0, 1.0, (0.0, 1.0), step=0.05, key="browse_conf",
                          on_change=_first_page, **KEEP)
    correctness = c2.segmented_control("Prediction", list(CORRECTNESS), format_func=CORRECTNESS.get, default="any",
                                       required=True, key="browse_correct", on_change=_first_page,
                                       help="the active model's prediction against the label; None: no prediction",
                                       **KEEP)
    audio = c3.selectbox("Has audio", list(TRISTATE), key="browse_audio", on_change=_first_page, **KEEP)
    caption = c4.selectbox("Has caption", list(TRISTATE), key="browse_caption", on_change=_first_page, **KEEP)
    annotated = c5.selectbox("Corrected", list(TRISTATE), key="browse_annotated", on_change=_first_page,
                             help="corrected by a person (not only the import's label)", **KEEP)
    c1, c2, c3, c4 = st.columns([2, 1.5, 3, 2.5], vertical_alignment="bottom")
    issues_only = c1.toggle("Label issues only", key="browse_issues", on_change=_first_page,
                            help="videos whose label cleanlab flags as likely wrong, from out-of-fold probabilities",
                            **KEEP)
    unlike = c1.toggle("Only videos unlike the training data", key="browse_ood", on_change=_first_page,
                       help="the active model's out-of-distribution flag (core/ood.py)", **KEEP)
    split = c2.selectbox("Split", ["any", "train", "test"], key="browse_split", on_change=_first_page,
                         help="the stable evaluation split (given once per video; relabels never move it)", **KEEP)
    dead = c3.multiselect("Triage flags (any of)", triage.flag_names(), format_func=triage.badge,
                          key="browse_triage", on_change=_first_page, placeholder="dead modalities",
                          help="videos with no or near-silent audio, black or flat frames, a frozen picture, or an "
                               "empty or unreadable caption (core/features/triage.py)", **KEEP)
    view = c4.segmented_control("View", list(VIEWS), default="Grid", required=True, key="browse_view", **KEEP)
    selection_id, issue_run, map_ids = browse_extra.filters()  # from the corpus map: a selection, a data issue

filters = VideoFilter(
    label_venue_ids=cache.venue_ids(tuple(labels)), predicted_venue_ids=cache.venue_ids(tuple(predicted)),
    correctness=correctness or "any", min_confidence=low, max_confidence=high, has_audio=TRISTATE[audio],
    has_caption=TRISTATE[caption], annotated=TRISTATE[annotated], text=text,
    split=None if split == "any" else split, label_issue_set_id=_issue_set() if issues_only else None,
    triage_flags=tuple(dead), unlike_training=unlike, selection_id=selection_id, data_issue=issue_run,
    video_ids=map_ids,
)
page_size = {"Grid": browse.GRID_PAGE_SIZE, "Dense": 36}.get(view, 50)
requested = int(st.session_state.setdefault("browse_page", 1))
result = cache.browse_page(filters, sort, requested - 1, page_size)
st.session_state["browse_page"] = result.page + 1  # filters may have left fewer pages

if result.total == 0:
    if cache.status().videos == 0:
        st.info("No videos yet: run `python -m app demo` or `python -m app ingest PATH`, or use the Upload page.")
    else:
        st.info("No video matches these filters.", icon=":material/filter_alt_off:")
    st.stop()

top = st.columns([3, 2, 1], vertical_alignment="center")
with top[1]:
    labelissues.download("labels", key="browse_download", label="Download labels (CSV manifest)")
top[0].caption(f"**{result.total:,}** videos match · page {result.page + 1} of {result.pages}"
               + ("" if result.model_id else " · no active model, so no predictions yet"))
top[2].number_input("Page", min_value=1, max_value=result.pages, step=1, key="browse_page",
                    label_visibility="collapsed", **KEEP)

if view != "Table":
    navigation.video_cards(result.rows, cache.thumbnails(tuple(result.rows)), grid="browse", columns=VIEWS[view])
else:
    bulk_panel.video_table(result.rows, key="browse_table")
