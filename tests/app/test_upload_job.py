"""Uploads are ingest jobs: the Upload page only saves the bytes in the home and submits a job (the job room); a
worker process probes, copies, makes the browser copy and thumbnail, extracts and predicts, each file all or
nothing; the page shows the stages and, when the job ends, each file's outcome. `ingest --background` is the same
job kind. A killed worker leaves no row and no file behind."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.services import ingest_job, jobs
from app.services.requests import IngestRequest
from db import repo
from db.session import session_scope
from tests.app.test_pages import chart_keys, open_page
from tests.fixtures import AS_ADMIN, Workspace
from tests.formats import format_folder, make_format

ROOT = Path(__file__).resolve().parents[2]
JOB_DEADLINE_S = 300  # a worker imports torch and loads the frame encoder; the machine is shared


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return format_folder(tmp_path_factory)


def ctx_now():  # noqa: ANN201 - the AppContext of the current EASTERN_HOME
    from app.context import get_context

    return get_context()


def wait_for(job_id: int) -> jobs.JobView:
    """The job once its worker has ended (polling its row, as the page does)."""
    deadline = time.monotonic() + JOB_DEADLINE_S
    while (job := jobs.get_job(ctx_now(), job_id)) is not None and job.active and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job is not None and not job.active, f"job {job_id} still {job and job.status}: {job and job.message}"
    return job


def finish_uploads(at):  # noqa: ANN001, ANN201 - an AppTest on the Upload page
    """Wait for every upload job of the page's account, then run the page again (it shows the outcomes)."""
    for job in jobs.list_jobs(ctx_now(), kind="ingest", limit=20):
        wait_for(job.id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _videos_by_sha() -> dict[str, repo.VideoRow]:
    with session_scope(ctx_now().engine) as s:
        return {v.sha256: v for v in repo.all_videos(s)}


def _files(home: Path) -> set[Path]:
    """Every file under the home's media, copies, thumbnails, features, staging and work folders."""
    found = set()
    for folder in ("media", "proxies", "thumbs", "features", "uploads", "tmp"):
        found |= {p for p in (home / folder).rglob("*") if p.is_file()}
    return found


def test_the_page_submits_a_job_and_a_worker_ingests_a_real_clip_and_refuses_a_huge_frame(
        private_ws: Workspace, formats: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing may be probed, copied or decoded in the page run: the worker does it in its own process
    def in_page_run(*_a: object, **_k: object) -> None:
        raise AssertionError("ingest ran inside the page run")

    monkeypatch.setattr(ingest_job, "_store", in_page_run)
    monkeypatch.setattr(ingest_job, "run_ingest_job", in_page_run)
    clip, huge = make_format("hevc_mov", formats), make_format("huge_mkv", formats)
    before = _videos_by_sha()

    at = open_page("upload", annotator="dave")
    submitted = []
    for path in (clip, huge):
        at.file_uploader(key="upload_file").set_value((path.name, path.read_bytes(), "video/quicktime"))
        at.button(key="upload_submit").click().run()
        assert not at.exception, [e.value for e in at.exception]
        newest = jobs.list_jobs(ctx_now(), kind="ingest", limit=1)[0]
        assert newest.created_by == "dave" and newest.id not in submitted
        assert newest.request is not None and newest.request.staged and Path(newest.request.path).name == path.name
        submitted.append(newest.id)
        assert any(f"Upload job {newest.id} started" in i.value for i in at.info), [i.value for i in at.info]
    assert [e.actor for e in _audit("ingest")] == ["dave", "dave"]  # checked and audited in the service

    finish_uploads(at)
    clip_job, huge_job = (jobs.get_job(ctx_now(), j) for j in submitted)
    assert clip_job.status == huge_job.status == jobs.JobStatus.DONE, (clip_job.error, huge_job.error)
    assert clip_job.pid != os.getpid()  # a worker process did the work
    [accepted] = ingest_job.outcomes(clip_job)
    [refused] = ingest_job.outcomes(huge_job)
    assert accepted.status == "accepted" and accepted.prediction and len(accepted.prediction["top"]) == 5
    assert refused.status == "refused"
    assert refused.line() == "huge.mkv: frame 10000x10000 is over the limit of 8192 px a side (EASTERN_MAX_FRAME_SIDE)"

    # the page shows both outcomes: a link to the new video with its prediction, the refusal's line
    assert any(f"video {accepted.video_id}" in (link.proto.label or "") for link in at.get("page_link"))
    errors = [e.value.replace("\\", "") for e in at.error]
    assert refused.line() in errors, errors
    assert f"upload_top_{clip_job.id}_0" in chart_keys(at)

    # stored complete: a row with features, flags and a browser copy (HEVC) and thumbnail; nothing of the huge
    after = _videos_by_sha()
    [new] = [v for sha, v in after.items() if sha not in before]
    assert new.id == accepted.video_id and new.original_name == "iphone.MOV" and new.features_version
    home = private_ws.home
    assert (home / new.path).is_file()
    assert (home / "proxies" / new.sha256[:2] / f"{new.sha256}.mp4").is_file()
    assert (home / "thumbs" / new.sha256[:2] / f"{new.sha256}.jpg").is_file()
    from app.services import triage

    assert new.id in triage.flags_of(ctx_now(), [new.id])
    assert not list((home / "uploads" / "staging").iterdir())  # both staged files removed
    assert not [p for p in (home / "tmp").rglob("*") if p.is_file()]


def _audit(action: str) -> list:
    from app.services import audit

    return audit.recent(ctx_now(), action=action)


def test_a_killed_worker_leaves_nothing_half_done(private_ws: Workspace, formats: Path) -> None:
    ctx = ctx_now()
    clip = make_format("vp9_webm", formats)
    files_before, videos_before = _files(private_ws.home), _videos_by_sha()
    job_id = ingest_job.submit_upload(ctx, filename=clip.name, data=clip.read_bytes(), venue=None, who="ann")
    # kill the worker (and its ffmpeg) while it extracts features: the copy, browser copy and thumbnail are made
    deadline = time.monotonic() + JOB_DEADLINE_S
    while "features" not in ((job := jobs.get_job(ctx, job_id)).message or "") and time.monotonic() < deadline:
        assert job.active, (job.status, job.error)
        time.sleep(0.05)
    assert job.pid and "features" in job.message, job.message
    os.killpg(job.pid, signal.SIGKILL)
    while jobs.worker_alive(job.pid):
        time.sleep(0.05)

    assert job_id in jobs.reap_dead_jobs(ctx)  # what `jobs`, `doctor --fix` and every submit do
    job = jobs.get_job(ctx, job_id)
    assert job.status == jobs.JobStatus.FAILED and "died" in (job.error or "")
    assert _videos_by_sha() == videos_before  # no row
    assert _files(private_ws.home) == files_before  # no copy, no browser copy, no features, no staged file
    from app.services import doctor

    assert not [p for p in doctor.diagnose(ctx, checksums=False).problems if p.check != "jobs"]

    # nothing blocks the same file: ingested in this process now, it is accepted (not "already stored")
    staged = ingest_job.stage_upload(ctx, filename=clip.name, data=clip.read_bytes())
    [outcome] = ingest_job.run_now(ctx, IngestRequest(path=str(staged), staged=True), who="ann")
    assert outcome.status == "accepted", outcome
    assert not staged.parent.exists()


def test_ingest_background_is_the_same_job_kind_as_an_account(private_ws: Workspace, formats: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("h264_mkv", "huge_mkv"):
        shutil.copy(make_format(name, formats), folder)
    (folder / "readme.txt").write_text("not a video\n")
    env = {**os.environ, **private_ws.env(), "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app", "ingest", str(folder), "--background", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=JOB_DEADLINE_S)

    refused = cli("--who", "viewer-nobody", "--password", "not-a-password")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert not jobs.list_jobs(ctx_now(), kind="ingest")
    done = cli("--wait", *AS_ADMIN)
    assert done.returncode == 1, done.stderr[-2000:]  # one file refused
    lines = done.stdout.splitlines()
    assert lines[0].startswith('{"job": ')
    assert any(line.startswith("clip.mkv: stored as video ") for line in lines), lines
    assert "ERROR huge.mkv: frame 10000x10000 is over the limit of 8192 px a side (EASTERN_MAX_FRAME_SIDE)" in lines
    assert "readme.txt: skipped, not a video file: it is a text file" in lines
    [job] = jobs.list_jobs(ctx_now(), kind="ingest")
    assert job.created_by == "admin" and job.status == jobs.JobStatus.DONE
    assert [e.target for e in _audit("ingest")] == [f"job {job.id}"]
