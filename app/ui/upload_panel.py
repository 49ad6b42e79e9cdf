"""The Upload page's jobs: one panel per ingest job the signed-in account started, with its live stage while the
worker runs and each file's outcome when it ends (app.services.ingest_job)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.services import ingest_job, jobs
from app.ui import cache, charts, components, navigation


def job_panel(job: jobs.JobView) -> None:
    """One ingest job: progress while it runs; then per file accepted (link, notes, prediction), already stored
    (link) or refused / skipped with its line."""
    request = job.request
    venue = getattr(request, "venue", "") or None
    with st.container(border=True, key=f"upload_job_{job.id}"):
        what = Path(request.path).name if request is not None and getattr(request, "staged", False) else (
            getattr(request, "path", "") or "")
        st.markdown(f"**Job {job.id}** · {components.plain(what)} · {job.status}")
        if job.active:
            st.progress(min(max(job.progress, 0.0), 1.0), text=components.plain(job.message or "waiting for the "
                                                                                               "worker"))
        found = ingest_job.outcomes(job)
        for k, outcome in enumerate(found):
            _outcome(job.id, k, outcome, venue)
        if job.status == jobs.JobStatus.FAILED:
            st.error(components.plain(f"Job {job.id} failed: {job.error or 'no reason recorded'}. Nothing of the "
                                      "file being ingested was stored; upload it again."), icon=":material/error:")
        elif job.status == jobs.JobStatus.CANCELLED:
            st.warning(f"Job {job.id} was cancelled.")


def _outcome(job_id: int, k: int, outcome: ingest_job.FileOutcome, venue: str | None) -> None:
    if outcome.status == "accepted":
        st.success(components.plain(f"{outcome.file}: stored as video {outcome.video_id}."),
                   icon=":material/check_circle:")
        navigation.video_link(outcome.video_id, f"Open video {outcome.video_id}")
    elif outcome.status == "duplicate":
        st.info(components.plain(outcome.line() + "."), icon=":material/content_copy:")
        navigation.video_link(outcome.video_id, f"Open the stored copy (video {outcome.video_id})")
    else:  # refused or skipped: the reason names the file, user text escaped for the alert's Markdown
        st.error(components.plain(outcome.line()), icon=":material/error:")
    for note in outcome.notes:
        st.info(components.plain(note))
    if outcome.prediction:
        model, top = outcome.prediction["model"], [(t["venue"], t["probability"]) for t in outcome.prediction["top"]]
        components.chart(charts.top_venues(top, label=venue, title=f"Predicted by #{model['id']} {model['name']}"),
                         key=f"upload_top_{job_id}_{k}")
        components.ood_warning(outcome.prediction.get("ood", {}).get("score"))
    elif outcome.prediction_error:
        st.info(components.plain(outcome.prediction_error))


def live(who: str) -> None:
    """The account's recent upload jobs; reruns the page when one ends (new videos: caches cleared)."""
    recent = ingest_job.recent_uploads(cache.ctx(), who=who)
    running = {j.id for j in recent if j.active}
    was = set(st.session_state.get("upload_running", []))
    st.session_state["upload_running"] = sorted(running)
    if was - running:
        cache.clear_after_upload()
        st.rerun(scope="app")
    if not recent:
        st.caption("No upload yet.")
    for job in recent:
        job_panel(job)
