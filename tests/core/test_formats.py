"""core.media on real-world containers and codecs (tests/formats.py): probe reads each file's content, and
decode_fast gives 12 upright frames of every format ffmpeg reads."""
from __future__ import annotations

import numpy as np
import pytest

from core.media import MediaError, decode, decode_fast, fit_within, probe
from tests.formats import FORMATS, INGESTED, format_folder, make_format, upright_original

VIDEOS = [f for f in FORMATS if f.video_codec and f.outcome == INGESTED]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return format_folder(tmp_path_factory)


@pytest.mark.parametrize("spec", VIDEOS, ids=lambda f: f.name)
def test_probe_reads_codec_rotation_and_frame_rate_from_the_content(folder, spec):
    info = probe(folder / spec.filename)
    assert info.video_codec == spec.video_codec
    assert info.has_audio is spec.audio and (info.audio_codec is not None) is spec.audio
    assert info.rotation == spec.rotation and info.variable_frame_rate is spec.vfr
    assert info.container and info.pixel_format and info.bit_depth in (8, 10)
    assert info.video_streams == 1 and info.audio_streams == int(spec.audio) and info.other_streams == 0
    assert 1.9 < info.duration < 2.2 and info.fps > 10
    expected = (90, 160) if spec.rotation else (176, 144) if spec.name == "h263_3gp" else (160, 90)
    assert (info.width, info.height) == expected  # as displayed


def test_probe_details_of_a_phone_hevc_and_a_prores_master(folder):
    hevc = probe(make_format("hevc_mov", folder))
    assert (hevc.container.split(",")[0], hevc.profile, hevc.audio_codec, hevc.extension) == ("mov", "Main", "aac",
                                                                                             ".mp4")
    prores = probe(make_format("prores_mov", folder))
    assert (prores.pixel_format, prores.bit_depth) == ("yuv422p10le", 10)
    assert probe(make_format("mpeg2_mpg", folder)).extension == ".mpg"
    assert probe(make_format("wmv", folder)).container == "asf"


@pytest.mark.parametrize("spec", VIDEOS, ids=lambda f: f.name)
def test_decode_fast_gives_twelve_upright_frames(folder, spec):
    path = folder / spec.filename
    info = probe(path)
    video = decode_fast(path)
    assert video.frames.shape == (12, info.height, info.width, 3)
    assert video.has_audio is spec.audio and (video.is_silent is not spec.audio)
    assert video.frames.std() > 5  # a real picture, not a blank one
    small = decode_fast(path, size=fit_within(info.width, info.height, 64))
    assert max(small.frames.shape[1:3]) <= 64


def test_rotated_phone_clip_decodes_portrait_and_upright(folder):
    path = make_format("rotated_mp4", folder)
    upright = decode_fast(upright_original(path)).frames.astype(int)  # the landscape pixels as stored
    for frames in (decode_fast(path).frames, decode(path).frames):
        assert frames.shape == (12, 160, 90, 3)  # portrait
        # turned 90 degrees clockwise for display, as the phone's display matrix says
        assert np.abs(frames.astype(int) - np.rot90(upright, k=-1, axes=(1, 2))).mean() < 2


@pytest.mark.parametrize("name", ["audio_only_mp4", "text_mp4"])
def test_files_without_a_video_stream_get_their_line(folder, name):
    spec = next(f for f in FORMATS if f.name == name)
    with pytest.raises(MediaError) as info:
        probe(folder / spec.filename)
    assert spec.outcome in info.value.reason and "\n" not in str(info.value)


def test_huge_frame_is_probed_without_decoding_it(folder):
    info = probe(make_format("huge_mkv", folder))
    assert (info.width, info.height, info.video_codec) == (10000, 10000, "h264")
    assert info.pixel_format is None  # learning it would decode a 300 MB frame in this process


def test_fit_within_scales_down_only_and_keeps_even_sides():
    assert fit_within(10000, 10000, 480) == (480, 480)
    assert fit_within(1920, 1080, 480) == (480, 270)
    assert fit_within(90, 160, 480) == (90, 160)
    assert fit_within(1081, 3, 480) == (480, 2)


def test_variable_frame_rate_picks_the_frame_shown_at_each_time(tmp_path):
    """25 fps grey frames (level 2*i) with every third one dropped: frame numbers no longer follow time."""
    import subprocess

    import imageio_ffmpeg

    frames = np.repeat((np.arange(100, dtype=np.uint8) * 2)[:, None, None, None], 32 * 32 * 3).reshape(100, 32, 32, 3)
    path = tmp_path / "vfr.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt",
                    "rgb24", "-s", "32x32", "-r", "25", "-i", "-", "-vf", "select='not(eq(mod(n\\,3)\\,2))'",
                    "-fps_mode", "vfr", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", str(path)],
                   input=frames.tobytes(), check=True)
    assert probe(path).variable_frame_rate
    shown = []
    for t in np.arange(12) * 0.5:  # the last frame starting at or before t; past the end (4 s) the last one
        n = min(int(25 * t + 1e-5), 99)
        shown.append(n - 1 if n % 3 == 2 else n)
    levels = decode_fast(path).frames.reshape(12, -1).mean(axis=1) / 2
    np.testing.assert_allclose(levels, shown, atol=1.0)
