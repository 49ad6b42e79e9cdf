"""Ingest judges real-world files by content: every format ffmpeg reads is stored, the rest get one line, a
folder's non-videos are listed as skipped, and the media limits refuse with a line naming their setting."""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.services.ingest import ingest_path
from app.services.media_limits import LIMITS, over_limit
from app.services.proxies import media_view
from app.settings import Settings
from core.media import MediaInfo
from db import repo
from db.session import session_scope
from tests.formats import FORMATS, INGESTED, format_folder, make_format

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> Path:
    return format_folder(tmp_path_factory)


def _videos(ctx) -> dict[str, repo.VideoRow]:
    with session_scope(ctx.engine) as s:
        rows = [repo.get_video(s, video_id=i) for i in range(1, repo.count_videos(s) + 1)]
    return {row.original_name: row for row in rows}


def test_a_folder_of_every_format(ctx, formats, tmp_path):
    folder = tmp_path / "drop"
    shutil.copytree(formats, folder, ignore=shutil.ignore_patterns(".*"))
    (folder / "readme.txt").write_text("what is in this folder\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")

    report = ingest_path(ctx, folder)

    rows = _videos(ctx)
    assert set(rows) == {f.filename for f in FORMATS if f.outcome == INGESTED}
    errors = {e.name: e.reason for e in report.errors}
    assert errors.keys() == {f.filename for f in FORMATS if f.outcome != INGESTED}
    for spec in FORMATS:
        if spec.outcome != INGESTED:
            assert spec.outcome in errors[spec.filename]
    assert errors["huge.mkv"] == "frame 10000x10000 is over the limit of 8192 px a side (EASTERN_MAX_FRAME_SIDE)"
    assert report.skipped == ["readme.txt: not a video file: it is a text file"]  # hidden files: not even listed
    lines = report.lines()
    assert "skip  readme.txt: not a video file: it is a text file" in lines
    assert lines[-1].endswith("3 failed, 1 skipped (not videos)")
    # stored under the file's own extension, lowercased; displayed size of the phone clip is portrait
    assert rows["iphone.MOV"].path.endswith(".mov") and rows["dvd.mpg"].path.endswith(".mpg")
    assert (rows["portrait.mp4"].width, rows["portrait.mp4"].height) == (90, 160)
    assert (rows["phone.3gp"].width, rows["phone.3gp"].height) == (176, 144)


def test_mpg_and_3gp_by_the_cli_and_a_manifest(ctx, formats, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    for name in ("mpeg2_mpg", "h263_3gp"):
        shutil.copy(make_format(name, formats), folder)
    (folder / "notes.txt").write_text("shot on a flip phone\n")
    env = {"PATH": "/usr/bin:/bin", "EASTERN_HOME": str(ctx.settings.home), "EASTERN_DB_URL": ctx.settings.db_url}
    done = subprocess.run([sys.executable, "-m", "app", "ingest", str(folder), "--no-features"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skip  notes.txt: not a video file: it is a text file" in done.stdout
    assert "ingested 2 video(s), 0 already present, 0 failed, 1 skipped (not videos)" in done.stdout

    manifest = tmp_path / "list.csv"
    shutil.copy(make_format("wmv", formats), tmp_path)
    manifest.write_text("filename,caption\nold.wmv,a wmv from 2006\n")
    assert ingest_path(ctx, manifest).added and "old.wmv" in _videos(ctx)


def test_a_name_without_extension_gets_the_container_s(ctx, formats, tmp_path):
    shutil.copy(make_format("vp9_webm", formats), tmp_path / "clip")
    shutil.copy(make_format("mpegts", formats), tmp_path / "capture.dat")
    for name in ("clip", "capture.dat"):
        assert ingest_path(ctx, tmp_path / name).ok
    rows = _videos(ctx)
    assert rows["clip"].path.endswith(".mkv") and rows["capture.dat"].path.endswith(".ts")


def test_limits_come_from_the_environment_and_name_their_setting(ctx, formats, monkeypatch):
    monkeypatch.setenv("EASTERN_MAX_DURATION_S", "1.5")
    ctx = replace(ctx, settings=Settings(home=ctx.settings.home, db_url=ctx.settings.db_url))
    report = ingest_path(ctx, make_format("h264_mkv", formats))
    assert [str(e) for e in report.errors] == ["clip.mkv: 2 s long, over the limit of 1.5 s (EASTERN_MAX_DURATION_S)"]


@pytest.mark.parametrize(("setting", "value", "reason"), [
    ("max_frame_side", 1000, "frame 1280x720 is over the limit of 1000 px a side (EASTERN_MAX_FRAME_SIDE)"),
    ("max_frame_mpx", 0.5, "frame 1280x720 (0.9 Mpx) is over the limit of 0.5 Mpx (EASTERN_MAX_FRAME_MPX)"),
    ("max_pixel_rate_mpx", 50, "1280x720 at 60 fps (55 Mpx/s) is over the limit of 50 Mpx/s "
                               "(EASTERN_MAX_PIXEL_RATE_MPX)"),
    ("max_duration_s", 60, "90 s long, over the limit of 60 s (EASTERN_MAX_DURATION_S)"),
    ("max_streams", 2, "3 streams, over the limit of 2 (EASTERN_MAX_STREAMS)"),
])
def test_each_limit(tmp_path, setting, value, reason):
    info = MediaInfo(duration=90.0, fps=60.0, width=1280, height=720, has_audio=True, audio_streams=1,
                     other_streams=1)
    assert over_limit(info, Settings(home=tmp_path)) is None  # within the defaults
    assert over_limit(info, Settings(home=tmp_path, **{setting: value})) == reason
    assert {limit.setting for limit in LIMITS} <= set(Settings.model_fields)


def test_video_detail_decodes_a_huge_frame_at_display_size(ctx, formats, monkeypatch):
    monkeypatch.setenv("EASTERN_MAX_FRAME_SIDE", "10000")
    monkeypatch.setenv("EASTERN_MAX_FRAME_MPX", "100")
    ctx = replace(ctx, settings=Settings(home=ctx.settings.home, db_url=ctx.settings.db_url))
    assert ingest_path(ctx, make_format("huge_mkv", formats)).ok
    row = _videos(ctx)["huge.mkv"]
    view = media_view(ctx, sha256=row.sha256, rel_path=row.path)
    assert view.frames.shape == (12, 160, 160, 3)


def test_upload_page_filters_no_type_and_refuses_a_huge_frame_with_its_line(private_ws, formats):
    from tests.app.test_pages import open_page
    from tests.app.test_upload_job import finish_uploads

    at = open_page("upload", annotator="dave")
    uploader = at.file_uploader(key="upload_file")
    assert list(uploader.proto.type) == []  # .3gp, .mpg, .avi, ... all reach the content check
    huge = make_format("huge_mkv", formats)
    uploader.set_value((huge.name, huge.read_bytes(), "video/x-matroska"))
    at.button(key="upload_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    finish_uploads(at)
    errors = [e.value.replace("\\", "") for e in at.error]  # the alert's Markdown escapes are not shown
    assert errors == ["huge.mkv: frame 10000x10000 is over the limit of 8192 px a side (EASTERN_MAX_FRAME_SIDE)"]
