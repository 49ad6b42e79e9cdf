"""Annotate: a review queue (suspicious labels first, then uncertain predictions); choose a venue,
Enter saves and moves on; every change goes to the label history; undo the last change."""
from __future__ import annotations

import streamlit as st

from app.services import annotate
from app.ui import cache, components

st.title("Annotate")
components.show_flash()
st.caption("Videos whose label the active model doubts most come first, then those it is least sure about. "
           "Pick the right venue and press **Enter** (or *Save label*); *Skip* keeps the label and moves on.")

status = cache.status()
if components.need_model(status) is None:
    st.stop()
who = components.annotator()
if not who:
    st.info("Enter your name in the sidebar to start annotating: it is recorded with every change.",
            icon=":material/person:")
    st.stop()

done: list[int] = st.session_state.setdefault("annotate_done", [])
components.undo_button(key="annotate_undo")

queue = [q for q in cache.review_queue(50 + len(done), 0) if q.id not in done]
if not queue:
    st.success("Nothing left to review in this batch.", icon=":material/task_alt:")
    if done and st.button("Start over", key="annotate_restart"):
        st.session_state["annotate_done"] = []
        st.rerun()
    st.stop()

item = queue[0]
detail = components.attempt(cache.video_detail, item.id)
if detail is None:
    st.stop()
video = detail.video
st.subheader(f"Video #{video.id} · {video.original_name}")
left, right = st.columns([3, 2])
with left:
    if detail.media_file:
        st.video(detail.media_file)
    else:
        st.warning("The stored file of this video is missing.")
    view = components.attempt(cache.media_view, video.sha256, video.path)
    if view is not None:
        st.image(components.frame_strip(view.frames), caption="the 12 frames the model reads (one per 0.5 s)")
with right:
    st.markdown(f"**Caption:** {video.caption or '*(none)*'}")
    st.markdown(f"**Current label:** {video.current_venue or '*(none)*'} · **model says:** {item.predicted} "
                f"({item.confidence:.0%})")
    if detail.top:
        st.plotly_chart(components.top_venues_figure(detail.top, label=video.current_venue), key="annotate_top")


def _saved(_version: int) -> None:
    done.append(video.id)


components.label_editor(
    video, cache.venue_choices(), key=f"annotate_{video.id}", suggestion=item.predicted, on_saved=_saved,
    save=lambda **kw: annotate.relabel(cache.ctx(), video_id=video.id, **kw)["version"],
)
if st.button("Skip (keep the label)", key="annotate_skip", icon=":material/skip_next:", shortcut="Alt+N"):
    done.append(video.id)
    st.rerun()

with st.expander(f"Next in the queue ({len(queue) - 1})"):
    st.dataframe([{"id": q.id, "label": q.label, "model says": q.predicted, "confidence": round(q.confidence, 2)}
                  for q in queue[1:11]], hide_index=True)
