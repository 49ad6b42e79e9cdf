"""Annotate: two queues. "Label new videos": unlabelled videos, most informative first (app/ui/newlabels_panel.py).
"Fix labels": the label-issue queue, ranked out of sample (cleanlab on cross-validated probabilities, or the
active model on its test videos only), with why each video is there. The picker starts at the current label;
1/2/3 pick one of the model's top venues, Enter saves, S skips, U undoes."""
from __future__ import annotations

import streamlit as st

from app.services import annotate, triage
from app.ui import cache, components, label_editor, labelissues, newlabels_panel, player, session

QUEUES = ("Fix labels", "Label new videos")

st.title("Annotate")
components.show_flash()

status = cache.status()
default = QUEUES[0] if status.model is not None else QUEUES[1]
mode = st.segmented_control("Queue", QUEUES, default=default, key="annotate_mode", label_visibility="collapsed")
if (mode or default) == QUEUES[1]:
    newlabels_panel.show()
    st.stop()
if status.model is None:
    st.info("Fix labels ranks the labels a model disagrees with out of sample: it needs a trained model. Label "
            "videos in \"Label new videos\" first; once every venue in use has enough labels, an admin can train "
            "a first model there.", icon=":material/model_training:")
    st.stop()
source = labelissues.source_panel(key="annotate")
labelissues.download("issues", key="annotate_download", label="Download the queue (CSV)")
if source.kind == "none":
    st.stop()

who = session.annotator()
if not who:
    st.info("Sign in as an annotator (sidebar) to correct labels: every change is stamped with your account.",
            icon=":material/person:")
    st.stop()

done: list[int] = st.session_state.setdefault("annotate_done", [])
saved = {s.id: s for s in cache.saved_selections()}
selection = st.selectbox("Only the videos of a saved selection", [None, *saved], key="annotate_selection",
                         format_func=lambda i: "every video" if i is None else f"{saved[i].name} ({saved[i].n_videos})",
                         disabled=not saved, help="selections are saved on the Map page") if saved else None
queue = [q for q in cache.issue_queue(50 + len(done), 0, selection) if q.id not in done]
remaining = max(source.n_scored - len(done), len(queue))
st.caption(f"{len(done)} reviewed in this session · {remaining} left in the queue")
label_editor.undo_button(key="annotate_undo")
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
st.subheader(f"Video #{video.id}")
st.text(video.original_name)
left, right = st.columns([3, 2])
with left:
    why = None
    if detail.media_file:
        colour = st.toggle("Colour the time line: what supports the current label", key="annotate_timeline",
                           help="Integrated Gradients of the active model toward the current label (a few seconds)")
        why = (components.attempt(cache.explanation, video.id, video.current_venue_id, status.model.id)
               if colour and video.current_venue_id is not None else None)
    player.video_media(detail, key="annotate_player", timeline=player.timeline_of(why))
with right:
    with st.container(border=True):
        st.markdown("**Why it is in the queue**")
        a, b = st.columns(2)
        a.metric("Label quality", f"{item.score:.3f}", help="cleanlab label-quality score, low = suspicious"
                 if source.kind == "crossval" else "probability of the label on a test video, low = suspicious")
        b.metric("P(current label)", f"{item.label_probability:.0%}",
                 help="out-of-sample: from a model that never trained on this video")
        st.caption("Suggested venue (out of sample):")
        st.text(f"{item.suggested} ({item.suggested_probability:.0%})")
        if item.is_issue:
            st.caption(":material/flag: cleanlab counts this label among the likely wrong ones")
        for reason in triage.describe(cache.triage_flags((video.id,)).get(video.id, ())):
            st.caption(":material/warning: " + components.plain(reason)
                       + ": the model reads little or nothing from this modality")
    st.caption("Current label:")
    st.text(video.current_venue or "(none)")
    st.caption("Caption:")
    st.text(video.caption or "(no caption)")


def _saved(_version: int) -> None:
    done.append(video.id)


label_editor.label_editor(
    video, cache.venue_choices(), key=f"annotate_{video.id}", picks=cache.suggestions(video.id), on_saved=_saved,
    save=lambda **kw: annotate.relabel(cache.ctx(), video_id=video.id, **kw).version,
)
if st.button("Skip (keep the label)", key="annotate_skip", icon=":material/skip_next:", shortcut="S"):
    done.append(video.id)
    st.rerun()

with st.expander(f"Next in the queue ({len(queue) - 1})"):
    st.dataframe([{"id": q.id, "label": q.label, "suggested": q.suggested, "score": round(q.score, 3),
                   "likely wrong": q.is_issue} for q in queue[1:11]], hide_index=True)
