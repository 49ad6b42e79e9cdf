"""One video file + caption -> VideoFeatures: decode, frame encoder, librosa descriptor, caption tokens."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.features.acoustic import DIM as ACOUSTIC_DIM
from core.features.acoustic import N_CLIPS, acoustic_features, warm_up
from core.features.encoders import RECIPE, feature_version_of  # noqa: F401 - RECIPE importable from here
from core.features.store import VideoFeatures
from core.features.textual import clean_tokens
from core.features.visual import FrameEncoder
from core.media import decode


class FeatureExtractor:
    """The feature pipeline of one frame encoder; `version` names everything that shapes the output."""

    def __init__(self, encoder: FrameEncoder):
        self.encoder = encoder
        self.version = feature_version_of(encoder.name, encoder.dim)

    def warm_up(self) -> None:
        """Pay the one-off costs (librosa import and numba compilation, the stop list, the first
        forward pass) now rather than inside the first video's timings."""
        warm_up()
        clean_tokens("warm up")
        width, height = self.encoder.input_size
        self.encoder.encode(np.zeros((1, height, width, 3), dtype=np.uint8))

    def extract(self, path: str | Path, caption: str | bytes | None,
                timings: dict[str, float] | None = None) -> VideoFeatures:
        """Features of one video; raises core.media.MediaError for a file that cannot be decoded.

        With `timings`, adds the seconds spent in decode, visual, audio and text to it.
        """
        clock = _Clock(timings)
        video = decode(path, size=self.encoder.input_size)
        clock.lap("decode")
        visual = self.encoder.encode(video.frames)
        clock.lap("visual")
        if video.is_silent:
            acoustic = np.zeros((N_CLIPS, ACOUSTIC_DIM), dtype=np.float32)
        else:
            acoustic = acoustic_features(video.audio, video.sample_rate)
        clock.lap("audio")
        tokens = clean_tokens(caption)
        clock.lap("text")
        return VideoFeatures(visual=visual, acoustic=acoustic, tokens=tokens)


class _Clock:
    def __init__(self, sink: dict[str, float] | None):
        self.sink = sink
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[name] = self.sink.get(name, 0.0) + now - self.last
        self.last = now
