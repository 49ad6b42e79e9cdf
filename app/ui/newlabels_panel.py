"""Annotate's "Label new videos" queue: unlabelled videos in the order core.active ranks them (coverage before a
model, then uncertainty + coverage), with the player, the frame strip and the label editor (1/2/3 pick the model's
top venues once there is a model, Enter saves, S skips, U goes back to the video just labelled to change it: a
first label has no earlier one to undo to), and a first model to train once there are enough labels."""
from __future__ import annotations

import streamlit as st

from app.services import annotate, newlabels
from app.ui import cache, components, label_editor, player, session

PAGE = 50  # queue rows fetched per run (the ranking itself is computed once per label snapshot and model)


def show() -> None:
    """The whole panel: counts and ordering, the first-model offer, then the next video to label."""
    done: list[int] = st.session_state.setdefault("newlabels_done", [])
    queue = components.attempt(newlabels.unlabelled_queue, cache.ctx(), limit=PAGE + len(done))
    if queue is None:
        return
    if queue.n_labelled + queue.n_unlabelled == 0:
        st.info("No video with features yet: add videos on the Upload page (or `python -m app ingest PATH`, then "
                "`python -m app features`).", icon=":material/video_library:")
        return
    st.caption(f"{queue.n_labelled} labelled, {queue.n_unlabelled} to go · {len(done)} skipped in this session")
    st.info(f"Order: {queue.order}.", icon=":material/format_list_numbered:")  # a name of the service's own
    st.text(queue.reason)  # the reason may name venues: plain text, never Markdown
    _first_model(queue)
    who = session.annotator()
    items = [q for q in queue.items if q.video_id not in done]
    if not who:
        st.info("Sign in as an annotator (sidebar) to label these videos: every label is stamped with your account.",
                icon=":material/person:")
        _table(items[:20])
        return
    revisit = st.session_state.get("newlabels_revisit")
    last = st.session_state.get("newlabels_last")
    if revisit is None and last is not None and st.button(
            f"Back to video {last}", key="newlabels_undo", icon=":material/undo:", shortcut="U",
            help="show the video just labelled again, to change its label"):
        st.session_state["newlabels_revisit"] = last
        st.rerun()
    if revisit is not None:
        if st.button("Continue the queue", key="newlabels_continue", icon=":material/skip_next:"):
            st.session_state.pop("newlabels_revisit")
            st.rerun()
        _label(revisit, None, done)
        return
    if not items:
        st.success("No unlabelled video left in this batch.", icon=":material/task_alt:")
        if done and st.button("Start over", key="newlabels_restart"):
            st.session_state["newlabels_done"] = []
            st.rerun()
        return
    _label(items[0].video_id, items[0], done)
    with st.expander(f"Next in the queue ({len(items) - 1})"):
        _table(items[1:11])


def _first_model(queue: newlabels.NewLabelQueue) -> None:
    """Before any model: how far the labels are from a first one, and the admin's button once they suffice."""
    if queue.model_id is not None:
        return
    short = {v: n for v, n in queue.venue_counts.items() if n < newlabels.MIN_PER_VENUE}
    if not queue.ready_to_train:
        st.caption(f"A first model needs at least {newlabels.MIN_VENUES} venues with {newlabels.MIN_PER_VENUE} "
                   f"labels each: {len(queue.venue_counts)} venues in use so far, {len(short)} of them with fewer.")
        return
    if not session.can("retrain"):
        st.success("Every venue in use has enough labels for a first model: an admin can train it here.",
                   icon=":material/model_training:")
        return
    st.success(f"Every venue in use has at least {newlabels.MIN_PER_VENUE} labels: train a first model; the queue "
               "then asks about what it is unsure of.", icon=":material/model_training:")
    if st.button("Train a first model", key="newlabels_train", type="primary", icon=":material/play_arrow:"):
        job_id = components.attempt(newlabels.start_first_model, cache.ctx(), who=session.account_name() or "")
        if job_id is not None:
            components.flash("success", f"Training job {job_id} started (activated when done; follow it on Retrain).")
            st.rerun()


def _label(video_id: int, item: newlabels.NewLabelItem | None, done: list[int]) -> None:
    """One video to label: the player and frame strip, why it is next (`item`; None when revisited), the editor."""
    detail = components.attempt(cache.video_detail, video_id)
    if detail is None:
        return
    video = detail.video
    st.subheader(f"Video #{video.id}")
    st.text(video.original_name)
    left, right = st.columns([3, 2])
    with left:
        player.video_media(detail, key="newlabels_player")
    with right:
        if item is None:
            st.caption("Labelled just now as:")
            st.text(video.current_venue or "(none)")
        else:
            with st.container(border=True):
                st.markdown(f"**Queue position {item.rank}**")
                a, b = st.columns(2)
                a.metric("Distance", f"{item.distance:.2f}", help="standardised feature distance to the nearest "
                         "labelled video or earlier pick: high = unlike anything labelled")
                if item.uncertainty is not None:
                    b.metric("Uncertainty", f"{item.uncertainty:.0%}", help="1 - margin between the model's top two")
        st.caption("Caption:")
        st.text(video.caption or "(no caption)")

    def saved(_version: int) -> None:  # a labelled video leaves the queue by itself; U brings it back
        st.session_state["newlabels_last"] = video.id
        st.session_state.pop("newlabels_revisit", None)

    label_editor.label_editor(
        video, cache.venue_choices(), key=f"newlabels_{video.id}", picks=item.top if item else (), on_saved=saved,
        save=lambda **kw: annotate.relabel(cache.ctx(), video_id=video.id, **kw).version,
    )
    if item is not None and st.button("Skip", key="newlabels_skip", icon=":material/skip_next:", shortcut="S"):
        done.append(video.id)
        st.rerun()


def _table(items: list[newlabels.NewLabelItem]) -> None:
    st.dataframe([{"rank": q.rank, "id": q.video_id, "file": q.file_name, "score": round(q.score, 3),
                   "uncertainty": None if q.uncertainty is None else round(q.uncertainty, 3)} for q in items],
                 hide_index=True)
