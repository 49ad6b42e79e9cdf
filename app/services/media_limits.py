"""The media limits ingest enforces from a file's probe, one entry per limit (each names its setting).

A limit keeps a hostile or unusual file (a 10000x10000 frame, an 8K 120 fps stream, an hour-long recording,
a file of 500 streams) out before any page or worker decodes it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.settings import Settings
from core.media import MediaInfo


@dataclass(frozen=True)
class Limit:
    """One limit: the setting that holds it and the reason a file over it gets (None when within)."""

    setting: str  # the Settings field; its environment variable is EASTERN_<FIELD>
    check: Callable[[MediaInfo, float], str | None]

    @property
    def env(self) -> str:
        return f"EASTERN_{self.setting.upper()}"


def _side(info: MediaInfo, limit: float) -> str | None:
    if max(info.width, info.height) > limit:
        return f"frame {info.width}x{info.height} is over the limit of {limit:g} px a side"
    return None


def _area(info: MediaInfo, limit: float) -> str | None:
    mpx = info.width * info.height / 1e6
    if mpx > limit:
        return f"frame {info.width}x{info.height} ({mpx:.1f} Mpx) is over the limit of {limit:g} Mpx"
    return None


def _rate(info: MediaInfo, limit: float) -> str | None:
    rate = info.width * info.height * info.fps / 1e6
    if rate > limit:
        return (f"{info.width}x{info.height} at {info.fps:.4g} fps ({rate:.0f} Mpx/s) is over the limit of "
                f"{limit:g} Mpx/s")
    return None


def _duration(info: MediaInfo, limit: float) -> str | None:
    if info.duration > limit:
        return f"{info.duration:.0f} s long, over the limit of {limit:g} s"
    return None


def _streams(info: MediaInfo, limit: float) -> str | None:
    if info.streams > limit:
        return f"{info.streams} streams, over the limit of {limit:g}"
    return None


LIMITS: tuple[Limit, ...] = (
    Limit("max_frame_side", _side),
    Limit("max_frame_mpx", _area),
    Limit("max_pixel_rate_mpx", _rate),
    Limit("max_duration_s", _duration),
    Limit("max_streams", _streams),
)


def over_limit(info: MediaInfo, settings: Settings) -> str | None:
    """The first limit this file is over, as one line naming the setting; None when it is within all."""
    for limit in LIMITS:
        reason = limit.check(info, float(getattr(settings, limit.setting)))
        if reason:
            return f"{reason} ({limit.env})"
    return None
