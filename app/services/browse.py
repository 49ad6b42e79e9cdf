"""What Browse and Video detail show: pages of videos, thumbnails, the 12-frame strip, the audio and
the detail bundle of one video. Media views are computed once per video and kept under
EASTERN_HOME/cache, so a page never decodes a video twice."""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.context import AppContext
from app.services.proxies import Playback, playback
from db import queries, repo
from db.session import session_scope

FRAME_TIMES = tuple(0.5 * i for i in range(12))
CLIP_SECONDS = 1.0  # the acoustic sequence is 6 clips of one second


@dataclass(frozen=True)
class BrowsePage:
    rows: list[queries.BrowseRow]
    total: int
    page: int  # 0-based
    pages: int
    model_id: int | None


MAX_SEARCH = 500  # characters of a caption / file name search
GRID_PAGE_SIZE = 24  # cards on a page of Browse's grid (app.launch.warm fills the cache of the first one)


def _active_id(session) -> int | None:  # noqa: ANN001 - a Session
    active = repo.active_model_brief(session)
    return active.id if active else None


def browse_page(
    ctx: AppContext, *, filters: queries.VideoFilter, sort: str = "id", page: int = 0, page_size: int = 24
) -> BrowsePage:
    """One page of videos matching the filters (filtering, sorting and paging run in SQL); a search longer than
    MAX_SEARCH characters is cut there (SQLite refuses LIKE patterns over 50,000 bytes)."""
    page = max(0, min(int(page), 10**9))
    if len(filters.text) > MAX_SEARCH:
        filters = dataclasses.replace(filters, text=filters.text[:MAX_SEARCH])
    with session_scope(ctx.engine) as session:
        model_id = _active_id(session)
        rows, total = queries.browse(session, model_version_id=model_id, filters=filters, sort=sort,
                                     offset=page * page_size, limit=page_size)
        pages = max(1, -(-total // page_size))
        if page >= pages and total:  # filters narrowed the result below the current page
            page = pages - 1
            rows, total = queries.browse(session, model_version_id=model_id, filters=filters, sort=sort,
                                         offset=page * page_size, limit=page_size)
    return BrowsePage(rows=rows, total=total, page=page, pages=pages, model_id=model_id)


def venue_choices(ctx: AppContext, *, used_only: bool = False) -> list[str]:
    """Venue names for selectors: every venue, or those that label at least one video."""
    with session_scope(ctx.engine) as session:
        return [v.name for v in repo.list_venues(session, used_only=used_only)]


def venue_ids(ctx: AppContext, names: list[str] | tuple[str, ...]) -> tuple[int, ...]:
    """Ids of venue names (unknown names raise repo.UnknownVenue)."""
    with session_scope(ctx.engine) as session:
        return tuple(repo.venue_id(session, name=n) for n in names)


# ---------------------------------------------------------------- media files


def _cache_dir(ctx: AppContext, kind: str) -> Path:
    return ctx.settings.home / "cache" / kind


def media_path(ctx: AppContext, rel_path: str) -> Path | None:
    """The stored file of a video (a path relative to EASTERN_HOME), or None when it is missing.
    A database path that points outside EASTERN_HOME is refused (ValueError)."""
    path = ctx.settings.inside_home(Path(rel_path))
    return path if path.is_file() else None


def thumbnail(ctx: AppContext, *, sha256: str, rel_path: str) -> Path | None:
    """The stored upright thumbnail (EASTERN_HOME/thumbs, written at ingest or extraction; made once here when
    missing); None when the file is missing or unreadable (the grid then shows a placeholder)."""
    from app.services.proxies import thumbnail_file

    return thumbnail_file(ctx, sha256=sha256, rel_path=rel_path)


def thumbnails(ctx: AppContext, items: list[tuple[int, str]]) -> dict[int, str | None]:
    """Thumbnails of a page of videos given as (video id, stored path), by video id: the stored files (one stat
    each), and only the missing ones extracted, two at a time."""
    from core.proxy import thumb_path

    with session_scope(ctx.engine) as session:
        shas = queries.video_shas(session, video_ids=[vid for vid, _ in items])
    out: dict[int, str | None] = {}
    missing = []
    for vid, rel_path in items:
        stored = thumb_path(ctx.settings.home, shas[vid]) if vid in shas else None
        if stored is not None and stored.is_file():
            out[vid] = str(stored)
        elif stored is None:
            out[vid] = None
        else:
            missing.append((vid, rel_path))

    def one(item: tuple[int, str]) -> tuple[int, str | None]:
        vid, rel_path = item
        path = thumbnail(ctx, sha256=shas[vid], rel_path=rel_path)
        return vid, str(path) if path else None

    if missing:
        with ThreadPoolExecutor(max_workers=2) as pool:
            out.update(pool.map(one, missing))
    return {vid: out[vid] for vid, _ in items}


def waveform(audio: np.ndarray, sample_rate: int, *, points: int = 600) -> dict[str, np.ndarray]:
    """A min/max envelope of the audio at `points` time steps (enough for a 1,000-px chart)."""
    n = len(audio) // points * points
    if n == 0:
        return {"t": np.zeros(0), "low": np.zeros(0), "high": np.zeros(0)}
    blocks = audio[:n].reshape(points, -1)
    t = (np.arange(points) + 0.5) * blocks.shape[1] / sample_rate
    return {"t": t, "low": blocks.min(axis=1), "high": blocks.max(axis=1)}


def spectrogram(audio: np.ndarray, sample_rate: int, *, n_fft: int = 1024, hop: int = 512,
                max_hz: float = 8000.0) -> dict[str, np.ndarray]:
    """A log-power spectrogram (dB) up to max_hz: freqs (F,), times (T,), db (F, T)."""
    if len(audio) < n_fft:
        audio = np.pad(audio, (0, n_fft - len(audio)))
    window = np.hanning(n_fft).astype(np.float32)
    starts = np.arange(0, len(audio) - n_fft + 1, hop)
    frames = np.stack([audio[s:s + n_fft] * window for s in starts])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    keep = freqs <= max_hz
    db = 10 * np.log10(power[:, keep].T + 1e-10)
    db = np.maximum(db, db.max() - 80.0)
    times = (starts + n_fft / 2) / sample_rate
    return {"freqs": freqs[keep], "times": times, "db": db.astype(np.float32)}


def caption_words(caption: str, token_weights: list[tuple[str, float]]) -> list[tuple[str, float | None]]:
    """Spread per-token attributions back onto the caption as written: (word, weight) pairs, where
    weight is None for words the model never read (stop words, emoji, past the 30-token cap)."""
    from core.features.textual import clean_tokens

    out: list[tuple[str, float | None]] = []
    position = 0
    for word in caption.split():
        weight = None
        for token in clean_tokens(word):
            if position < len(token_weights) and token_weights[position][0] == token:
                weight = (weight or 0.0) + float(token_weights[position][1])
                position += 1
        out.append((word, weight))
    return out


# ---------------------------------------------------------------- the detail bundle


@dataclass(frozen=True)
class VideoDetail:
    video: repo.VideoRow
    media_file: str | None  # absolute path inside EASTERN_HOME, None when missing
    history: list[repo.LabelRow]
    model: repo.ActiveModel | None
    top: list[tuple[str, float]]  # the active model's top-5 (venue, probability); [] when none stored
    confidence: float | None
    playback: Playback | None = None  # what the player streams (a browser copy or the original)
    ood_score: float | None = None  # core/ood.py: above 1.0 the video is unlike the model's training videos


def video_detail(ctx: AppContext, video_id: int) -> VideoDetail:
    """A video with its label history and the active model's stored top-5. Raises repo.UnknownVideo."""
    with session_scope(ctx.engine) as session:
        video = repo.get_video(session, video_id=video_id)
        history = repo.label_history(session, video_id=video_id)
        active = repo.active_model_brief(session)
        predictions = repo.predictions_for_video(session, video_id=video_id)
        names = repo.venue_names(session)
    mine = next((p for p in predictions if active and p.model_version_id == active.id), None)
    top = [(names.get(int(v), f"venue {v}"), float(p)) for v, p in (mine.topk if mine else [])]
    path = media_path(ctx, video.path)
    play = playback(ctx, sha256=video.sha256, rel_path=video.path) if path else None
    return VideoDetail(video=video, media_file=str(path) if path else None, history=history, model=active,
                       top=top, confidence=mine.confidence if mine else None, playback=play,
                       ood_score=mine.ood_score if mine else None)


def video_exists(ctx: AppContext, video_id: int) -> bool:
    with session_scope(ctx.engine) as session:
        try:
            repo.get_video(session, video_id=video_id)
        except repo.UnknownVideo:
            return False
    return True


def videos_by_id(ctx: AppContext, video_ids: tuple[int, ...] | list[int]) -> list[queries.BrowseRow]:
    """These videos with their label and the active model's prediction, in id order."""
    if not video_ids:
        return []
    with session_scope(ctx.engine) as session:
        rows, _ = queries.browse(session, model_version_id=_active_id(session),
                                 filters=queries.VideoFilter(video_ids=tuple(video_ids)), limit=len(video_ids))
    return rows


# ---------------------------------------------------------------- training jobs
