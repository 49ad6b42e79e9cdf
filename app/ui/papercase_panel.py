"""The paper's failure cases on the Case study page: for v3 and v4, what was searched and found (or the stand-in),
the paper's Table 5 row beside it, and the attributions that explain the pull toward the confused venue."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.services import papercases
from app.services.status import ActiveModel
from app.ui import cache, charts, components, media_figures, navigation


def paper_cases_section(model: ActiveModel) -> None:
    cases = cache.paper_cases(model.id)
    st.subheader("The paper's failure cases, searched for")
    if cases:
        st.caption(f"Searched: {cases[0].source}.")
    for case in cases:
        with st.container(border=True, key=f"paper_case_{case.case}"):
            st.markdown(f"**{case.case}** · {case.label} → {case.confused}")
            left, right = st.columns([2, 3])
            with left:
                if case.found:
                    st.success(case.note, icon=":material/search:")
                else:
                    st.info(case.note, icon=":material/search_off:")
                st.caption("The paper's Table 5 for this video:")
                st.dataframe(pd.DataFrame(papercases.paper_table(case.case)), hide_index=True,
                             key=f"paper_table_{case.case}")
            with right:
                if case.video_id is None or case.confused_venue_id is None:
                    st.caption("Nothing to explain.")
                    continue
                _explain(case, model)
            navigation.video_link(case.video_id, f"Open video #{case.video_id} (player and time line)")


def _explain(case: papercases.PaperCase, model: ActiveModel) -> None:
    """Why the model leans toward the confused venue: atom pushes, frames and words for that venue."""
    result = components.attempt(cache.explanation, case.video_id, case.confused_venue_id, model.id)
    if result is None:
        return
    target = result.target
    st.caption(f"Active model #{model.id}: P({components.plain(target.venue)}) = {target.probability:.1%}; it "
               f"predicts {components.plain(result.predicted.venue)} ({result.predicted.probability:.0%}). Red "
               f"pushed {components.plain(target.venue)} up, blue down.")
    atoms = result.atoms
    if atoms is not None:
        components.chart(charts.contributions(np.asarray(atoms.layer_ig), result.modalities, venue=target.venue,
                                              top=8), key=f"paper_atoms_{case.case}")
    inputs = result.inputs
    detail = components.attempt(cache.video_detail, case.video_id)
    if detail is not None and inputs.visual is not None:
        view = components.attempt(cache.media_view, detail.video.sha256, detail.video.path)
        if view is not None:
            st.image(media_figures.frame_strip(view.frames, inputs.visual), width="stretch",
                     caption=f"Frames pushing toward {components.plain(target.venue)} (red) or away (blue)")
    if inputs.acoustic is not None:
        st.caption("Audio clips: " + ", ".join(f"{i}-{i + 1} s {v:+.2f}" for i, v in enumerate(inputs.acoustic)))
    if inputs.caption_words:
        st.markdown(media_figures.caption_html(inputs.caption_words), unsafe_allow_html=True)
