"""Feature extraction for every video that lacks features of the current extractor version."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from app.context import AppContext
from app.settings import Settings
from core.features.extract import FeatureExtractor
from core.features.store import FeatureStore
from core.features.textual import TextEmbedder
from core.features.visual import make_encoder
from core.media import MediaError
from db import repo
from db.session import session_scope


@dataclass
class FeatureReport:
    extracted: int = 0
    failed: list[str] = field(default_factory=list)
    embedder_words: int = 0


@lru_cache(maxsize=2)
def _extractor(encoder: str, alexnet_weights: str | None) -> FeatureExtractor:
    return FeatureExtractor(make_encoder(encoder, alexnet_weights=alexnet_weights))


def extractor(settings: Settings) -> FeatureExtractor:
    """The frame encoder + acoustic + text pipeline named by the settings (loaded once)."""
    weights = str(settings.alexnet_weights) if settings.alexnet_weights else None
    return _extractor(settings.frame_encoder, weights)


def feature_version(settings: Settings) -> str:
    return extractor(settings).version


def store(settings: Settings) -> FeatureStore:
    return FeatureStore(settings.features_dir, feature_version(settings))


def extract_pending(ctx: AppContext, *, progress: Callable[[int, int], None] | None = None) -> FeatureReport:
    """Extract features of videos that have none of this version; resumable after a crash, since
    each video's features are stored and recorded before the next one starts."""
    settings = ctx.settings
    fx = extractor(settings)
    feature_store = store(settings)
    report = FeatureReport()
    with session_scope(ctx.engine) as session:
        pending = repo.videos_missing_features(session, version=fx.version)
    for done, video in enumerate(pending, start=1):
        error = None
        if not feature_store.has(video.sha256):
            try:
                feature_store.put(video.sha256, fx.extract(settings.home / video.path, video.caption))
            except MediaError as exc:
                error = exc.reason
                report.failed.append(f"{video.original_name}: {exc.reason}")
        with session_scope(ctx.engine) as session:
            repo.set_features(session, video_id=video.id, version=None if error else fx.version, error=error)
        report.extracted += error is None
        if progress:
            progress(done, len(pending))
    if pending or feature_store.load_embedder() is None:
        report.embedder_words = refresh_text_embedder(ctx)
        feature_store.pack()
    return report


def refresh_text_embedder(ctx: AppContext) -> int:
    """Fit word2vec on the corpus captions (or load the vectors named in settings); returns vocab size."""
    settings = ctx.settings
    feature_store = store(settings)
    if settings.word_vectors:
        embedder = TextEmbedder.from_word2vec_text(settings.word_vectors)
    else:
        keys = feature_store.keys()
        _, _, tokens = feature_store.load(keys) if keys else (None, None, [])
        embedder = TextEmbedder.fit([t for t in tokens if t], dim=100, seed=settings.demo_seed)
    feature_store.save_embedder(embedder)
    return len(embedder.vocab)
