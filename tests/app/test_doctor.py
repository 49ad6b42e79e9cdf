"""`python -m app doctor` on a real home: healthy exits 0; missing, changed and orphaned media, feature files
that lost their row or their file, unreadable features, a dead job and an old schema are each named with a fix,
and the exit code is non-zero."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.services import proxies
from core.features.store import FeatureStore, VideoFeatures
from db import repo
from db.session import session_scope
from tests.media import write_video

ROOT = Path(__file__).resolve().parents[2]
VERSION = "v-test-8"


def doctor(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    env |= {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}"}
    return subprocess.run([sys.executable, "-m", "app", "doctor", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture()
def home(ctx, tmp_path: Path):  # noqa: ANN001, ANN201 - a home with 4 ingested videos and their features
    from app.services.ingest import ingest_path

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        write_video(folder / f"v{i}.mp4", seconds=1.0, fps=5, size=(32, 32), audio=False, seed=i)
    assert ingest_path(ctx, folder).ok
    proxies.make_missing(ctx)  # thumbnails, as extraction writes them
    store = FeatureStore(ctx.settings.features_dir, VERSION)
    with session_scope(ctx.engine) as s:
        for video_id in range(1, 5):
            video = repo.get_video(s, video_id=video_id)
            store.put(video.sha256, VideoFeatures(np.zeros((12, 8)), np.zeros((6, 512)), ["a"]))
            repo.set_features(s, video_id=video_id, version=VERSION)
    return ctx


def test_a_healthy_home(home) -> None:  # noqa: ANN001
    result = doctor(home.settings.home)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("healthy")
    assert "ok    media files" in result.stdout and "ok    feature files" in result.stdout


def test_every_kind_of_damage_is_named_with_its_fix(home) -> None:  # noqa: ANN001
    h = home.settings.home
    store = FeatureStore(home.settings.features_dir, VERSION)
    with session_scope(home.engine) as s:
        videos = [repo.get_video(s, video_id=i) for i in range(1, 5)]
        job_id = repo.create_job(s, params={"architecture": "eastern"})
        repo.claim_job(s, job_id=job_id, pid=2**22 + 12345)  # a worker that no longer exists
    (h / videos[0].path).unlink()  # a row without its file
    data = bytearray((h / videos[1].path).read_bytes())
    data[-1] ^= 0xFF
    (h / videos[1].path).write_bytes(bytes(data))  # same size, other content
    (h / "media" / "zz").mkdir()
    (h / "media" / "zz" / "stray.mp4").write_bytes(b"x")  # a file without its row
    store.path_of(videos[2].sha256).unlink()  # the row says features exist, the file is gone
    store.path_of(videos[3].sha256).write_bytes(b"PK\x03\x04 truncated")  # an unreadable feature file
    store.put("f" * 64, VideoFeatures(np.zeros((12, 8)), np.zeros((6, 512)), []))  # features of no video

    result = doctor(h)
    out = result.stdout
    assert result.returncode == 1, result.stderr[-3000:]
    assert out, result.stderr[-3000:]
    assert f"video {videos[0].id} ({videos[0].path}): file missing" in out
    assert f"video {videos[1].id} ({videos[1].path}): checksum mismatch" in out
    assert "media/zz/stray.mp4: file without a video row (orphan)" in out
    assert f"video {videos[2].id}: its row says features {VERSION} exist, the file is missing" in out
    assert f"video {videos[3].id}:" in out and "unreadable feature file" in out
    assert "features of no video (orphan)" in out
    assert f"job {job_id} is 'running' but its worker is gone" in out
    assert out.count("\n      fix: ") == 7 and "7 problem(s)" in out

    fixed = doctor(h, "--fix")  # the safe repairs: the feature row goes back to pending, the dead job is failed
    assert fixed.returncode == 1
    assert "its row says features" not in fixed.stdout and f"job {job_id}" not in fixed.stdout
    with session_scope(home.engine) as s:
        assert repo.get_video(s, video_id=videos[2].id).features_version is None
        assert repo.get_job(s, job_id=job_id).status == "failed"


def test_an_old_schema_says_migrate(home) -> None:  # noqa: ANN001
    from db.migrate import downgrade

    downgrade(home.settings.db_url, "0002")
    result = doctor(home.settings.home, "--json")
    assert result.returncode == 1
    assert '"fix": "python -m app migrate"' in result.stdout
