"""core.media on small real mp4 files: frame timing, padding, audio, and one clear reason per bad file."""
from __future__ import annotations

import gc
import os
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from core.media import FRAME_TIMES, N_SAMPLES, SAMPLE_RATE, MediaError, decode, probe
from tests.core.conftest import FPS, SIZE, red_level

WIDTH, HEIGHT = SIZE


def reds(frames: np.ndarray) -> np.ndarray:
    return frames[..., 0].reshape(len(frames), -1).mean(axis=1)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


def test_decode_takes_one_frame_per_half_second_and_six_seconds_of_audio(videos):
    video = decode(videos["ok"])
    assert video.frames.shape == (12, HEIGHT, WIDTH, 3) and video.frames.dtype == np.uint8
    expected = [red_level(int(round(t * FPS))) for t in FRAME_TIMES]
    np.testing.assert_allclose(reds(video.frames), expected, atol=4)
    assert video.audio.shape == (N_SAMPLES,) and video.audio.dtype == np.float32
    assert video.sample_rate == SAMPLE_RATE
    assert video.has_audio and not video.is_silent
    # both stereo channels carry the tone: the mono mix keeps its level (sine of peak 0.3 -> rms 0.21)
    assert 0.19 < rms(video.audio) < 0.24
    assert (video.duration, video.fps, video.width, video.height) == (pytest.approx(6.0, abs=0.05), FPS,
                                                                       WIDTH, HEIGHT)


def test_decode_resizes_while_decoding(videos):
    video = decode(videos["ok"], size=(64, 48))
    assert video.frames.shape == (12, 48, 64, 3)
    assert (video.width, video.height) == (WIDTH, HEIGHT)  # the source's size


def test_mono_track_is_not_attenuated(videos):
    # ffmpeg's mono->stereo upmix would scale it by 0.707 (rms ~0.15); we ask ffmpeg for mono directly
    video = decode(videos["mono"])
    assert 0.19 < rms(video.audio) < 0.24


def test_short_video_repeats_its_last_frame_and_pads_audio_with_zeros(videos):
    video = decode(videos["short"])  # 3 s at 10 fps: frames 0..29
    red = reds(video.frames)
    np.testing.assert_allclose(red[:6], [red_level(5 * i) for i in range(6)], atol=4)
    np.testing.assert_allclose(red[6:], red_level(29), atol=4)  # the video's last frame, at 2.9 s
    assert np.all(video.frames[6:] == video.frames[-1])
    three_s = 3 * SAMPLE_RATE
    assert rms(video.audio[: three_s - 2048]) > 0.19
    assert np.all(video.audio[three_s + 2048:] == 0.0)
    assert video.duration == pytest.approx(3.0, abs=0.05)


def test_long_video_uses_its_first_six_seconds(videos):
    video = decode(videos["long"])
    np.testing.assert_allclose(reds(video.frames), [red_level(5 * i) for i in range(12)], atol=4)
    assert video.audio.shape == (N_SAMPLES,) and rms(video.audio[-SAMPLE_RATE:]) > 0.19
    assert video.duration == pytest.approx(8.0, abs=0.05)


def test_missing_audio_track_and_silent_track(videos):
    none = decode(videos["silent"])
    assert not none.has_audio and none.is_silent and not none.audio.any()
    zeros = decode(videos["zeros"])
    assert zeros.has_audio and zeros.is_silent


def test_probe_reads_metadata_without_decoding(videos):
    info = probe(videos["short"])
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert (info.fps, info.width, info.height, info.has_audio) == (FPS, WIDTH, HEIGHT, True)
    assert probe(videos["silent"]).has_audio is False


def test_decode_leaves_no_ffmpeg_process_or_open_pipe(videos):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for name in ("ok", "short", "silent"):
            decode(videos[name])
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert _child_pids() == []


def _child_pids() -> list[int]:
    """Children of this process, less multiprocessing's resource tracker (a spawn pool of an earlier test
    starts it once and it lives as long as the test process)."""
    me = os.getpid()
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"resource_tracker" not in cmdline:
                    children.append(int(entry))
    return children


# -- bad inputs: each raises MediaError("<file>: <reason>") with its own reason ---------------------------
def _truncated(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def _audio_only(src: Path, dest: Path) -> Path:
    import subprocess

    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-vn",
                    "-c:a", "copy", str(dest)], check=True)
    return dest


def _garbage_frames(src: Path, dest: Path) -> Path:
    """A well-formed MP4 whose video payload is random bytes."""
    data = bytearray(src.read_bytes())
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"mdat":
            data[pos + 8:pos + size] = np.random.default_rng(0).integers(0, 256, size - 8, dtype=np.uint8).tobytes()
        pos += size
    dest.write_bytes(bytes(data))
    return dest


def _content(data: bytes):
    return lambda src, dest: dest.write_bytes(data)


BAD_FILES = {  # name -> (how to make it from a good video, words its reason must contain)
    "empty.mp4": (_content(b""), "empty file"),
    "notes.mp4": (_content(b"this is not a video\n"), "text file"),
    "image.mp4": (_content(b"\x89PNG\r\n\x1a\n" + bytes(64)), "PNG image"),
    "half.mp4": (_truncated, "truncated"),
    "sound.mp4": (_audio_only, "no video stream"),
    "noise.mp4": (_garbage_frames, "unreadable video frames"),
}


@pytest.fixture(scope="module")
def bad_files(videos, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    out = {}
    for name, (make, _) in BAD_FILES.items():
        make(videos["silent"] if name == "noise.mp4" else videos["ok"], folder / name)
        out[name] = folder / name
    return out


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_media_error_with_its_reason(bad_files, name):
    expected = BAD_FILES[name][1]
    for call in (probe, decode):
        if call is probe and name == "noise.mp4":
            continue  # its container is fine: only decoding finds the problem
        with pytest.raises(MediaError) as info:
            call(bad_files[name])
        assert str(info.value).startswith(f"{name}: ")
        assert expected in info.value.reason
        assert "\n" not in str(info.value)


def test_bad_file_reasons_are_distinct(bad_files):
    reasons = []
    for path in bad_files.values():
        with pytest.raises(MediaError) as info:
            decode(path)
        reasons.append(info.value.reason)
    assert len(set(reasons)) == len(reasons)


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="nope.mp4: file not found"):
        decode(tmp_path / "nope.mp4")
