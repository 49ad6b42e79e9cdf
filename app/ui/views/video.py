"""Video detail (`?video=ID`): player, caption, the 12 frames and 6 s of audio the model reads, the
label with its history and a corrector, the active model's top-5, the live modality ablation, and
"Why this venue?": atom activations, the atoms that pushed the score, and per-frame / per-clip /
per-word Integrated Gradients, for the prediction or any other venue ("why not X?")."""
from __future__ import annotations

import streamlit as st

from app.services import annotate
from app.ui import cache, charts, components, label_editor, map_panel, media_figures, navigation, player, why_panel
from app.ui.pages import VIDEO_DRAWN_KEY as DRAWN_KEY

FIRST_PAINT_S = 0.2  # after the first paint, the rest of the page: enough for Chromium to lay out the player

video_id = navigation.requested_video()
if video_id is None:
    components.show_flash()
    st.title("Video detail")
    st.info("Open a video from Browse, Annotate or Failure cases, or type its id.", icon=":material/movie:")
    typed = st.number_input("Video id", min_value=1, step=1, value=None, key="video_pick")
    if typed is not None:
        navigation.open_video(int(typed))
    st.stop()

detail = components.attempt(cache.video_detail, video_id)
if detail is None:
    st.page_link(navigation.PAGE_FILES["browse"], label="Back to Browse", icon=":material/grid_view:")
    st.stop()
video = detail.video
model = detail.model
# A video's first page run draws what a person looks at first (title, player, caption) and stops; the browser's
# timer (a fragment's run_every) asks for the rest once that is painted. Drawn in one pass, the charts, the label
# editor and the rest kept Chromium from starting the video: from a Browse card, the player's first frame came
# after 0.68 s in one pass and 0.28 s in two; the rest of the page (the "Why this venue?" button) after 0.99 s and
# 1.22 s (benchmarks/dashboard_browser.py, docs/dashboard-browser.md): the video first, the rest 0.2 s later.
first_paint = st.session_state.get(DRAWN_KEY) != video.id  # main.py forgets it on every other page
st.session_state[DRAWN_KEY] = video.id
if not first_paint:
    components.show_flash()
st.title(f"Video #{video.id}")
st.text(video.original_name)  # user text (file name, caption): always plain text, never Markdown or HTML

# ---------------------------------------------------------------- what the video is

