"""Upload: drop a video; it is ingested like `python -m app ingest`, its features are extracted and
the active model predicts its venue."""
from __future__ import annotations

import streamlit as st

from app.services import ingest
from app.ui import cache, components, figures, navigation, session

st.title("Upload a video")
components.show_flash()
limit = cache.ctx().settings.upload_max_mb
st.caption(f"Any video ffmpeg reads (mp4, mov, webm, mkv, avi, mpg, 3gp, ts, wmv, flv, ...), up to {limit} MB; "
           "the file's content decides, not its name. The model reads the first 6 seconds: 12 frames, 6 one-second "
           "audio clips and the caption.")

if not session.can("upload"):  # the navigation hides this page too; a stale tab still lands here
    st.info("Uploading needs an annotator or admin account: sign in in the sidebar.", icon=":material/lock:")
    st.stop()

with st.form("upload_form", clear_on_submit=False):
    file = st.file_uploader("Video file", type=None, max_upload_size=limit, key="upload_file")
    caption = st.text_area("Caption (optional)", key="upload_caption", max_chars=2000, height=80)
    venue = st.selectbox("Venue label, if you know it (optional)", cache.venue_choices(), index=None,
                         key="upload_venue", placeholder="no label")
    submitted = st.form_submit_button("Ingest and predict", type="primary", icon=":material/upload:",
                                          key="upload_submit")

if submitted:
    if file is None:
        st.error("Choose a video file first.")
        st.stop()
    with st.status(f"Ingesting {components.plain(file.name)}…", expanded=True) as progress:
        st.write("Checking and storing the file, extracting features (the first upload loads the frame encoder)…")
        result = components.attempt(ingest.ingest_upload, cache.ctx(), filename=file.name, data=file.getvalue(),
                                    caption=caption, venue=venue, who=session.annotator() or "upload")
        ok = result is not None and not result.errors
        progress.update(label="Done" if ok else "Not ingested", state="complete" if ok else "error")
    if result is None:
        st.stop()
    for line in result.errors:  # they name the uploaded file: user text, escaped for the alert's Markdown
        st.error(components.plain(line), icon=":material/error:")
    for line in result.notes:
        st.info(components.plain(line))
    if result.existing_id:
        navigation.video_link(result.existing_id, f"Open the stored copy (video {result.existing_id})")
    if result.video_id:
        cache.clear_after_upload()
        st.success(f"Stored as video {result.video_id}.")
        navigation.video_link(result.video_id, f"Open video {result.video_id}")
    if result.prediction:
        model = result.prediction["model"]
        top = [(t["venue"], t["probability"]) for t in result.prediction["top"]]
        st.plotly_chart(figures.top_venues_figure(top, label=venue, title=f"Predicted by #{model['id']} "
                                                     f"{model['name']}"), key="upload_top")
        components.ood_warning(result.prediction.get("ood", {}).get("score"))
    elif result.prediction_error:
        st.info(result.prediction_error)
