"""The one module with Streamlit caching: the context (engine), loaded models, and query results keyed
by their inputs. Pages read through these wrappers; after a label edit, an upload, a promotion or a
finished job they call the matching `clear_after_*` function.

Results that depend on the database carry a short ttl as well, so a change made elsewhere (the CLI,
another server process) shows up without a restart.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from app.context import AppContext, make_context
from app.services import annotate, browse, casestudy, models, proxies, reports
from app.services import status as status_service
from app.settings import get_settings
from db import queries

QUERY_TTL = 120  # seconds a query result may be stale when changed outside this process


@st.cache_resource(show_spinner=False)
def _context(home: str, db_url: str) -> AppContext:
    return make_context(get_settings())


def ctx() -> AppContext:
    """The application context of this process (one engine per EASTERN_HOME and database)."""
    settings = get_settings()
    return _context(str(settings.home), settings.db_url)


@st.cache_resource(show_spinner=False, max_entries=4)
def loaded_model(home: str, model_id: int) -> Any:
    """A model version rebuilt from its checkpoint: (module, config, meta). Checkpoints never change. The process
    computes with EASTERN_DASHBOARD_TORCH_THREADS threads (jobs run in their own processes with their own)."""
    import torch

    torch.set_num_threads(get_settings().dashboard_torch_threads)
    return models.load_model(ctx(), model_id)


def _model_loader(context: AppContext, model_id: int) -> Any:
    return loaded_model(str(context.settings.home), model_id)


# ---------------------------------------------------------------- corpus and browse


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def status() -> status_service.Status:
    return status_service.status(ctx())


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def browse_page(filters: queries.VideoFilter, sort: str, page: int, page_size: int) -> browse.BrowsePage:
    return browse.browse_page(ctx(), filters=filters, sort=sort, page=page, page_size=page_size)


def thumbnails(rows: tuple[queries.BrowseRow, ...]) -> dict[int, str | None]:
    """Thumbnails of a page of cards, cached by (id, file) only: hashing whole rows (captions and all) for the
    cache key cost 20-40 ms a page at 200k videos (docs/scale.md)."""
    return _thumbnails(tuple((r.id, r.path) for r in rows))


@st.cache_data(show_spinner=False, max_entries=64)
def _thumbnails(items: tuple[tuple[int, str], ...]) -> dict[int, str | None]:
    return browse.thumbnails(ctx(), list(items))


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def venue_choices(used_only: bool = False) -> list[str]:
    return browse.venue_choices(ctx(), used_only=used_only)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def venue_ids(names: tuple[str, ...]) -> tuple[int, ...]:
    return browse.venue_ids(ctx(), names)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=256)
def video_detail(video_id: int) -> browse.VideoDetail:
    return browse.video_detail(ctx(), video_id)


@st.cache_data(show_spinner=False, max_entries=64)
def media_view(sha256: str, rel_path: str) -> proxies.MediaView:
    return proxies.media_view(ctx(), sha256=sha256, rel_path=rel_path)


@st.cache_data(show_spinner=False, max_entries=64)
def audio_views(sha256: str, rel_path: str) -> dict[str, dict[str, Any]]:
    view = proxies.media_view(ctx(), sha256=sha256, rel_path=rel_path)
    return {"waveform": browse.waveform(view.audio, view.sample_rate),
            "spectrogram": browse.spectrogram(view.audio, view.sample_rate)}


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=256)
def triage_flags(video_ids: tuple[int, ...]) -> dict[int, tuple[str, ...]]:
    """Triage flags (dead modalities) of some videos; videos not computed yet are absent."""
    from app.services import triage

    return triage.flags_of(ctx(), video_ids)


# ---------------------------------------------------------------- explanations (model id in every key)


@st.cache_data(show_spinner=False, max_entries=128)
def explanation(video_id: int, target_venue_id: int | None, model_id: int) -> dict[str, Any]:
    from app.services import explain

    return explain.explain_video(ctx(), video_id, target_venue_id=target_venue_id, model_id=model_id,
                                 load=_model_loader)


def prefetch_explanation(video_id: int, model_id: int) -> None:
    """Start the explanation of the prediction in the background (app.services.explain.prefetch_explanation) with
    the model this page run already holds, so "Why this venue?" reads it from disk when clicked."""
    from app.services import explain

    context = ctx()
    held = _model_loader(context, model_id)
    explain.prefetch_explanation(context, video_id, model_id, load=lambda _ctx, _id: held)


@st.cache_data(show_spinner=False, max_entries=128)
def ablation(video_id: int, model_id: int) -> Any:
    from app.services import explain

    return explain.modality_ablation_for_video(ctx(), video_id, model_id=model_id, load=_model_loader)


@st.cache_data(show_spinner=False, max_entries=8)
def atom_overview(model_id: int) -> dict[str, Any]:
    from app.services import explain

    return explain.atom_overview(ctx(), model_id=model_id)


@st.cache_data(show_spinner=False, max_entries=32)
def atom_top_videos(atom: int, model_id: int, per_modality: int) -> Any:
    from app.services import explain

    return explain.atom_top_videos(ctx(), atom, model_id=model_id, limit=per_modality)


@st.cache_data(show_spinner=False, max_entries=32)
def atom_venue_support(atom: int, model_id: int) -> Any:
    from app.services import explain

    return explain.atom_venue_support(ctx(), atom, model_id=model_id)


@st.cache_data(show_spinner=False, max_entries=32)
def atom_evidence(atom: int, model_id: int, modality: str, video_ids: tuple[int, ...]) -> list[Any]:
    """The 1-second clip (acoustic) or the words (textual) that fire an atom in each video (occlusion)."""
    from app.services import atomevidence

    fn = atomevidence.acoustic_evidence if modality == "acoustic" else atomevidence.textual_evidence
    return fn(ctx(), atom, model_id=model_id, video_ids=list(video_ids), load=_model_loader)


# ---------------------------------------------------------------- labels


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def queue_source() -> annotate.QueueSource:
    return annotate.queue_source(ctx())


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def issue_queue(limit: int, offset: int, selection_id: int | None = None) -> list[queries.IssueRow]:
    return annotate.issue_queue(ctx(), limit=limit, offset=offset, source=queue_source(),
                                selection_id=selection_id)[1]


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=256)
def suggestions(video_id: int) -> list[tuple[str, float]]:
    return annotate.suggestions(ctx(), queue_source(), video_id)


# ---------------------------------------------------------------- models, failures, case study


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def model_list() -> list[models.ModelSummary]:
    return models.list_models(ctx())


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=16)
def model_view(model_id: int) -> models.ModelView:
    return models.model_view(ctx(), model_id)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=16)
def compare_models(model_a: int, model_b: int, who: str | None = None) -> Any:
    from app.services.compare import compare

    return compare(ctx(), model_a, model_b, who=who)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def videos_by_id(video_ids: tuple[int, ...]) -> list[queries.BrowseRow]:
    return browse.videos_by_id(ctx(), video_ids)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def failure_gallery(model_id: int, limit: int) -> dict[str, Any]:
    return casestudy.failure_gallery(ctx(), model_id=model_id, limit=limit)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def pair_videos(model_id: int, true_venue_id: int, predicted_venue_id: int, limit: int) -> list[queries.BrowseRow]:
    return casestudy.pair_videos(ctx(), model_id=model_id, true_venue_id=true_venue_id,
                                 predicted_venue_id=predicted_venue_id, limit=limit)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def paper_cases(model_id: int) -> list[Any]:
    """The paper's v3/v4 failure cases searched in the out-of-sample predictions (model id in the key)."""
    from app.services import papercases

    return papercases.paper_cases(ctx(), load=_model_loader)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def case_candidates(model_id: int) -> dict[str, Any]:
    return casestudy.case_candidates(ctx(), model_id=model_id, paper=paper_cases(model_id))


