"""Ingest: every bad file gets one clear line, the rest are ingested, nothing else is lost."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.services.ingest import ingest_path
from db import repo
from db.session import session_scope
from tests.media import write_video


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "a": write_video(folder / "a.mp4", seed=1),
        "b": write_video(folder / "b.mp4", seed=2),
        "noaudio": write_video(folder / "noaudio.mp4", audio=False, seed=3),
        "short": write_video(folder / "short.mp4", seconds=3.0, seed=4),
        "long": write_video(folder / "long.mp4", seconds=8.0, seed=5),
    }


def _videos(ctx) -> list[repo.VideoRow]:
    with session_scope(ctx.engine) as s:
        return [repo.get_video(s, video_id=i) for i in range(1, repo.count_videos(s) + 1)]


def test_folder_with_bad_files(ctx, good, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(good["a"], folder / "good.mp4")
    shutil.copy(good["noaudio"], folder / "silent.mp4")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is not a video\n")
    data = good["b"].read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (folder / "readme.txt").write_text("skipped: not a video, and its name does not claim one")

    report = ingest_path(ctx, folder)

    errors = {e.name: e.reason for e in report.errors}
    assert set(errors) == {"empty.mp4", "notes.mp4", "truncated.mp4"}
    assert report.skipped == ["readme.txt: not a video file: it is a text file"]
    assert "skip  readme.txt: not a video file: it is a text file" in report.lines()
    assert "empty" in errors["empty.mp4"]
    assert all(reason for reason in errors.values())
    assert len(report.added) == 2
    assert any("silent.mp4" in n and "no audio" in n for n in report.notes)
    rows = {v.original_name: v for v in _videos(ctx)}
    assert rows["silent.mp4"].has_audio is False and rows["good.mp4"].has_audio is True
    stored = ctx.settings.home / rows["good.mp4"].path
    assert stored.is_file() and rows["good.mp4"].sha256 in stored.name


def test_reingest_is_a_noop(ctx, good) -> None:
    first = ingest_path(ctx, good["a"])
    second = ingest_path(ctx, good["a"])
    assert len(first.added) == 1 and second.added == [] and len(second.duplicates) == 1
    assert len(_videos(ctx)) == 1


def test_manifest_labels_captions_and_bad_rows(ctx, good, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    for key in ("a", "b", "short", "long"):
        shutil.copy(good[key], folder / f"{key}.mp4")
    (folder / "report.mp4").write_bytes(b"%PDF-1.4 not a video")
    manifest = folder / "manifest.csv"
    manifest.write_bytes(
        b"filename,caption,venue\n"
        b"a.mp4,\"dunk \xf0\x9f\x8f\x80 #GameDay \xe7\xaf\xae\xe7\x90\x83\",College Basketball Court\n"
        b"b.mp4,fine,Narnia Palace\n"
        b"short.mp4,,\n"
        b"long.mp4,roses \xff\xfe here,garden\n"
        b"../escape.mp4,x,Gym\n"
        b"sub/dir.mp4,x,Gym\n"
        b"missing.mp4,x,Gym\n"
        b"report.mp4,x,Gym\n"
    )
    report = ingest_path(ctx, manifest)
    reasons = " | ".join(str(e) for e in report.errors)
    assert "Narnia Palace" in reasons and "unknown venue" in reasons
    assert "path separators" in reasons and "'../escape.mp4'" in reasons and "'sub/dir.mp4'" in reasons
    assert "missing.mp4: file not found" in reasons
    assert "report.mp4" in reasons
    assert len(report.errors) == 5
    rows = {v.original_name: v for v in _videos(ctx)}
    assert set(rows) == {"a.mp4", "short.mp4", "long.mp4"}
    assert rows["a.mp4"].current_venue == "College Basketball Court"
    assert "🏀" in rows["a.mp4"].caption and "篮球" in rows["a.mp4"].caption
    assert rows["short.mp4"].current_venue is None and rows["short.mp4"].caption == ""
    assert rows["long.mp4"].current_venue == "Garden"
    assert rows["long.mp4"].caption == "roses \ufffd\ufffd here"
    assert any("short.mp4" in n and "padded" in n for n in report.notes)
    assert any("long.mp4" in n and "first 6 s" in n for n in report.notes)


def test_wrong_file_type_and_missing_path(ctx, tmp_path: Path) -> None:
    doc = tmp_path / "clip.gif"
    doc.write_bytes(b"GIF89a")  # a name is never refused: the content is, with ffmpeg's reason
    report = ingest_path(ctx, doc)
    assert str(report.errors[0]).startswith("clip.gif: ") and report.added == []
    report = ingest_path(ctx, tmp_path / "nope")
    assert "no such file" in str(report.errors[0])
