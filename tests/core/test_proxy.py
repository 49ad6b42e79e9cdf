"""Browser copies and thumbnails on real files of the formats phones, cameras and editors write."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core import proxy
from core.probe import probe
from tests.formats import BY_NAME, SILENT_CLIP, SOUND_CLIP, make_format

PROXIED = ("hevc_mov", "prores_mov", "mpeg2_mpg", "vp9_webm", "rotated_mp4", "vfr_mp4", "mjpeg_avi", "mpegts")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy-formats")


def _faststart(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def test_the_rule_names_why_a_copy_is_needed(folder: Path) -> None:
    reasons = {name: proxy.browser_playable(probe(make_format(name, folder))) for name in
               ("hevc_mov", "prores_mov", "mpeg2_mpg", "vp9_webm", "h264_mkv", "rotated_mp4", "vfr_mp4")}
    assert reasons["hevc_mov"] == (False, "HEVC: Chromium plays its sound over a black picture")
    assert reasons["prores_mov"][1].startswith("ProRes") and reasons["mpeg2_mpg"][1].startswith("MPEG-2")
    assert reasons["vp9_webm"][1].startswith("VP9") and "matroska" in reasons["h264_mkv"][1]
    assert "turned 90" in reasons["rotated_mp4"][1] and "variable frame rate" in reasons["vfr_mp4"][1]
    assert not any(plays for plays, _ in reasons.values())


@pytest.mark.parametrize("name", PROXIED)
def test_a_proxy_plays_everywhere_and_is_upright(folder: Path, tmp_path: Path, name: str) -> None:
    src = make_format(name, folder)
    original = probe(src)
    out = proxy.write_proxy(src, tmp_path / "copy.mp4")
    info = probe(out)
    assert proxy.browser_playable(info) == (True, "plays in every browser as it is")
    assert (info.width, info.height) == (original.width, original.height)  # displayed size, rotation applied
    assert info.rotation == 0 and info.width % 2 == 0 and info.height % 2 == 0
    assert info.has_audio == BY_NAME[name].audio and info.audio_codec in (None, "aac")
    assert abs(info.duration - original.duration) < 0.25
    assert _faststart(out)
    assert [p.name for p in tmp_path.iterdir()] == ["copy.mp4"]  # no temporary file left


def test_large_originals_are_capped_at_720_px(tmp_path: Path) -> None:
    info = probe(proxy.write_proxy(SOUND_CLIP, tmp_path / "copy.mp4"))
    assert (info.width, info.height) == (720, 404)


def test_thumbnails_are_upright_at_display_size(folder: Path, tmp_path: Path) -> None:
    portrait = proxy.write_thumbnail(make_format("rotated_mp4", folder), tmp_path / "p.jpg")
    landscape = proxy.write_thumbnail(make_format("hevc_mov", folder), tmp_path / "l.jpg")
    with Image.open(portrait) as p, Image.open(landscape) as q:
        assert p.format == "JPEG" and p.height > p.width  # a phone's portrait clip stays portrait
        assert q.width > q.height and max(q.size) <= proxy.THUMB_SIDE


def test_a_transport_stream_that_seeks_to_nothing_gets_its_first_frame(folder: Path, tmp_path: Path) -> None:
    with Image.open(proxy.write_thumbnail(make_format("mpegts", folder), tmp_path / "ts.jpg")) as img:
        assert img.size == (160, 90)


def test_ensure_writes_what_is_missing_once(folder: Path, tmp_path: Path) -> None:
    sha = "ab" * 32
    hevc = make_format("hevc_mov", folder)
    assert proxy.ensure(hevc, tmp_path, sha) == proxy.Made(thumbnail=True, proxy=True)
    assert proxy.proxy_path(tmp_path, sha) == tmp_path / "proxies" / "ab" / f"{sha}.mp4"
    assert proxy.thumb_path(tmp_path, sha).is_file() and proxy.proxy_path(tmp_path, sha).is_file()
    assert proxy.ensure(hevc, tmp_path, sha) == proxy.Made()  # a rerun skips both
    assert proxy.ensure(SILENT_CLIP, tmp_path, "cd" * 32) == proxy.Made(thumbnail=True, proxy=False)
    assert not proxy.proxy_path(tmp_path, "cd" * 32).exists()


def test_a_broken_source_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    with pytest.raises((proxy.MediaError, proxy.ProxyError)) as err:
        proxy.write_proxy(bad, tmp_path / "copy.mp4")
    assert "\n" not in str(err.value) and not (tmp_path / "copy.mp4").exists()