@st.cache_data(show_spinner=False, max_entries=64)
def model_predictions(model_id: int, video_ids: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """Each video's top prediction by one model version (stored, or computed once and kept)."""
    return casestudy.predictions_for_model(ctx(), model_id, list(video_ids), load=_model_loader)


@st.cache_data(ttl=30, show_spinner=False)
def latest_report() -> dict[str, Any] | None:
    return reports.latest_report(ctx())


# ---------------------------------------------------------------- the corpus map


@st.cache_data(ttl=5, show_spinner=False)
def map_state() -> Any:
    """The active model's embedding run and a job computing it (short ttl: the page follows the job)."""
    from app.services import corpusmap

    return corpusmap.state(ctx())


@st.cache_resource(ttl=QUERY_TTL, show_spinner=False, max_entries=8)
def map_points(space: str, run_id: int, stages: tuple[str, ...]) -> Any:
    """Every placed video with its colour columns, keyed by the run and its finished stages. A resource, not
    data: at 200k videos copying the frame out of a pickle on every page run was most of the Map's script time;
    callers never change it (the figure builders select from it)."""
    from app.services import corpusmap

    return corpusmap.points(ctx(), space)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=64)
def similar(video_id: int, space: str, k: int, run_id: int) -> list[Any]:
    from app.services import similar as similar_service

    return similar_service.similar(ctx(), video_id, space=space, k=k)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False)
def saved_selections() -> list[Any]:
    from app.services import selections

    return selections.list_all(ctx())


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=16)
def selection_videos(selection_id: int) -> list[int]:
    from app.services import selections

    return selections.videos(ctx(), selection_id)


@st.cache_data(ttl=QUERY_TTL, show_spinner=False, max_entries=16)
def data_issue_videos(issue: str) -> tuple[int, ...]:
    from app.services import dataissues

    return dataissues.flagged_ids(ctx(), issue)


# ---------------------------------------------------------------- invalidation

_LABEL_DEPENDENT = (status, browse_page, venue_choices, video_detail, queue_source, issue_queue, suggestions,
                    failure_gallery, pair_videos, paper_cases, case_candidates, videos_by_id, triage_flags,
                    map_points, similar, saved_selections, selection_videos)
_MODEL_DEPENDENT = (model_list, model_view, compare_models, latest_report, map_state, data_issue_videos)


def clear_after_label_change() -> None:
    """A label was saved or undone: every view of labels, queues and mistakes is stale."""
    for fn in _LABEL_DEPENDENT:
        fn.clear()


def clear_after_upload() -> None:
    clear_after_label_change()


def clear_after_model_change() -> None:
    """A job finished or a model was promoted: predictions, metrics and explanations may all differ."""
    clear_after_label_change()
    for fn in _MODEL_DEPENDENT:
        fn.clear()
    for fn in (explanation, ablation, atom_overview, atom_top_videos, atom_venue_support, model_predictions,
               atom_evidence):
        fn.clear()
