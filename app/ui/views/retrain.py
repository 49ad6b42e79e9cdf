"""Retrain: start a training job (its own process), follow it live from the database, cancel it,
and promote the result next to the active model. Starting, cancelling and promoting need an admin account."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.services import audit, dashboard, jobs, training
from app.ui import cache, components, figures, session
from core.modalities import MODALITIES, letters
from core.models import registry

ARCHITECTURES = {s.name: f"{s.display}: {s.description}" for s in registry.specs("deep")}
ACTIVE_STATES = jobs.ACTIVE_STATES

st.title("Retrain")
components.show_flash()
admin = session.can("retrain")
ctx = cache.ctx()

if not admin:
    st.info("Starting, cancelling and promoting need an admin account: sign in with one in the sidebar. "
            "You can follow the jobs below.", icon=":material/lock:")
else:
    with st.form("retrain_form", border=True):
        c1, c2, c3, c4 = st.columns([3, 3, 1, 1])
        arch = c1.selectbox("Architecture", list(ARCHITECTURES), format_func=ARCHITECTURES.get, key="retrain_arch")
        mods = c2.multiselect("Modalities", list(MODALITIES), default=list(MODALITIES), key="retrain_mods")
        epochs = c3.number_input("Epochs", 1, 200, value=ctx.settings.demo_epochs, key="retrain_epochs")
        seed = c4.number_input("Seed", 0, 10_000, value=0, key="retrain_seed")
        start = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:",
                                      key="retrain_start")
    if start:
        if not mods:
            st.error("Choose at least one modality.")
        else:
            request = training.TrainRequest(architecture=arch, modalities=training.parse_modalities(",".join(mods)),
                                            epochs=int(epochs), seed=int(seed))
            who = session.account_name() or "?"
            job_id = jobs.start_job(ctx, request, who=who)
            audit.record(ctx, actor=who, action="retrain", target=f"job {job_id}",
                         detail={"architecture": arch, "modalities": list(mods), "epochs": int(epochs),
                                 "seed": int(seed)})
            components.flash("success", f"Training job {job_id} started in its own process.")
            st.rerun()


def _job_panel(job) -> None:  # noqa: ANN001 - a repo.JobRow
    epochs = job.params.get("epochs", 0)
    arch = job.params.get("architecture", "?")
    st.markdown(f"**Job {job.id}** · {arch} · {letters(job.params.get('modalities', []))} "
                f"· {epochs} epochs · started by {components.plain(job.created_by or '?')} · **{job.status}**")
    st.progress(min(max(job.progress, 0.0), 1.0), text=job.message or job.status)
    if job.history:
        st.plotly_chart(figures.curve_figure(job.history, title=f"Job {job.id}: loss and validation Macro-F"),
                        key=f"retrain_curve_{job.id}")
    if admin and not job.cancel_requested and st.button("Cancel this job", key=f"retrain_cancel_{job.id}",
                                                        icon=":material/stop:"):
        jobs.request_cancel(ctx, job.id)
        st.toast(f"Cancelling job {job.id}…")
    if job.cancel_requested:
        st.caption("Cancellation requested: the worker stops after the current step.")


def _live() -> None:
    recent = dashboard.jobs_view(ctx)
    running = [j for j in recent if j.status in ACTIVE_STATES]
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


recent = dashboard.jobs_view(ctx)
st.subheader("Live progress")
# Poll only while a job is queued or running; the fragment reruns the whole page when it ends.
st.fragment(_live, run_every=2.0 if any(j.status in ACTIVE_STATES for j in recent) else None)()

st.subheader("Recent jobs")
if not recent:
    st.caption("No training job yet.")
else:
    st.dataframe(pd.DataFrame([{
        "job": j.id, "status": j.status, "architecture": j.params.get("architecture"),
        "epochs": j.params.get("epochs"), "by": j.created_by, "model version": j.model_version_id,
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
        if st.button(f"Promote #{new.id} to active", type="primary", key="retrain_promote",
                     icon=":material/rocket_launch:"):
            with st.spinner("Recomputing every video's prediction with the new model…"):
                count = components.attempt(training.promote, ctx, new.id, actor=session.account_name() or "?")
            if count is not None:
                cache.clear_after_model_change()
                components.flash("success", f"Version #{new.id} is now active; {count} predictions recomputed.")
                st.rerun()
    else:
        st.caption("An admin can promote this version to active.")
