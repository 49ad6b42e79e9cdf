"""Atom explorer: what each dictionary atom of the active model stands for — the videos that activate it most in
each modality (frames as cards, the 1-second clips to hear, the captions and their words to read), and the venues
the classifier lets it vote for (`?atom=K`)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app.ui import atom_panels, cache, components, figures, navigation

PER_MODALITY = 8
SUPPORT_TOP = 8

st.title("Atom explorer")
model = components.need_model(cache.status())
if model is None:
    st.stop()
overview = components.attempt(cache.atom_overview, model.id)
if overview is None:
    st.stop()
n_atoms, mods = overview.atoms, overview.modalities
st.caption(f"Model **#{model.id} {components.plain(model.name)}**: {n_atoms} atoms shared by {len(mods)} "
           f"modalities, codes of {overview.videos:,} videos saved at promotion.")

linked = st.query_params.get("atom")
if linked is not None and linked != st.session_state.get("atoms_link"):  # a new deep link ?atom=K
    st.session_state["atoms_link"] = linked
    number = navigation.int_param(linked)
    st.session_state["atoms_pick"] = min(number, n_atoms - 1) if number is not None else 0
st.session_state.setdefault("atoms_pick", 0)
event = st.plotly_chart(
    figures.atom_overview_figure(np.asarray(overview.active_share), np.asarray(overview.mean), mods,
                                    selected=st.session_state["atoms_pick"]),
    key="atoms_overview", on_select="rerun", selection_mode="points")
points = event.selection.get("points", []) if event else []
clicked = int(points[0]["x"]) if points else None
if clicked is not None and clicked != st.session_state.get("atoms_clicked"):
    st.session_state["atoms_clicked"] = clicked  # a new click wins over the number box once
    st.session_state["atoms_pick"] = clicked
atom = int(st.number_input("Atom", min_value=0, max_value=n_atoms - 1, step=1, key="atoms_pick"))
st.query_params["atom"] = st.session_state["atoms_link"] = str(atom)

support = components.attempt(cache.atom_venue_support, atom, model.id)
tops = components.attempt(cache.atom_top_videos, atom, model.id, PER_MODALITY)
if support is None or tops is None:
    st.stop()
ids = tuple(sorted({v["video_id"] for rows in tops.values() for v in rows}))
rows_by_id = {r.id: r for r in cache.videos_by_id(ids)}
thumbs = cache.thumbnails(tuple(rows_by_id.values())) if rows_by_id else {}

for modality in mods:
    st.subheader(f"Atom {atom} · {figures.MODALITY_LABELS.get(modality, modality)}")
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(figures.support_figure(support[modality][:SUPPORT_TOP],
                                                  title=f"Venues it votes for ({modality} row)"),
                        key=f"atoms_support_{modality}")
    with right:
        active = tops.get(modality, [])
        if not active:
            st.caption("No video activates this atom in this modality.")
            continue
        if modality == "acoustic":  # to hear: the 1-second clips that fire it
            atom_panels.acoustic_clips(atom, model.id, active, rows_by_id)
            continue
        if modality == "textual":  # to read: the captions and the words that fire it
            atom_panels.textual_words(atom, model.id, active, rows_by_id, key=f"atoms_words_{atom}")
            continue
        activation = {v["video_id"]: v["activation"] for v in active}
        cards = [rows_by_id[v["video_id"]] for v in active if v["video_id"] in rows_by_id]
        navigation.video_cards(cards, thumbs, grid=f"atom-{atom}-{modality}", subtitle=lambda r, a=activation: (
            f"code {a[r.id]:.3f} · label {r.label or 'none'}"))
