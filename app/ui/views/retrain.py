"""Retrain: start a training job (its own process), follow it live from the database, cancel it,
and promote the result next to the active model. Starting, cancelling and promoting need an admin account."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.services import jobs
from app.services.requests import TrainRequest
from app.ui import cache, components, figures, promote_panel, request_form, session
from core.modalities import letters

ACTIVE_STATES = jobs.ACTIVE_STATES

st.title("Retrain")
components.show_flash()
admin = session.can("retrain")
ctx = cache.ctx()

if not admin:
    st.info("Starting, cancelling and promoting need an admin account: sign in with one in the sidebar. "
            "You can follow the jobs below.", icon=":material/lock:")
else:
    values = request_form.request_form(TrainRequest, key="retrain", submit="Start training")
    if values is not None:
        if not values["modalities"]:
            st.error("Choose at least one modality.")
        else:
            request = components.attempt(TrainRequest.from_dict, values)
            job_id = request and components.attempt(jobs.submit, ctx, request, who=session.account_name() or "")
            if job_id:
                components.flash("success", f"Training job {job_id} started in its own process.")
                st.rerun()


def _job_panel(job: jobs.JobView) -> None:
    request = job.request
    if request is None:
        what = "(parameters no longer readable)"
    elif hasattr(request, "architecture"):
        what = f"{request.architecture} · {letters(request.modalities)} · {request.epochs} epochs"
    else:  # a job that trains nothing (embeddings): its parameters
        what = " · ".join(f"{k} {v}" for k, v in request.to_dict().items())
    st.markdown(f"**Job {job.id}** · {job.kind} · {what} · started by {components.plain(job.created_by or '?')} "
                f"· **{job.status}**")
    st.progress(min(max(job.progress, 0.0), 1.0), text=job.message or job.status)
    if job.history:
        st.plotly_chart(figures.curve_figure(job.history, title=f"Job {job.id}: loss and validation Macro-F"),
                        key=f"retrain_curve_{job.id}")
    if admin and not job.cancel_requested and st.button("Cancel this job", key=f"retrain_cancel_{job.id}",
                                                        icon=":material/stop:"):
        if components.attempt(jobs.cancel, ctx, job.id, who=session.account_name() or "") is None:
            st.toast(f"Cancelling job {job.id}…")
    if job.cancel_requested:
        st.caption("Cancellation requested: the worker stops after the current step.")


def _live() -> None:
    recent = jobs.list_jobs(ctx, kind=jobs.MODEL_KINDS, limit=10)
    running = [j for j in recent if j.active]
    was = set(st.session_state.get("retrain_running", []))
    st.session_state["retrain_running"] = [j.id for j in running]
    if was - {j.id for j in running}:  # a job ended while we watched: models and predictions may differ
        cache.clear_after_model_change()
        st.rerun(scope="app")
    if not running:
        st.caption("No job running.")
    for job in running:
        with st.container(border=True):
            _job_panel(job)


recent = jobs.list_jobs(ctx, kind=jobs.MODEL_KINDS, limit=10)
st.subheader("Live progress")
# Poll only while a job is queued or running; the fragment reruns the whole page when it ends.
st.fragment(_live, run_every=2.0 if any(j.active for j in recent) else None)()

st.subheader("Recent jobs")
if not recent:
    st.caption("No training job yet.")
else:
    st.dataframe(pd.DataFrame([{
        "job": j.id, "kind": j.kind, "status": j.status, "architecture": getattr(j.request, "architecture", None),
        "epochs": getattr(j.request, "epochs", None), "by": j.created_by, "model version": j.model_version_id,
        "started": j.started_at.strftime("%Y-%m-%d %H:%M:%S") if j.started_at else "",
        "finished": j.finished_at.strftime("%Y-%m-%d %H:%M:%S") if j.finished_at else "",
        "error": j.error or "",
    } for j in recent]), hide_index=True)
    if recent[0].status == jobs.JobStatus.FAILED:  # the newest job; older failures stay in the table
        st.error(f"Job {recent[0].id} failed. The active model is unchanged; the job log is "
                 f"jobs/job-{recent[0].id}.log under EASTERN_HOME. The reason:", icon=":material/error:")
        st.code(recent[0].error or "(none recorded)", language=None, wrap_lines=True)

finished = next((j for j in recent if j.status == jobs.JobStatus.DONE and j.model_version_id), None)
versions = {v.id: v for v in cache.model_list()}
if finished and finished.model_version_id in versions:
    new = versions[finished.model_version_id]
    active = next((v for v in versions.values() if v.active), None)
    st.subheader("Latest result")
    columns = [("new", new)] + ([("active", active)] if active and active.id != new.id else [])
    st.dataframe(pd.DataFrame([{
        "": label, "version": f"#{v.id} {v.name}", "test Micro-F": v.micro_f1, "test Macro-F": v.macro_f1,
        "best val Macro-F": v.best_val_macro_f1, "test videos": v.n_test,
    } for label, v in columns]), hide_index=True)
    if new.active:
        st.success(f"Version #{new.id} is the active model.")
    elif admin:
        promote_panel.panel(new.id, key="retrain_promote", primary=True)
    else:
        st.caption("An admin can promote this version to active.")
