"""Failure cases: the active model's most confident mistakes and its most confused venue pairs."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import cache, components

st.title("Failure cases")
model = components.need_model(cache.status())
if model is None:
    st.stop()
st.caption(f"Mistakes of the active model **#{model['id']} {model['name']}** against the current labels "
           "(over every video, not only the test split). Open one to see why.")

gallery = cache.failure_gallery(model["id"], 12)
st.subheader("Most confident mistakes")
if not gallery["mistakes"]:
    st.success("The active model gets every labelled video right.")
else:
    mistakes = gallery["mistakes"]
    components.video_cards(mistakes, cache.thumbnails(tuple(mistakes)),
                           subtitle=lambda r: f"label {r.label} · taken for {r.predicted} ({r.confidence:.0%})")

st.subheader("Most confused venue pairs")
if not gallery["pairs"]:
    st.caption("No confused pairs.")
else:
    pairs = pd.DataFrame([{"label": p.true_venue, "predicted as": p.predicted_venue, "videos": p.count,
                           "true_id": p.true_venue_id, "pred_id": p.predicted_venue_id} for p in gallery["pairs"]])
    st.caption("Select a pair to see its videos.")
    event = st.dataframe(pairs, hide_index=True, key="failures_pairs", on_select="rerun", selection_mode="single-row",
                         column_order=("label", "predicted as", "videos"))
    if event.selection.rows:
        pair = pairs.iloc[event.selection.rows[0]]
        rows = cache.pair_videos(model["id"], int(pair["true_id"]), int(pair["pred_id"]), 12)
        st.markdown(f"**{pair['label']}** taken for **{pair['predicted as']}**")
        components.video_cards(rows, cache.thumbnails(tuple(rows)))
