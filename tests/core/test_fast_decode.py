"""core.media.decode_fast against the moviepy path on the same real files: same frames, same audio,
same padding, the same reasons for bad files, and no ffmpeg left behind."""
from __future__ import annotations

import gc
import os
import warnings

import numpy as np
import pytest

from core.media import FRAME_TIMES, MediaError, decode, decode_fast, frame_numbers
from tests.core.conftest import FPS, SIZE, red_level
from tests.core.test_media import BAD_FILES, _child_pids, bad_files, reds  # noqa: F401 (bad_files: a fixture)

WIDTH, HEIGHT = SIZE
CODEC_NOISE = 2  # grey levels: two runs of the same ffmpeg scaler may differ by rounding, never by content


@pytest.mark.parametrize("name", ["ok", "short", "long", "silent", "zeros", "mono"])
@pytest.mark.parametrize("size", [None, (64, 48)])
def test_fast_path_equals_the_moviepy_path(videos, name, size):
    slow, fast = decode(videos[name], size=size), decode_fast(videos[name], size=size)
    assert fast.frames.shape == slow.frames.shape and fast.frames.dtype == np.uint8
    assert np.abs(fast.frames.astype(int) - slow.frames.astype(int)).max() <= CODEC_NOISE
    assert fast.audio.shape == slow.audio.shape and fast.audio.dtype == np.float32
    np.testing.assert_allclose(fast.audio, slow.audio, atol=2 / 32768)
    for field in ("has_audio", "is_silent", "duration", "fps", "width", "height", "sample_rate"):
        assert getattr(fast, field) == getattr(slow, field), field


def test_fast_path_frame_times_and_short_video_padding(videos):
    ok = decode_fast(videos["ok"])
    np.testing.assert_allclose(reds(ok.frames), [red_level(int(round(t * FPS))) for t in FRAME_TIMES], atol=4)
    short = decode_fast(videos["short"])  # 3 s at 10 fps: frames 0, 5, ..., 25, then the last one (29)
    np.testing.assert_allclose(reds(short.frames)[6:], red_level(29), atol=4)
    assert np.all(short.frames[6:] == short.frames[-1])
    assert not short.audio[3 * 22050 + 2048:].any()


def test_frame_numbers_follow_moviepy_at_any_rate():
    assert frame_numbers(6.0, 10) == [5 * i for i in range(12)]
    assert frame_numbers(6.0, 25) == [int(12.5 * i + 1e-5) for i in range(12)]  # the frame shown at t
    assert frame_numbers(3.0, 10)[6:] == [29] * 6  # clamped to the last frame


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_fast_path_bad_file_reasons_match(bad_files, name):  # noqa: F811 (the fixture)
    with pytest.raises(MediaError) as info:
        decode_fast(bad_files[name])
    assert str(info.value).startswith(f"{name}: ") and "\n" not in str(info.value)
    assert BAD_FILES[name][1] in info.value.reason


def test_fast_path_leaves_no_ffmpeg_process_or_open_pipe(videos, bad_files):  # noqa: F811
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for name in ("ok", "short", "silent"):
            decode_fast(videos[name])
        with pytest.raises(MediaError):
            decode_fast(bad_files["noise.mp4"])
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert _child_pids() == []
    assert len(os.listdir(f"/proc/{os.getpid()}/fd")) < 64  # the audio pipe's ends are closed
