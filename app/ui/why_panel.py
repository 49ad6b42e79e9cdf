"""The "Why this venue?" parts of the video detail page: the atoms (activations, the atoms that pushed the score,
sparsity, a link to the strongest atom) and the moments and words (frames, audio clips, caption) behind one
explanation (app.services.explain)."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from app.services.explain_view import ExplanationView
from app.ui import cache, charts, components, media_figures, navigation


def atoms_section(result: ExplanationView, venue: str) -> None:
    """The dictionary atoms of the explanation: their codes, their pushes on `venue`'s score and their sparsity."""
    atoms = result.atoms
    if atoms is None:
        st.info(f"{result.model.architecture} has no dictionary atoms; the per-step attributions below still "
                "apply.")
        return
    activations = np.asarray(atoms.activations)
    mods = result.modalities
    a1, a2 = st.columns(2)
    with a1:
        components.chart(charts.atom_heatmap(activations, mods), key="why_atoms")
    with a2:
        components.chart(charts.contributions(np.asarray(atoms.layer_ig), mods, venue=venue), key="why_atom_push")
    zero = " · ".join(f"{m}: {share:.0%} of atoms silent" for m, share in atoms.zero_fraction.items())
    st.caption(f"Sparsity: {zero}. Atom pushes are Layer Integrated Gradients on the dictionary layer.")
    if atoms.top:
        strongest = atoms.top[0]
        st.page_link(navigation.PAGE_FILES["atoms"], label=f"Explore atom {strongest.atom} (strongest push)",
                     icon=":material/scatter_plot:", query_params={"atom": str(strongest.atom)})


def moments_section(result: ExplanationView, view: Any, video: Any) -> None:
    """Which frames, audio clips and words pushed the score; `view` is the video's media view (None when its file
    could not be read), `video` its detail row."""
    inputs = result.inputs
    st.subheader("Which moments and words")
    if view is not None and inputs.visual is not None:
        st.image(media_figures.frame_strip(view.frames, inputs.visual), width="stretch",
                 caption="Frames: bar length is the attribution of each frame (red up, blue down)")
    if inputs.acoustic is not None:
        if view is not None and view.has_audio:
            wave = cache.audio_views(video.sha256, video.path)["waveform"]
            components.chart(charts.waveform(wave, inputs.acoustic), key="why_audio")
        else:
            st.caption("Audio clips: " + ", ".join(f"{i}-{i + 1} s {v:+.2f}"
                                                   for i, v in enumerate(inputs.acoustic)))
    if inputs.caption_words is not None:
        st.caption("The player's time line (top) shows these frames, clips and the caption's words in one row each; "
                   "grey words were not read by the model." if inputs.caption_words else "No caption to attribute.")
