"""Map: the whole corpus as one WebGL scatter of the active model's embeddings (joint space or one modality),
coloured by what matters now; a click shows a video's card, a lasso or box opens the selection's actions."""
from __future__ import annotations

import streamlit as st

from app.services import corpusmap, embeddings
from app.ui import cache, components, map_figures, map_panel, session
from core.embeddings import SPACES

st.title("Corpus map")
components.show_flash()
state = cache.map_state()


def _job_progress() -> None:
    current = corpusmap.state(cache.ctx())
    watching = st.session_state.get("map_watching")
    if current.job is not None:
        st.session_state["map_watching"] = current.job.id
        st.progress(min(max(current.job.progress, 0.0), 1.0),
                    text=f"Embeddings job {current.job.id}: {current.job.message or current.job.status}")
    elif watching is not None:  # it ended while we watched: draw what it made
        st.session_state.pop("map_watching")
        cache.map_state.clear()
        cache.map_points.clear()
        st.rerun(scope="app")


def _start_button(label: str) -> None:
    if not session.is_admin():
        st.caption("An admin can compute it here, or run `python -m app embeddings`.")
        return
    if st.button(label, key="map_start", icon=":material/scatter_plot:", type="primary"):
        job_id = components.attempt(embeddings.start, cache.ctx(), who=session.account_name() or "",
                                    rebuild=state.run is not None)
        if job_id:
            st.session_state["map_watching"] = job_id
            cache.map_state.clear()
            st.rerun()


if state.model_id is None:
    st.info("No active model yet, so there is no embedding to map: train one (`python -m app train --activate`, or "
            "the Retrain page) and its map is computed in the background.", icon=":material/model_training:")
    st.stop()
st.fragment(_job_progress, run_every=2.0 if state.job is not None else None)()
run = state.run
if run is None:
    st.info("No embeddings of the active model yet." + (" Its job is running (above)." if state.job else ""),
            icon=":material/hourglass_empty:")
    if state.job is None:
        _start_button("Compute the map of the active model")
    st.stop()

c1, c2 = st.columns([2, 3])
spaces = [s for s in SPACES if s in run.spaces]
space = c1.segmented_control("Space", spaces, default=spaces[0], required=True, key="map_space",
                             format_func=str.capitalize, help="joint: the common space the model's modalities "
                             "share; or one modality's own vectors")
colour = c2.selectbox("Colour by", list(corpusmap.COLOURS), format_func=lambda k: corpusmap.COLOURS[k][0],
                      key="map_colour")
if not state.ready(space):
    st.info(f"The {space} layout is not computed yet ({run.row.status}: {run.row.message}).",
            icon=":material/hourglass_empty:")
    if state.job is None and run.row.status != "running":
        _start_button("Finish the map (resumes where it stopped)")
    st.stop()

points = cache.map_points(space, run.id, tuple(run.row.stages_done))
title, categorical = corpusmap.COLOURS[colour]
st.caption(f"{len(points):,} videos · model {state.model_name} · run {run.id} · lasso or box to select, click "
           "one to see its card")
left, right = st.columns([4, 1])
with left:
    event = st.plotly_chart(map_figures.map_figure(points, colour, categorical=categorical, title=title),
                            key="map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})
ids = map_figures.selected_ids(event.selection if event is not None else None)
with right:
    if len(ids) == 1:
        map_panel.card(ids[0])
    else:
        st.caption("Click a point to see its video here.")
if len(ids) > 1:
    map_panel.selection_panel(ids)
