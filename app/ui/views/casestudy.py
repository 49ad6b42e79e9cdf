"""Case study, like the paper's Table 5: the paper's v3/v4 failures (College Basketball Court taken for General
Entertainment, Speakeasy for Garden) searched in the out-of-sample predictions, then for chosen videos what every
trained model version predicts beside the label, and the attributions that explain the mistake."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.services import casestudy
from app.ui import cache, charts, components, navigation, papercase_panel

st.title("Case study")
model = components.need_model(cache.status())
if model is None:
    st.stop()
st.caption("Like Table 5 of the paper: every trained version's prediction for a few videos, then why the chosen "
           "version gets them wrong. Versions that were never active compute their predictions once, here.")

papercase_panel.paper_cases_section(model)

st.subheader("What each model version predicts")
candidates = cache.case_candidates(model.id)
if not candidates.options:
    st.success("The active model makes no mistakes to study.")
    st.stop()
notes = candidates.notes
chosen = st.multiselect(
    "Videos", candidates.options, default=candidates.preselected, key="case_videos",
    format_func=lambda v: f"#{v}" + (f" — {notes[v]}" if v in notes else ""), max_selections=8)
if not chosen:
    st.info("Choose at least one video.")
    st.stop()

videos = cache.videos_by_id(tuple(sorted(chosen)))
versions = cache.model_list()
with st.spinner("Predicting with every model version…"):
    predictions = {v.id: components.attempt(cache.model_predictions, v.id, tuple(sorted(chosen))) or {}
                   for v in versions}
table = pd.DataFrame(casestudy.case_table(videos, versions, predictions)).set_index("video").T
table.columns = [f"video #{c}" for c in table.columns]
st.dataframe(table, key="case_table")
st.caption("✓ right, ✗ wrong against the current label; ★ the active version.")

st.subheader("Why the mistake")
deep = casestudy.explainable(versions)
labels = {v.id: v.title for v in deep}
explain_with = st.selectbox("Explain with", list(labels), format_func=labels.get, key="case_model",
                            index=next((i for i, v in enumerate(deep) if v.active), 0))
for video in videos:
    with st.container(border=True):
        st.text(f"#{video.id} {video.original_name} · label {video.label or 'none'}"  # a file name: plain text
                + (f" · {notes[video.id]}" if video.id in notes else ""))
        predicted = components.attempt(cache.explanation, video.id, None, explain_with)
        if predicted is None:
            continue
        classes = {p.venue_id for p in predicted.probabilities}
        for_label = None
        if video.label_venue_id in classes and video.label_venue_id != predicted.predicted.venue_id:
            for_label = components.attempt(cache.explanation, video.id, video.label_venue_id, explain_with)
        story = casestudy.case_story(predicted, for_label, video.label,
                                     label_known=video.label_venue_id in classes)
        left, right = st.columns([2, 3])
        with left:
            for line in story.lines:
                st.text(f"• {line}")
            st.dataframe(pd.DataFrame(story.push), hide_index=True, key=f"case_push_{video.id}",
                         column_config={c: st.column_config.NumberColumn(c, format="%+.3f")
                                        for c in ("toward prediction", "toward label")})
            st.dataframe(pd.DataFrame(story.ablation), hide_index=True, key=f"case_ablation_{video.id}",
                         column_config={"probability": st.column_config.ProgressColumn(
                             "probability", min_value=0.0, max_value=1.0, format="percent")})
        with right:
            atoms = predicted.atoms
            if atoms is not None:
                components.chart(charts.contributions(
                    np.asarray(atoms.layer_ig), predicted.modalities, venue=predicted.predicted.venue,
                    top=8), key=f"case_atoms_pred_{video.id}")
                if for_label is not None and for_label.atoms is not None:
                    components.chart(charts.contributions(
                        np.asarray(for_label.atoms.layer_ig), for_label.modalities,
                        venue=for_label.target.venue, top=8), key=f"case_atoms_label_{video.id}")
            else:
                st.caption("This version has no dictionary atoms; the modality pushes on the left are its "
                           "Integrated Gradients.")
        navigation.video_link(video.id, "Open the video (frames, audio and caption attributions)")
