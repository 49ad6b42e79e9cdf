"""Triage flags for videos that lack them (run after every feature extraction, so older videos are backfilled):
decode, apply core.features.triage, store in video_triage. Also the flags of videos for badges and the queue."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.context import AppContext
from core.features import triage as rules
from db import triage as store
from db.session import session_scope

DECODE_SIZE = (128, 72)  # frames are scaled while decoding: the flags need luminance and motion, not detail


def compute_missing(ctx: AppContext, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Flag every video without flags of the current rule version; returns how many were computed. A file that
    cannot be decoded gets no flag (its features failed too, and say why)."""
    with session_scope(ctx.engine) as session:
        pending = store.missing(session, version=rules.VERSION)
    for done, video in enumerate(pending, start=1):
        try:
            path = ctx.settings.inside_home(Path(video.path))
        except ValueError as exc:
            result = rules.Triage((), {"error": str(exc)[:200]})
        else:
            result = judge(path, video.caption)
        with session_scope(ctx.engine) as session:
            store.put(session, video_id=video.id, flags=result.flags, measures=result.measures,
                      version=result.version)
        if progress:
            progress(done, len(pending))
    return len(pending)


def judge(path: Path, caption: str | None) -> rules.Triage:
    """The flags of one video file (decoded small); a file that cannot be decoded gets none, with the error."""
    from core.features.textual import clean_tokens
    from core.media import MediaError, decode_fast

    try:
        decoded = decode_fast(path, size=DECODE_SIZE)
    except (MediaError, OSError, ValueError) as exc:
        return rules.Triage((), {"error": str(exc)[:200]})
    return rules.triage(decoded.frames, decoded.audio, decoded.has_audio, clean_tokens(caption), caption or "")


def flags_of(ctx: AppContext, video_ids: list[int] | tuple[int, ...]) -> dict[int, tuple[str, ...]]:
    """Each video's triage flags (keys of core.features.triage.FLAGS); videos not computed yet are absent."""
    with session_scope(ctx.engine) as session:
        return store.flags_of(session, video_ids=video_ids)


def describe(flags: tuple[str, ...]) -> list[str]:
    """What a person reads for each flag (in the queue)."""
    return [rules.FLAGS[f][1] if f in rules.FLAGS else f for f in flags]


def badge(flag: str) -> str:
    """The short name of a flag (a badge, a filter option)."""
    return rules.FLAGS[flag][0] if flag in rules.FLAGS else flag


def flag_names() -> list[str]:
    return list(rules.FLAGS)
