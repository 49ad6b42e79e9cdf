"""Triage flags: a modality that is dead in a video (no or near-silent audio, black or flat frames, a frozen
picture, an empty caption or none the model can read). Computed from what `core.media.decode` returns, so a flag
says what the model itself receives. Every threshold lives in `THRESHOLDS` below, with its unit and why.

Pure: arrays and strings in, flags out (app/services/triage.py stores them; db keeps them as text)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

VERSION = "t1"  # bump when a threshold or a rule changes: stored flags of another version are recomputed


@dataclass(frozen=True)
class Thresholds:
    """The one place for triage thresholds (pixel values are 0-255, audio is float in [-1, 1])."""

    # Audio: RMS over the 6 s below this is "near-silent" (0.003 ~ -50 dBFS: room tone of a quiet phone
    # recording sits near -60 dBFS, speech or music at -30 to -10 dBFS).
    silent_rms: float = 0.003
    # A frame is black when its mean luminance is below this (0-255; 16 is video black in limited range).
    dark_mean: float = 16.0
    # A frame is flat (one colour: a lens cap, a title card) when its pixel standard deviation is below this.
    flat_std: float = 6.0
    # The video is flagged when at least this share of its 12 sampled frames is black or flat.
    blank_share: float = 0.75
    # Frozen: the mean absolute difference between consecutive sampled frames (0.5 s apart, 0-255) stays
    # below this for all of them; camera noise alone gives ~1-2, any real motion several times more.
    frozen_diff: float = 1.5


THRESHOLDS = Thresholds()

# flag -> (badge, what a person reads in the queue): one list, a new flag is one line here
FLAGS = {
    "no_audio": ("no audio", "no audio track"),
    "silent_audio": ("silent", "near-silent audio"),
    "blank_frames": ("blank frames", "black or flat frames"),
    "frozen": ("frozen", "frozen picture (no motion)"),
    "no_caption": ("no caption", "empty caption"),
    "no_readable_words": ("unreadable caption", "no caption word the model reads"),
}


@dataclass(frozen=True)
class Triage:
    flags: tuple[str, ...]  # keys of FLAGS, in FLAGS order
    measures: dict[str, float] = field(default_factory=dict)  # the numbers the flags came from
    version: str = VERSION


def luminance(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, H, W) float32 luma (BT.601)."""
    rgb = frames.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def triage(frames: np.ndarray, audio: np.ndarray, has_audio: bool, tokens: list[str], caption: str,
           th: Thresholds = THRESHOLDS) -> Triage:
    """Flags of one decoded video: `frames` (12, H, W, 3) uint8, `audio` mono float, `tokens` the caption's words
    as the text extractor reads them (core.features.textual.clean_tokens), `caption` as written."""
    luma = luminance(frames)
    means = luma.reshape(len(luma), -1).mean(axis=1)
    stds = luma.reshape(len(luma), -1).std(axis=1)
    blank = float(np.mean((means < th.dark_mean) | (stds < th.flat_std))) if len(luma) else 1.0
    motion = float(np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2)).max()) if len(luma) > 1 else 0.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if has_audio and audio.size else 0.0
    measures = {"audio_rms": rms, "blank_share": blank, "max_motion": motion, "tokens": float(len(tokens))}
    on = {
        "no_audio": not has_audio,
        "silent_audio": has_audio and rms < th.silent_rms,
        "blank_frames": blank >= th.blank_share,
        "frozen": motion < th.frozen_diff and blank < th.blank_share,  # a black screen is "blank", not frozen
        "no_caption": not caption.strip(),
        "no_readable_words": bool(caption.strip()) and not tokens,
    }
    return Triage(tuple(f for f in FLAGS if on[f]), measures)


def thresholds_dict(th: Thresholds = THRESHOLDS) -> dict[str, float]:
    return asdict(th)
