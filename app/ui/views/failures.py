"""Failure cases, out of sample: the most confident mistakes and the most confused venue pairs of out-of-fold
predictions (or of the active model on its test split), never of predictions on training videos."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui import cache, components, navigation

st.title("Failure cases")
model = components.need_model(cache.status())
if model is None:
    st.stop()
gallery = cache.failure_gallery(model.id, 12)
source = gallery.source
if source.kind == "crossval":
    st.caption(f"Mistakes of out-of-fold predictions ({source.name}): every video was scored by a fold model that "
               "never trained on it; labels changed since its snapshot are left out. Open one to see why the active "
               "model decides as it does.")
else:
    st.caption(f"Mistakes of the active model #{model.id} on its test split only (videos it never trained on). "
               "A cross-validation (Annotate or Models page) extends this to every video.")
st.subheader("Most confident mistakes")
if not gallery.mistakes:
    st.success("The active model gets every labelled video right.")
else:
    mistakes = gallery.mistakes
    navigation.video_cards(mistakes, cache.thumbnails(tuple(mistakes)), grid="mistakes",
                           subtitle=lambda r: f"label {r.label} · taken for {r.predicted} ({r.confidence:.0%})")

st.subheader("Most confused venue pairs")
if not gallery.pairs:
    st.caption("No confused pairs.")
else:
    pairs = pd.DataFrame([{"label": p.true_venue, "predicted as": p.predicted_venue, "videos": p.count,
                           "true_id": p.true_venue_id, "pred_id": p.predicted_venue_id} for p in gallery.pairs])
    st.caption("Select a pair to see its videos.")
    event = st.dataframe(pairs, hide_index=True, key="failures_pairs", on_select="rerun", selection_mode="single-row",
                         column_order=("label", "predicted as", "videos"))
    if event.selection.rows:
        pair = pairs.iloc[event.selection.rows[0]]
        rows = cache.pair_videos(model.id, int(pair["true_id"]), int(pair["pred_id"]), 12)
        st.markdown(f"**{components.plain(pair['label'])}** taken for **{components.plain(pair['predicted as'])}**")
        navigation.video_cards(rows, cache.thumbnails(tuple(rows)), grid="pair")