@st.fragment(run_every=FIRST_PAINT_S)
def _rest_after_first_paint() -> None:
    """Nothing in the page run; in the fragment run the browser's timer asks for, the whole page again."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    run = get_script_run_ctx()
    if run is not None and run.fragment_ids_this_run:
        st.rerun()


left, right = st.columns([3, 2])
why_key = f"video_why_open_{video.id}"
with left:
    if detail.media_file:  # its time line is coloured by "Why this venue?" below (a feed from that fragment)
        player.player(detail.playback or detail.media_file, fps=video.fps, key="video_player", video_id=video.id,
                      caption=video.caption)
    else:
        st.warning("The stored file of this video is missing.", icon=":material/warning:")
    st.caption("Caption")
    st.text(video.caption or "(none)")
    st.caption(f"{video.duration:.1f} s · {video.width}×{video.height} · "
               f"{'with' if video.has_audio else 'no'} audio · source {video.source}")
    navigation.triage_badges(cache.triage_flags((video.id,)).get(video.id, ()))
if first_paint:
    _rest_after_first_paint()
    st.stop()
with right:
    st.caption("Current label")
    st.text(video.current_venue or "(none)")
    label_editor.undo_button(video_id=video.id, key="video_undo")
    label_editor.label_editor(
        video, cache.venue_choices(), key=f"video_{video.id}",
        save=lambda **kw: annotate.relabel(cache.ctx(), video_id=video.id, **kw).version,
    )
    with st.expander(f"Label history ({len(detail.history)})", expanded=bool(detail.history)):
        if detail.history:
            for line in label_editor.history_lines(detail.history):
                st.text(line)
        else:
            st.caption("No label yet.")

view = components.attempt(cache.media_view, video.sha256, video.path)
if view is not None:
    st.image(media_figures.frame_strip(view.frames), caption="The 12 frames the model reads (one every 0.5 s)",
             width="stretch")
    if view.has_audio:
        kind = st.segmented_control("Audio", ["Waveform", "Spectrogram"], default="Waveform", required=True,
                                    key="video_audio_view")
        audio = cache.audio_views(video.sha256, video.path)
        if kind == "Waveform":
            components.chart(charts.waveform(audio["waveform"]), key="video_audio")
        else:  # Plotly's bundle loads only when a person asks for the spectrogram (app/ui/charts.py says why)
            st.plotly_chart(media_figures.spectrogram_figure(audio["spectrogram"]), key="video_audio")
    else:
        st.caption("This video has no audio track (the acoustic features are silence).")

# ---------------------------------------------------------------- what the model says

if model is None:
    components.need_model(cache.status())
    st.stop()
st.header(f"Model #{model.id} {components.plain(model.name)}")
components.ood_warning(detail.ood_score)
c1, c2 = st.columns(2)
with c1:
    if detail.top:
        components.chart(charts.top_venues(detail.top, label=video.current_venue), key="video_top5")
    else:
        st.info("No stored prediction for this video (it may lack features); the views below compute one.")
with c2:
    ablation = components.attempt(cache.ablation, video.id, model.id)
    if ablation is not None:
        components.chart(charts.ablation(ablation.rows, full_prediction=ablation.full_prediction),
                         key="video_ablation")
        st.caption(f"Each bar: the venue predicted from those modalities alone ({ablation.note}).")

map_panel.more_like_this(video.id)

# ---------------------------------------------------------------- why


@st.fragment
def why_section() -> None:
    """ "Why this venue?": the button, then the explanation of the prediction or of a venue picked below, and its
    frame, clip and word attributions sent to the player's time line above. A fragment: its button and its venue
    picker rerun this section alone (the page above stays drawn; the player keeps its video)."""
    opened = bool(st.session_state.get(why_key))
    shown = None
    try:
        shown = _why(opened)
    finally:  # every run says what the player's time line shows: this explanation, or none (closed, failed)
        if detail.media_file:
            player.timeline_feed(player.timeline_of(shown), video_id=video.id, target="video_player",
                                 key="video_why_feed")


def _why(opened: bool):  # noqa: ANN202 - the ExplanationView shown, or None
    if not opened:
        if ablation is not None:  # the model loaded: explain the prediction while the person watches (one background
            cache.prefetch_explanation(video.id, model.id)  # thread), so the click below usually reads a file
        st.button("Why this venue?", key="video_why", icon=":material/psychology:", type="primary",
                  on_click=st.session_state.__setitem__, args=(why_key, True))
        return None

    st.header("Why this venue?")
    with st.spinner("Computing the attributions (Integrated Gradients)…"):
        first = components.attempt(cache.explanation, video.id, None, model.id)
    if first is None:
        return None
    options = [None] + [p.venue_id for p in first.probabilities]
    names = {p.venue_id: f"{p.venue} ({p.probability:.1%})" for p in first.probabilities}
    names[None] = f"the prediction: {first.predicted.venue} ({first.predicted.probability:.1%})"
    target = st.selectbox("Explain the score of", options, format_func=names.get, key="video_why_target",
                          help="Pick another venue to ask: why not this one?")
    result = first if target is None else components.attempt(cache.explanation, video.id, target, model.id)
    if result is None:
        return None
    venue = result.target.venue
    verb = "predicted" if result.explains_prediction else "not predicted"
    st.caption(f"**{components.plain(venue)}** ({verb}, probability {result.target.probability:.1%}). Red pushed its "
               "score up, blue pushed it down. Integrated Gradients against an all-zero video "
               f"(convergence delta {result.inputs.delta:.3f}).")

    why_panel.atoms_section(result, venue)
    why_panel.moments_section(result, view, video)
    with st.expander("Timings"):
        st.json(result.timings | {"from cache": result.cached})
    return result


why_section()
