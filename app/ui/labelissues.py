"""The label-issue panel shared by Annotate and Models: which predictions rank the queue, how stale they are,
a cross-validation's live progress, the admin's button to start one, and the issues download."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app.services import annotate, export, jobs, requests
from app.services.export_formats import formats_for
from app.ui import cache, components, session

ACTIVE = jobs.ACTIVE_STATES


def source_panel(*, key: str) -> annotate.QueueSource:
    """Say where the queue's ranking comes from (never in-sample) and offer what is missing."""
    source = cache.queue_source()
    if source.kind == "crossval":
        st.info(source.description, icon=":material/verified:")
        cols = st.columns(3)
        cols[0].metric("Labels that look wrong", source.n_issues,
                       help="cleanlab.filter.find_label_issues on the out-of-fold probabilities: an estimate "
                            "that also counts the model's own confusions when it is weak (on 600 demo videos with "
                            "18 planted wrong labels it flagged 196), so review the queue from the top")
        cols[1].metric("Videos scored out of sample", source.n_scored)
        cols[2].metric("Labels changed since", source.stale_labels,
                       help="label saves after the set's snapshot; re-run the cross-validation to rank them anew")
        if source.stale_labels:
            st.caption(f":material/history: {source.stale_labels} labels changed since this set was computed: still "
                       "usable (relabelled videos leave the queue), but the ranking no longer reflects them.")
    elif source.kind == "test_split":
        st.warning(source.description, icon=":material/science:")
    else:
        st.info("No model yet, so there is nothing to rank labels with.", icon=":material/hourglass_empty:")
    st.fragment(_progress, run_every=2.0 if _running() else None)()
    if source.kind != "none" or _running():
        _start_button(source, key=key)
    return source


def _running() -> bool:
    return any(j.status in ACTIVE for j in annotate.crossval_jobs(cache.ctx(), limit=1))


def _progress() -> None:
    recent = annotate.crossval_jobs(cache.ctx(), limit=1)
    job = recent[0] if recent else None
    running = job if job is not None and job.status in ACTIVE else None
    if components.watch_job(running, state_key="labelissues_watching", label="Cross-validation") is not None:
        cache.clear_after_label_change()  # it ended while we watched: the queue has a new source
        st.rerun(scope="app")
    if running is None and job is not None and job.status == jobs.JobStatus.FAILED:
        st.caption(f":material/error: The last cross-validation (job {job.id}) failed; its finished folds are kept "
                   "and `python -m app crossval --resume SET` continues it.")
        st.text(job.error or "")


def _start_button(source: annotate.QueueSource, *, key: str) -> None:
    if _running():
        return
    again = source.kind == "crossval"
    if not session.can("rerank"):
        if source.kind != "crossval":
            st.caption("An annotator can rank every label out of sample in seconds (the fast probe), an admin with "
                       "EASTERN too, or run `python -m app crossval`.")
        return
    quick, full = st.columns(2)
    if quick.button("Re-rank now (fast probe)" if again else "Rank labels now (fast probe)", key=f"{key}_probe",
                    icon=":material/bolt:", type="primary" if not again or source.stale_labels else "secondary",
                    help="5-fold logistic regression on pooled features, in the background: well under a minute "
                         "for 2,000 videos. Every video is scored by a fold that never saw it; run it after a "
                         "batch of corrections"):
        _start(architecture="probe")
    if not session.is_admin():
        return
    if full.button("Re-run cross-validation (EASTERN)" if again else "Compute label issues with EASTERN",
                   key=f"{key}_crossval", icon=":material/model_training:",
                   help="5 EASTERN fold models trained in the background (minutes), their probabilities averaged "
                        "with the probe's on the same folds (the ranking that found the most planted wrong labels: "
                        "docs/label-issues.md). The probe's ranking is published first; this one replaces it"):
        _start(architecture="eastern")


def _start(*, architecture: str) -> None:
    job_id = components.attempt(requests.start_crossval, cache.ctx(), who=session.account_name() or "",
                                architecture=architecture)
    if job_id is not None:
        st.session_state["labelissues_watching"] = job_id
        cache.clear_after_label_change()
        st.rerun()


def download(kind: str, *, key: str, label: str, model_id: int | None = None) -> None:
    """A download button that runs the export when clicked (streamed to a temporary file, then served), in the
    format picked beside it (the formats a browser can save, from app.services.export_formats); signed out, a
    line saying to sign in instead (export needs a viewer account)."""
    if not session.can("export"):
        st.caption(f"{label}: sign in first (a viewer account at least).")
        return
    actor = session.account_name() or ""
    choices = {f.name: f for f in formats_for(kind, downloadable=True)}
    picked = st.segmented_control("Format", list(choices), default="csv" if "csv" in choices else next(iter(choices)),
                                  key=f"{key}_format", label_visibility="collapsed") or "csv"
    fmt = choices[picked]

    def produce() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{kind}.{fmt.suffix}"
            export.export(cache.ctx(), kind, fmt=fmt.name, out=out, model_id=model_id, actor=actor)
            return out.read_bytes()

    st.download_button(label, data=produce, file_name=f"eastern-{kind}.{fmt.suffix}", mime=fmt.mime, key=key,
                       icon=":material/download:", on_click="ignore")
