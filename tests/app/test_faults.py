"""Faults that lose nothing, each with real processes: kill -9 during feature extraction and during ingest, a
training job beside 4 annotator processes writing SQLite for 20 s, and a full disk while a checkpoint is written."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from db import repo
from db.session import session_scope
from tests.fixtures import Workspace
from tests.media import write_video

ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path, db_url: str | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    return environ | {"EASTERN_HOME": str(home), "EASTERN_DB_URL": db_url or f"sqlite:///{home / 'eastern.db'}",
                      "PYTHONPATH": str(ROOT)}


def _start(home: Path, *args: str, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=_env(home), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready, timeout_s: float = 240.0) -> None:  # noqa: ANN001 - () -> bool
    """kill -9 the process (and its children) once ready() holds while it still runs."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert proc.poll() is None, "the process ended before the fault could be injected"
        assert time.monotonic() < deadline, "the process never got going"
        time.sleep(0.02)
    assert proc.poll() is None, "the process ended before the fault could be injected"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _videos(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        write_video(folder / f"clip-{i:02d}.mp4", seconds=2.0, fps=8, size=(64, 48), audio=i % 2 == 0, seed=i)
    return folder


def _context(home: Path):  # noqa: ANN202 - an AppContext on that home
    from app.context import make_context
    from app.settings import Settings

    return make_context(Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _healthy(ctx, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # noqa: ANN001
    """Doctor's findings after its safe repairs (leftover temporary files of the killed process included)."""
    from app.services import doctor

    monkeypatch.setattr(doctor, "TEMP_GRACE_S", 0.0)
    diagnosis = doctor.diagnose(ctx)
    left = doctor.repair(diagnosis)
    assert not left, [p.what for p in left]
    return [p.what for p in diagnosis.problems]


def test_kill_9_during_ingest_leaves_no_half_file_and_no_row_without_file(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    home = tmp_path / "home"
    folder = _videos(tmp_path / "in", 24)
    ctx = _context(home)
    from app.services.database import prepare_database

    prepare_database(ctx)

    def rows() -> int:
        with session_scope(ctx.engine) as s:
            return repo.count_videos(s)

    proc = _start(home, "ingest", str(folder), "--no-features", log=tmp_path / "ingest.log")
    _kill_when(proc, lambda: rows() >= 3)
    with session_scope(ctx.engine) as s:
        stored = [repo.get_video(s, video_id=i) for i in range(1, repo.count_videos(s) + 1)]
    assert 3 <= len(stored) < 24
    for video in stored:  # no row without its (whole) file
        assert _sha(home / video.path) == video.sha256
    for path in (home / "media").rglob("*"):  # no half file among the media: every file is whole and named for it
        if path.is_file():
            assert path.stem == _sha(path), f"half or foreign file in media/: {path}"

    again = subprocess.run([sys.executable, "-m", "app", "ingest", str(folder), "--no-features"], cwd=ROOT,
                           env=_env(home), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert rows() == 24
    found = _healthy(ctx, monkeypatch)
    print("doctor after the kill and the rerun:", found or "healthy")


def test_kill_9_during_feature_extraction_then_rerun_finishes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    home = tmp_path / "home"
    folder = _videos(tmp_path / "in", 10)
    ctx = _context(home)
    from app.services.database import prepare_database
    from app.services.ingest import ingest_path

    prepare_database(ctx)
    assert ingest_path(ctx, folder).ok
    items = home / "features"

    def some_features() -> bool:
        return any(not p.name.startswith(".") for p in items.rglob("items/*/*.npz"))

    proc = _start(home, "features", log=tmp_path / "features.log")
    _kill_when(proc, some_features, timeout_s=400)

    from app.services import features

    store = features.store(ctx.settings)
    for key in store.keys():  # whatever was written is whole: a killed put never leaves a file under its name
        feats = store.get(key)
        assert feats.visual.shape[0] == 12 and feats.acoustic.shape == (6, 512)

    again = subprocess.run([sys.executable, "-m", "app", "features"], cwd=ROOT, env=_env(home),
                           capture_output=True, text=True, timeout=500)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    with session_scope(ctx.engine) as s:
        assert not repo.videos_missing_features(s, version=store.version)
    assert len(store.keys()) == 10
    visual, acoustic, _ = store.load(store.keys())
    assert visual.shape[:2] == (10, 12) and acoustic.shape == (10, 6, 512)
    found = _healthy(ctx, monkeypatch)
    print("doctor after the kill and the rerun:", found or "healthy")


ANNOTATOR = textwrap.dedent("""
    import json, random, sys, time
    from app.context import get_context
    from app.services import annotate
    from db import repo
    from db.session import session_scope

    name, seconds, venues = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    ctx, rng, accepted, conflicts, errors = get_context(), random.Random(name), [], 0, []
    deadline, n = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        n += 1
        video_id = rng.randint(1, 30)
        try:
            with session_scope(ctx.engine) as s:
                version = repo.get_video(s, video_id=video_id).version
            reason = f"{name}-{n}"
            annotate.relabel(ctx, video_id=video_id, venue=rng.choice(venues), who=name, reason=reason,
                             expected_version=version)
            accepted.append(reason)
        except repo.LabelConflict:
            conflicts += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"accepted": accepted, "conflicts": conflicts, "errors": errors}))
""")


def test_training_job_and_4_annotators_write_sqlite_for_20_s(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services import accounts, jobs
    from app.services.training import TrainRequest

    ctx = get_context()
    with session_scope(ctx.engine) as s:
        venues = [v.name for v in repo.list_venues(s, used_only=True)]
    names = [f"annotator-{i}" for i in range(4)]
    for name in names:
        accounts.create(ctx, name=name, role="annotator", password="pw-" + name, actor="test")
    job_id = jobs.submit(ctx, TrainRequest(epochs=40, seed=1), who=private_ws.admin)
    procs = [subprocess.Popen([sys.executable, "-c", ANNOTATOR, name, "20", json.dumps(venues)], cwd=ROOT,
                              env=_env(private_ws.home, private_ws.db_url), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in names]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        assert "database is locked" not in err
        results.append(json.loads(out.strip().splitlines()[-1]))
    jobs.cancel(ctx, job_id, who=private_ws.admin)
    deadline = time.monotonic() + 240
    while True:
        with session_scope(ctx.engine) as s:
            job = repo.get_job(s, job_id=job_id)
        if job.status not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    log = (private_ws.home / "jobs" / f"job-{job_id}.log").read_text(errors="replace")
    assert job.status in ("done", "cancelled"), (job.status, job.error, log[-3000:])
    assert "database is locked" not in log and "database is locked" not in (job.error or "")
    assert job.epoch >= 1, "the job trained while the annotators wrote"

    errors = [e for r in results for e in r["errors"]]
    assert not errors, errors[:5]
    accepted = [reason for r in results for reason in r["accepted"]]
    assert len(accepted) >= 20, "the annotators barely wrote"
    from sqlalchemy import func, select

    from db.models import Label

    with session_scope(ctx.engine) as s:
        counts = dict(s.execute(select(Label.reason, func.count()).where(Label.reason.in_(accepted))
                                .group_by(Label.reason)).all())
    assert all(counts.get(reason) == 1 for reason in accepted), "an accepted save is missing or doubled"
    print(f"{len(accepted)} saves accepted, {sum(r['conflicts'] for r in results)} refused as conflicts, "
          f"job {job.status} at epoch {job.epoch}")


DISK_FULL = textwrap.dedent("""
    import errno, sys
    import torch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    torch.save = full  # every checkpoint write of this process hits a full disk
    from app.cli import main
    sys.exit(main(["worker", "--job", sys.argv[1]]))
""")


def test_disk_full_while_a_checkpoint_is_written(private_ws: Workspace) -> None:
    from app.context import get_context
    from app.services.training import TrainRequest

    ctx = get_context()
    with session_scope(ctx.engine) as s:
        active = repo.active_model(s)
        versions = len(repo.list_model_versions(s))
        job_id = repo.create_job(s, params=TrainRequest(epochs=1, seed=2).to_dict(), created_by=private_ws.admin)
    checkpoint = private_ws.home / active.checkpoint_path
    before = _sha(checkpoint)
    run = subprocess.run([sys.executable, "-c", DISK_FULL, str(job_id)], cwd=ROOT,
                         env=_env(private_ws.home, private_ws.db_url), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr[-2000:]
    with session_scope(ctx.engine) as s:
        job = repo.get_job(s, job_id=job_id)
        assert repo.active_model(s).id == active.id
        assert len(repo.list_model_versions(s)) == versions  # no version without its checkpoint
    assert job.status == "failed" and "No space left on device" in job.error, (job.status, job.error)
    assert _sha(checkpoint) == before  # the active model's file is untouched
    leftovers = [p for p in (private_ws.home / "models").rglob("*") if p.is_file() and p.name.startswith(".")]
    assert not leftovers, leftovers
