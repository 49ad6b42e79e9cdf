"""Browser copies, thumbnails and media views (the 12 frames and 6 s of audio Video detail draws) of the stored
videos (core.proxy): made after ingest and feature extraction, by `python -m app proxies`, checked and rebuilt by
doctor; and what the player should play."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from app.context import AppContext
from core import proxy
from core.fileio import atomic_write
from core.probe import MediaError, probe
from db import repo
from db.session import session_scope

WORKERS = 2  # ffmpeg processes at a time (each is itself multi-threaded)
STRIP_WIDTH = 160  # width of one frame of the strip, in pixels
VIEW_LONGEST_SIDE = 480  # frames for a view are decoded at most this large (ffmpeg scales while decoding)


@dataclass
class ProxyReport:
    """What a `make_missing` run wrote, and the videos it could not (one line each)."""

    thumbnails: int = 0
    proxies: int = 0
    views: int = 0  # media views (the frame strip and the audio Video detail draws)
    checked: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Playback:
    """What the player plays for one video: a file (the proxy or the original, None when neither plays) and
    one line saying why a copy is played or nothing is."""

    path: Path | None
    is_proxy: bool
    note: str | None


@dataclass(frozen=True)
class MediaView:
    """What the detail page draws of a video's content."""

    frames: np.ndarray  # (12, h, STRIP_WIDTH, 3) uint8 at FRAME_TIMES
    audio: np.ndarray  # (6 s * sample_rate,) float32 mono
    sample_rate: int
    has_audio: bool


def view_path(ctx: AppContext, sha256: str) -> Path:
    """Where the media view of the video with this sha256 lives (content-addressed, under the home's cache)."""
    return ctx.settings.home / "cache" / "media" / sha256[:2] / f"{sha256}.npz"


def media_view(ctx: AppContext, *, sha256: str, rel_path: str) -> MediaView:
    """The 12 sampled frames and the 6 s of audio the model reads, decoded once and cached as npz.
    Raises core.media.MediaError (one line) for a file that cannot be decoded, FileNotFoundError
    when the stored file is gone."""
    out = view_path(ctx, sha256)
    if out.exists():
        with np.load(out) as z:
            return MediaView(z["frames"], z["audio"].astype(np.float32) / 32767.0, int(z["sample_rate"]),
                             bool(z["has_audio"]))
    src = ctx.settings.inside_home(Path(rel_path))
    if not src.is_file():
        raise FileNotFoundError(f"the stored file of this video is missing: {rel_path}")
    from PIL import Image

    from core.media import decode, fit_within

    info = probe(src)  # decode at display size: a huge stored frame never decodes at full size in this process
    video = decode(src, size=fit_within(info.width, info.height, VIEW_LONGEST_SIDE))
    frames = []
    for frame in video.frames:
        h, w = frame.shape[:2]
        height = max(2, int(round(STRIP_WIDTH * h / max(w, 1))))
        frames.append(np.asarray(Image.fromarray(frame).resize((STRIP_WIDTH, height), Image.BILINEAR)))
    view = MediaView(np.stack(frames), video.audio.astype(np.float32), int(video.sample_rate), video.has_audio)
    atomic_write(out, lambda fh: np.savez_compressed(
        fh, frames=view.frames, audio=(np.clip(view.audio, -1, 1) * 32767).astype(np.int16),
        sample_rate=view.sample_rate, has_audio=view.has_audio), prefix=".part-", suffix=".npz")
    return view


def _videos(ctx: AppContext, video_ids: list[int] | None = None) -> list[repo.VideoRow]:
    with session_scope(ctx.engine) as session:
        rows = repo.all_videos(session)
    return rows if video_ids is None else [v for v in rows if v.id in set(video_ids)]


class Ensured(NamedTuple):
    """What ensure_video wrote for one video."""

    made: proxy.Made  # the thumbnail and browser copy (core.proxy)
    view: bool  # the media view


def ensure_video(ctx: AppContext, *, sha256: str, rel_path: str, rebuild: bool = False) -> Ensured:
    """Thumbnail, media view and (when the original does not play everywhere) proxy of one stored video.
    Raises MediaError / ProxyError with a one-line reason,
    FileNotFoundError when the file is gone."""
    src = ctx.settings.inside_home(Path(rel_path))
    if not src.is_file():
        raise FileNotFoundError(f"the stored file is missing: {rel_path}")
    made = proxy.ensure(src, ctx.settings.home, sha256, rebuild=rebuild)
    view = view_path(ctx, sha256)
    if rebuild:
        view.unlink(missing_ok=True)
    had_view = view.is_file()
    if not had_view:  # Video detail and Annotate then read a file instead of decoding in the page run
        media_view(ctx, sha256=sha256, rel_path=rel_path)
    return Ensured(made, not had_view)


