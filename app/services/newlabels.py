"""The queue of unlabelled videos: which to label next (core.active), how many are labelled, and when there are
enough labels to train a first model."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from app.context import AppContext
from app.services import features as feature_service
from core import active
from db import newlabels as db_newlabels
from db import repo
from db.session import session_scope

MIN_PER_VENUE = 5  # labels each venue in use needs before a first model is offered
MIN_VENUES = 2  # venues a first model needs (a classifier of one class predicts nothing)
FIRST_MODEL_EPOCHS = 15
SEED = 0

# The orderings the queue can use, with why: one list, read by the page and the CLI.
ORDERS = {
    "diversity": "No active model yet, so the queue covers the corpus: each next video is the one farthest (in "
                 "standardised visual, acoustic and textual features) from every labelled video and every "
                 "earlier pick (k-center greedy), so the first labels span the corpus instead of one corner of it.",
    "uncertainty+diversity": "The active model is unsure about these: each next video maximises "
                             f"{active.UNCERTAINTY_WEIGHT:.0%} of the model's uncertainty (1 - the margin between "
                             "its two top venues) plus the rest as distance to every labelled video and earlier pick, "
                             "so the queue asks about what the model cannot tell apart without repeating itself.",
}


@dataclass(frozen=True)
class NewLabelItem:
    """One unlabelled video in queue order; `score` is what ranked it, `uncertainty` None before a model."""

    video_id: int
    file_name: str
    rank: int
    score: float
    distance: float
    uncertainty: float | None
    top: tuple[tuple[str, float], ...] = ()  # the active model's top venues, (name, probability); () before one


@dataclass(frozen=True)
class NewLabelQueue:
    """A page of the queue and where the corpus stands."""

    order: str  # a key of ORDERS
    reason: str
    model_id: int | None
    n_labelled: int
    n_unlabelled: int
    venue_counts: dict[str, int]  # labels per venue in use
    ready_to_train: bool  # every venue in use has MIN_PER_VENUE labels and there are MIN_VENUES of them
    items: tuple[NewLabelItem, ...]


@dataclass(frozen=True)
class _Ranked:
    order: str
    model_id: int | None
    video_ids: np.ndarray  # queue order
    score: np.ndarray
    distance: np.ndarray
    uncertainty: np.ndarray | None
    topk: dict[int, list[list[float]]]  # the model's top venues of each queued video ([] before a model)


_CACHE: OrderedDict[tuple, _Ranked] = OrderedDict()
_EMBEDDINGS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_LOCK = threading.Lock()


def unlabelled_queue(ctx: AppContext, *, limit: int = 20, offset: int = 0) -> NewLabelQueue:
    """The next `limit` unlabelled videos with features to label (after `offset`), and the counts around them."""
    store = feature_service.store(ctx.settings)
    with session_scope(ctx.engine) as session:
        featured = db_newlabels.featured_videos(session, features_version=store.version)
        names = repo.venue_names(session)
        model = repo.active_model(session)
        snapshot = repo.newest_label_id(session)
    if model is not None and model.config.get("feature_version") != store.version:
        model = None  # trained on other features: its probabilities say nothing about these
    ranked = _ranking(ctx, featured, model.id if model else None, snapshot)
    page = ranked.video_ids[offset:offset + limit]
    with session_scope(ctx.engine) as session:
        files = db_newlabels.file_names(session, video_ids=[int(v) for v in page])
    items = tuple(
        NewLabelItem(int(vid), files.get(int(vid), "?"), offset + i + 1, float(ranked.score[offset + i]),
                     float(ranked.distance[offset + i]),
                     None if ranked.uncertainty is None else float(ranked.uncertainty[offset + i]),
                     tuple((names[int(v)], float(p)) for v, p in ranked.topk.get(int(vid), [])[:3] if int(v) in names))
        for i, vid in enumerate(page)
    )
    counts: dict[str, int] = {}
    for f in featured:
        if f.venue_id is not None:
            counts[names[f.venue_id]] = counts.get(names[f.venue_id], 0) + 1
    return NewLabelQueue(ranked.order, ORDERS[ranked.order], ranked.model_id, sum(counts.values()),
                         len(ranked.video_ids), dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                         ready(counts), items)


def ready(counts: dict[str, int]) -> bool:
    """Enough labels for a first model: MIN_VENUES venues in use, each with MIN_PER_VENUE labels."""
    return len(counts) >= MIN_VENUES and min(counts.values()) >= MIN_PER_VENUE


def start_first_model(ctx: AppContext, *, who: str, epochs: int = FIRST_MODEL_EPOCHS) -> int:
    """Start training a first model on the labels so far, activated when done (the job room checks that `who` is
    an admin and audits)."""
    from app.services import jobs
    from app.services.training import TrainRequest

    request = TrainRequest(epochs=epochs, activate=True, name="first model (Label new videos)")
    return jobs.submit(ctx, request, who=who)


def _ranking(ctx: AppContext, featured: list[db_newlabels.FeaturedVideo], model_id: int | None,
             snapshot: int) -> _Ranked:
    """The whole queue order, computed once per (features, labels, label snapshot, model)."""
    digest = hashlib.sha1(",".join(f"{f.video_id}:{f.venue_id}" for f in featured).encode()).hexdigest()
    key = (str(ctx.settings.home), ctx.settings.db_url, digest, snapshot, model_id)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    points = _embedding(ctx, featured)
    labelled = np.array([i for i, f in enumerate(featured) if f.venue_id is not None], dtype=np.int64)
    candidates = np.array([i for i, f in enumerate(featured) if f.venue_id is None], dtype=np.int64)
    cand_ids = [featured[i].video_id for i in candidates]
    topk = _model_topk(ctx, model_id, cand_ids, featured) if model_id is not None else {}
    uncertainty = None
    if model_id is not None:
        top2 = np.zeros((len(cand_ids), 2))
        for row, v in enumerate(cand_ids):
            probs = [p for _, p in topk[v][:2]]
            top2[row, :len(probs)] = probs
        uncertainty = active.margin_uncertainty(top2)
    r = active.rank(points, candidates, labelled, uncertainty=uncertainty, seed=SEED)
    ids = np.array([featured[i].video_id for i in r.order], dtype=np.int64)
    ranked = _Ranked("diversity" if model_id is None else "uncertainty+diversity", model_id, ids, r.score,
                     r.distance, r.uncertainty, topk)
    with _LOCK:
        _CACHE[key] = ranked
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return ranked


def _embedding(ctx: AppContext, featured: list[db_newlabels.FeaturedVideo]) -> np.ndarray:
    """core.active.embed of every featured video (visual, acoustic and caption-vector means), cached per corpus."""
    store = feature_service.store(ctx.settings)
    key = (str(store.dir), hashlib.sha1(",".join(f.sha256 for f in featured).encode()).hexdigest())
    with _LOCK:
        if key in _EMBEDDINGS:
            return _EMBEDDINGS[key]
    if not featured:
        return np.zeros((0, active.EMBED_DIMS), dtype=np.float32)
    visual, acoustic, tokens = store.load([f.sha256 for f in featured])
    embedder = store.load_embedder()
    dim = embedder.dim if embedder is not None else 1
    text = np.zeros((len(featured), dim), dtype=np.float32)
    if embedder is not None:
        for i, words in enumerate(tokens):
            vectors = embedder.encode(words)
            if len(vectors):
                text[i] = vectors.mean(axis=0)
    points = active.embed(visual, acoustic, text, seed=SEED)
    with _LOCK:
        _EMBEDDINGS[key] = points
        while len(_EMBEDDINGS) > 2:
            _EMBEDDINGS.popitem(last=False)
    return points


def _model_topk(ctx: AppContext, model_id: int, video_ids: list[int],
                featured: list[db_newlabels.FeaturedVideo]) -> dict[int, list[list[float]]]:
    """The model's stored top-k of each video; computed (not stored) for videos that lack them."""
    with session_scope(ctx.engine) as session:
        stored = db_newlabels.stored_topk(session, model_version_id=model_id)
    out = {v: stored[v] for v in video_ids if v in stored}
    missing = [v for v in video_ids if v not in stored]
    if missing:
        from app.services.models import load_model
        from core.data import build_feature_set
        from core.features.textual import TextEmbedder
        from core.train import predict_proba

        model, _cfg, meta = load_model(ctx, model_id)
        sha = {f.video_id: f.sha256 for f in featured}
        store = feature_service.store(ctx.settings)
        visual, acoustic, tokens = store.load([sha[v] for v in missing])
        data = build_feature_set(visual, acoustic, tokens, TextEmbedder.from_state(meta["text_embedder_state"]),
                                 labels=np.zeros(len(missing), dtype=np.int64), keys=[sha[v] for v in missing],
                                 class_names=list(meta["class_names"]))
        probs = predict_proba(model, data)
        venue_ids = meta["venue_ids"]
        for v, p in zip(missing, probs, strict=True):
            top = np.argsort(-p)[:5]
            out[v] = [[int(venue_ids[j]), float(p[j])] for j in top]
    return out
