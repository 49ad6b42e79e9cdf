"""Thumbnails, media views and browser copies in a real home: written by feature extraction (a rerun skips them), by
`python -m app proxies` after a deletion, named and rebuilt by doctor; the player picks the copy and says why."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.services import browse, proxies
from core import proxy
from core.probe import probe
from db import repo
from db.session import session_scope
from tests.formats import make_format
from tests.media import write_video

ROOT = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    env |= {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}"}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture()
def home(ctx, tmp_path: Path):  # noqa: ANN001, ANN201 - an HEVC .MOV, a portrait phone clip and a plain mp4
    from app.services.ingest import ingest_path

    folder = tmp_path / "in"
    make_format("hevc_mov", folder)
    make_format("rotated_mp4", folder)
    write_video(folder / "plain.mp4", seconds=1.0, fps=5, size=(64, 48), audio=False, seed=3)
    (folder / ".sources").rename(tmp_path / "sources")  # keep make_format's intermediate files out of ingest
    report = ingest_path(ctx, folder)
    assert report.ok and (report.copies.thumbnails, report.copies.proxies) == (3, 2)  # made at ingest
    return ctx


def _videos(ctx) -> dict[str, repo.VideoRow]:  # noqa: ANN001
    with session_scope(ctx.engine) as s:
        return {v.original_name: v for v in repo.all_videos(s)}


def test_extraction_writes_copies_and_a_rerun_skips_them(home) -> None:  # noqa: ANN001
    from app.services import features

    h = home.settings.home
    for folder in ("thumbs", "proxies"):  # as in a home from before copies were made at ingest
        shutil.rmtree(h / folder)
    first = features.extract_pending(home)
    assert not first.failed and (first.thumbnails, first.proxies) == (3, 2)
    videos = _videos(home)
    assert proxy.proxy_path(h, videos["iphone.MOV"].sha256).is_file()
    assert proxy.proxy_path(h, videos["portrait.mp4"].sha256).is_file()
    assert not proxy.proxy_path(h, videos["plain.mp4"].sha256).exists()  # plays everywhere as it is
    again = proxies.make_missing(home)
    assert (again.checked, again.thumbnails, again.proxies, again.failed) == (3, 0, 0, [])


def test_the_player_plays_the_copy_and_says_why(home) -> None:  # noqa: ANN001
    proxies.make_missing(home)
    videos = _videos(home)
    hevc = browse.video_detail(home, videos["iphone.MOV"].id).playback
    assert hevc.is_proxy and hevc.path == proxy.proxy_path(home.settings.home, videos["iphone.MOV"].sha256)
    assert hevc.note == "Playing a browser copy (the original is HEVC: Chromium plays its sound over a black picture)."
    plain = browse.video_detail(home, videos["plain.mp4"].id).playback
    assert not plain.is_proxy and plain.note is None and plain.path.name.endswith(".mp4")
    hevc.path.unlink()
    missing = proxies.playback(home, sha256=videos["iphone.MOV"].sha256, rel_path=videos["iphone.MOV"].path)
    assert not missing.is_proxy and "No browser copy yet (HEVC" in missing.note
    assert "python -m app proxies" in missing.note


def test_browse_reads_the_stored_thumbnail_and_makes_a_missing_one_once(home) -> None:  # noqa: ANN001
    proxies.make_missing(home)
    v = _videos(home)["portrait.mp4"]
    stored = proxy.thumb_path(home.settings.home, v.sha256)
    assert browse.thumbnail(home, sha256=v.sha256, rel_path=v.path) == stored
    with Image.open(stored) as img:
        assert img.height > img.width  # upright: the phone held it in portrait
    stored.unlink()
    assert browse.thumbnail(home, sha256=v.sha256, rel_path=v.path) == stored and stored.is_file()


def test_the_media_view_is_made_with_the_thumbnail_and_read_from_its_file(home) -> None:  # noqa: ANN001
    """Video detail draws the 12 frames and the audio from a file made at ingest (make_missing), never by decoding in
    the page run: once made, the view reads back the same without its video."""
    h = home.settings.home
    shutil.rmtree(h / "cache" / "media", ignore_errors=True)
    report = proxies.make_missing(home)
    assert report.views == 3 and not report.failed
    v = _videos(home)["portrait.mp4"]
    assert proxies.view_path(home, v.sha256).is_file()
    made = proxies.media_view(home, sha256=v.sha256, rel_path=v.path)
    assert made.frames.shape[0] == 12 and made.frames.shape[2] == proxies.STRIP_WIDTH
    assert made.frames.shape[1] > made.frames.shape[2]  # upright, as the thumbnail
    original = h / v.path
    moved = original.with_name(original.name + ".away")
    original.rename(moved)
    try:
        again = proxies.media_view(home, sha256=v.sha256, rel_path=v.path)  # the file, not the video
    finally:
        moved.rename(original)
    assert np.array_equal(again.frames, made.frames) and again.has_audio == made.has_audio
    assert proxies.make_missing(home).views == 0  # made once


def test_the_proxies_command_and_doctor_rebuild_what_was_lost(home) -> None:  # noqa: ANN001
    h = home.settings.home
    for folder in ("thumbs", "proxies", "cache/media"):
        shutil.rmtree(h / folder, ignore_errors=True)
    made = cli(h, "proxies")
    assert made.returncode == 0, made.stderr[-2000:]
    assert "3 videos checked, 2 browser copies, 3 thumbnails and 3 media views made, 0 failed" in made.stdout
    hevc, portrait = _videos(home)["iphone.MOV"], _videos(home)["portrait.mp4"]
    proxy.proxy_path(h, hevc.sha256).unlink()
    rebuilt = cli(h, "proxies")
    assert "1 browser copies, 0 thumbnails and 0 media views made" in rebuilt.stdout
    assert proxy.proxy_path(h, hevc.sha256).is_file()

    proxy.thumb_path(h, portrait.sha256).unlink()
    proxy.proxy_path(h, hevc.sha256).write_bytes(b"\x00\x00\x00\x18ftypisom truncated")
    sick = cli(h, "doctor")
    assert sick.returncode == 1
    assert f"video {portrait.id} ({portrait.path}): thumbnail missing" in sick.stdout
    assert f"video {hevc.id} ({hevc.path}): browser copy damaged" in sick.stdout
    fixed = cli(h, "doctor", "--fix", "--no-checksum")
    assert fixed.returncode == 0 and "ok    browser copies" in fixed.stdout, fixed.stdout
    assert proxy.browser_playable(probe(proxy.proxy_path(h, hevc.sha256)))[0]
    assert proxy.thumb_path(h, portrait.sha256).is_file()