def make_missing(ctx: AppContext, *, rebuild: bool = False, video_ids: list[int] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ProxyReport:
    """Write every missing thumbnail, media view and proxy (all of them again with `rebuild`), WORKERS at a time;
    resumable: each file is published atomically and existing ones are skipped."""
    videos = _videos(ctx, video_ids)
    report = ProxyReport()

    def one(v: repo.VideoRow) -> tuple[repo.VideoRow, Ensured | None, str | None]:
        try:
            return v, ensure_video(ctx, sha256=v.sha256, rel_path=v.path, rebuild=rebuild), None
        except (MediaError, proxy.ProxyError, OSError, ValueError) as exc:
            return v, None, str(exc)

    if progress:
        progress(0, len(videos))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for done, (v, ensured, error) in enumerate(pool.map(one, videos), start=1):
            report.checked += 1
            if error:
                report.failed.append(f"video {v.id} ({v.original_name}): {error}")
            elif ensured is not None:
                report.thumbnails += int(ensured.made.thumbnail)
                report.proxies += int(ensured.made.proxy)
                report.views += int(ensured.view)
            if progress:
                progress(done, len(videos))
    return report


def thumbnail_file(ctx: AppContext, *, sha256: str, rel_path: str) -> Path | None:
    """The stored thumbnail (made once and kept when missing); None when the video cannot give one."""
    path = proxy.thumb_path(ctx.settings.home, sha256)
    if path.is_file():
        return path
    try:
        src = ctx.settings.inside_home(Path(rel_path))
        return proxy.write_thumbnail(src, path) if src.is_file() else None
    except (MediaError, proxy.ProxyError, OSError, ValueError):
        return None


def playback(ctx: AppContext, *, sha256: str, rel_path: str) -> Playback:
    """The file the player should stream: the proxy when there is one, else the original when it plays
    everywhere; else None, with the reason."""
    src = ctx.settings.inside_home(Path(rel_path))
    if not src.is_file():
        return Playback(None, False, f"The stored file is missing: {rel_path}")
    try:
        plays, reason = proxy.browser_playable(probe(src))
    except MediaError as exc:
        return Playback(None, False, f"This video cannot be read: {exc.reason}")
    copy = proxy.proxy_path(ctx.settings.home, sha256)
    if copy.is_file():
        why = f" (the original is {reason})" if not plays else ""
        return Playback(copy, True, f"Playing a browser copy{why}.")
    if plays:
        return Playback(src, False, None)
    return Playback(src, False, f"No browser copy yet ({reason}); it may not play here. "
                                "Run `python -m app proxies` to make one.")


def problems(ctx: AppContext) -> Iterator[tuple[repo.VideoRow, str]]:
    """Videos whose thumbnail or needed proxy is missing or damaged, with what is wrong (for doctor)."""
    home = ctx.settings.home
    for v in _videos(ctx):
        src = home / v.path
        if not src.is_file():
            continue  # doctor's media check reports it
        thumb, copy = proxy.thumb_path(home, v.sha256), proxy.proxy_path(home, v.sha256)
        if not thumb.is_file():
            yield v, "thumbnail missing"
        elif thumb.stat().st_size == 0 or not _is_image(thumb):
            yield v, "thumbnail damaged"
        if copy.is_file():
            try:
                info = probe(copy)
                if not proxy.browser_playable(info)[0]:
                    yield v, "browser copy does not play everywhere"
            except MediaError as exc:
                yield v, f"browser copy damaged ({exc.reason})"
        else:
            try:
                if not proxy.browser_playable(probe(src))[0]:
                    yield v, "browser copy missing"
            except MediaError:
                continue  # an unreadable original: its features row says why


def repair_video(ctx: AppContext, *, sha256: str, rel_path: str) -> None:
    """Remove a video's thumbnail and proxy and write them again (doctor --fix); raises OSError on failure."""
    for path in (proxy.thumb_path(ctx.settings.home, sha256), proxy.proxy_path(ctx.settings.home, sha256)):
        path.unlink(missing_ok=True)
    try:
        ensure_video(ctx, sha256=sha256, rel_path=rel_path)
    except (MediaError, proxy.ProxyError) as exc:
        raise OSError(str(exc)) from exc


def _is_image(path: Path) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
        return True
    except (UnidentifiedImageError, OSError, SyntaxError):
        return False
