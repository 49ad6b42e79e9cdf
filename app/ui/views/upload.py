"""Upload: drop a video; the page saves it in the home and an ingest job (its own process, the job room) checks,
stores, extracts and predicts it like `python -m app ingest --background`, while the page shows its progress and,
when it ends, the file's outcome."""
from __future__ import annotations

import streamlit as st

from app.services import ingest_job
from app.ui import cache, components, session, upload_panel

st.title("Upload a video")
components.show_flash()
limit = cache.ctx().settings.upload_max_mb
st.caption(f"Any video ffmpeg reads (mp4, mov, webm, mkv, avi, mpg, 3gp, ts, wmv, flv, ...), up to {limit} MB; "
           "the file's content decides, not its name. The model reads the first 6 seconds: 12 frames, 6 one-second "
           "audio clips and the caption. The file is ingested by a background job: you may leave this page.")

if not session.can("upload"):  # the navigation hides this page then; a shared link or a stale tab lands here
    st.info(session.needs("upload", "Uploading"), icon=":material/lock:")
    st.stop()
who = session.account_name() or ""

with st.form("upload_form", clear_on_submit=True):
    file = st.file_uploader("Video file", type=None, max_upload_size=limit, key="upload_file")
    caption = st.text_area("Caption (optional)", key="upload_caption", max_chars=2000, height=80)
    venue = st.selectbox("Venue label, if you know it (optional)", cache.venue_choices(), index=None,
                         key="upload_venue", placeholder="no label")
    submitted = st.form_submit_button("Ingest and predict", type="primary", icon=":material/upload:",
                                      key="upload_submit")

if submitted:
    if file is None:
        st.error("Choose a video file first.")
    else:  # the bytes are saved, not decoded: probing, copying and extracting happen in the job's worker
        job_id = components.attempt(ingest_job.submit_upload, cache.ctx(), filename=file.name, data=file.getvalue(),
                                    caption=caption, venue=venue, who=who)
        if job_id:
            st.session_state["upload_running"] = sorted({*st.session_state.get("upload_running", []), job_id})
            components.flash("info", f"Upload job {job_id} started; its progress is below.")
            st.rerun()

st.subheader("Your uploads")
active = any(j.active for j in ingest_job.recent_uploads(cache.ctx(), who=who))
st.fragment(upload_panel.live, run_every=1.0 if active else None)(who)
