"""Background training jobs: real worker processes (`python -m app worker --job N`) on a copy of the
small workspace. A job finishes and registers a model; a cancelled or killed one leaves the active
model and its predictions as they were; a job with bad parameters fails with the reason in its row.

Races are taken out by freezing the worker (SIGSTOP) before looking at its row: a frozen worker
writes nothing, so what the row says then is what the worker had done.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.services.training import TrainRequest
from tests.fixtures import Workspace

TIMEOUT_S = 240.0  # a worker imports torch and the app first: seconds, more on a busy machine
# Early stopping (patience 5) cannot end a training before its 6th epoch, so a job of 1000 epochs
# runs at least 6, and a cancel read by the end of epoch 4 always wins.
LONG = {"epochs": 1000, "seed": 2}
EARLIEST_EARLY_STOP = 6


@pytest.fixture()
def ctx(private_ws: Workspace):
    """A private copy of the workspace, with a fast heartbeat (forwarded to the workers)."""
    from app.context import make_context
    from app.settings import Settings

    settings = Settings(home=private_ws.home, db_url=private_ws.db_url, job_heartbeat_s=0.2, job_stale_s=60)
    return make_context(settings)


def job(ctx, job_id: int):  # noqa: ANN201 - db.repo.JobRow
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        return repo.get_job(session, job_id=job_id)


def wait_for(what: str, check: Callable[[], object], timeout: float = TIMEOUT_S, every: float = 0.01) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_final(ctx, job_id: int):  # noqa: ANN201
    return wait_for(f"job {job_id} to end",
                    lambda: (row := job(ctx, job_id)).status in {"done", "failed", "cancelled"} and row,
                    every=0.2)


def active_and_versions(ctx) -> tuple[int | None, list[int]]:
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        active = repo.active_model(session)
        return (active.id if active else None), sorted(m.id for m in repo.list_model_versions(session))


def predictions_of(ctx, model_id: int) -> list[tuple]:
    with sqlite3.connect(db_path(ctx)) as conn:
        return conn.execute(
            "select video_id, venue_id, confidence, label_probability, entropy, topk from predictions "
            "where model_version_id = ? order by video_id", (model_id,)).fetchall()


def db_path(ctx) -> str:
    return ctx.settings.db_url.split("///", 1)[1]


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().split(") ", 1)[1][0] in "tT"


def database_writable(ctx) -> bool:
    """No other connection holds SQLite's write lock right now."""
    conn = sqlite3.connect(db_path(ctx), timeout=0.2, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def freeze_when_trained(ctx, job_id: int) -> tuple[int, object]:
    """Wait until the worker has reported a finished epoch, then SIGSTOP it at a moment it holds no
    database lock (the test writes to the database while it is frozen): (pid, its row as frozen)."""
    row = wait_for(f"job {job_id} to finish an epoch", lambda: (r := job(ctx, job_id)).history and r)
    for _ in range(100):
        os.kill(row.pid, signal.SIGSTOP)
        wait_for("the worker to stop", lambda: stopped(row.pid), timeout=10, every=0.001)
        if database_writable(ctx):
            return row.pid, job(ctx, job_id)
        os.kill(row.pid, signal.SIGCONT)  # frozen in the middle of a commit: let it finish
        time.sleep(0.002)
    raise AssertionError("could not stop the worker outside a database write")


def worker_gone(pid: int) -> bool:
    from app.services.jobs import worker_alive

    return not worker_alive(pid)


def test_a_tiny_job_runs_to_done_registers_and_activates_a_model(ctx, private_ws: Workspace):
    from app.services.jobs import submit
    from db import repo
    from db.session import session_scope

    before_active, before_versions = active_and_versions(ctx)
    job_id = submit(ctx, TrainRequest(epochs=2, seed=1, name="job tiny", activate=True), who="admin")
    row = wait_final(ctx, job_id)
    log = (ctx.settings.jobs_dir / f"job-{job_id}.log").read_text(encoding="utf-8")
    assert row.status == "done", (row.error, log[-2000:])
    assert row.error is None and row.progress == 1.0 and row.created_by == "admin"
    assert [e["epoch"] for e in row.history] == [1, 2] and row.epoch == 2
    assert row.pid and row.started_at and row.finished_at and row.heartbeat_at
    assert f"job {job_id}: done" in log
    with session_scope(ctx.engine) as session:
        model = repo.get_model_version(session, model_id=row.model_version_id)
        n_videos = repo.count_videos(session)
    assert model is not None and model.name == "job tiny"
    from sklearn.metrics import f1_score

    m = model.metrics  # the stored score is the one its stored test predictions give, on the stable test split
    assert m["n_test"] == len(m["test_video_ids"]) > 0 and model.config["split"]["kind"] == "stable"
    assert m["test"]["micro_f1"] == pytest.approx(f1_score(m["test_labels"], m["test_predicted"], average="micro"))
    active, versions = active_and_versions(ctx)
    assert versions == [*before_versions, model.id]
    assert active == model.id != before_active
    assert len(predictions_of(ctx, model.id)) == n_videos  # promoted: a prediction for every video
    wait_for("the worker to exit", lambda: worker_gone(row.pid), timeout=30)


def test_the_worker_runs_with_the_callers_settings(ctx):
    from app.services.jobs import settings_env

    env = settings_env(ctx)
    assert env["EASTERN_HOME"] == str(ctx.settings.home) and env["EASTERN_DB_URL"] == ctx.settings.db_url
    assert env["EASTERN_JOB_HEARTBEAT_S"] == "0.2"
    assert "EASTERN_ADMIN_PASSWORD" not in env and "EASTERN_WORD_VECTORS" not in env


def test_cancel_stops_a_running_job_and_activates_nothing(ctx):
    from app.services.jobs import cancel, submit

    before_active, before_versions = active_and_versions(ctx)
    before_predictions = predictions_of(ctx, before_active)
    job_id = submit(ctx, TrainRequest(**LONG, activate=True), who="admin")
    pid, frozen = freeze_when_trained(ctx, job_id)
    try:
        assert frozen.status == "running"
        # the worker is at most in epoch len(history) + 1; the write at that epoch's end (or a heartbeat
        # before it) reads the request, so the next epoch stops: long before early stopping could end it
        assert len(frozen.history) + 2 < EARLIEST_EARLY_STOP, "the worker ran ahead of the test: rerun"
        cancel(ctx, job_id, who="admin")
    finally:
        os.kill(pid, signal.SIGCONT)
    row = wait_final(ctx, job_id)
    assert row.status == "cancelled" and row.model_version_id is None
    assert len(row.history) < EARLIEST_EARLY_STOP
    assert active_and_versions(ctx) == (before_active, before_versions)
    assert predictions_of(ctx, before_active) == before_predictions


def test_a_worker_killed_halfway_is_marked_failed_and_changes_nothing(ctx):
    from app.services.jobs import reap_dead_jobs, submit

    before_active, before_versions = active_and_versions(ctx)
    before_predictions = predictions_of(ctx, before_active)
    assert before_predictions
    job_id = submit(ctx, TrainRequest(**LONG, activate=True), who="admin")
    pid, frozen = freeze_when_trained(ctx, job_id)
    assert frozen.status == "running" and frozen.model_version_id is None, "the worker ran ahead of the test"
    assert reap_dead_jobs(ctx) == []  # alive (stopped, but alive) and beating until a moment ago
    os.kill(pid, signal.SIGKILL)
    wait_for("the killed worker to die", lambda: worker_gone(pid), timeout=30)

    assert reap_dead_jobs(ctx) == [job_id]
    row = job(ctx, job_id)
    assert row.status == "failed" and row.finished_at is not None
    assert f"worker process {pid} died without finishing" in row.error
    assert row.model_version_id is None
    assert active_and_versions(ctx) == (before_active, before_versions)
    assert predictions_of(ctx, before_active) == before_predictions
    assert reap_dead_jobs(ctx) == []  # reaped once


def test_a_silent_worker_and_a_worker_that_never_started_are_reaped(private_ws: Workspace):
    from app.context import make_context
    from app.services.jobs import reap_dead_jobs
    from app.settings import Settings
    from db import repo
    from db.session import session_scope

    ctx = make_context(Settings(home=private_ws.home, db_url=private_ws.db_url, job_stale_s=0.5))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with session_scope(ctx.engine) as session:
            silent = repo.create_job(session, params=TrainRequest().to_dict())
            never = repo.create_job(session, params=TrainRequest().to_dict())
        with session_scope(ctx.engine) as session:
            assert repo.claim_job(session, job_id=silent, pid=sleeper.pid)  # alive, but never beats
        assert reap_dead_jobs(ctx) == []
        time.sleep(1.0)
        assert sorted(reap_dead_jobs(ctx)) == [silent, never]
        assert "no heartbeat within 0.5 s" in job(ctx, silent).error
        assert "worker never started" in job(ctx, never).error
        assert {job(ctx, j).status for j in (silent, never)} == {"failed"}
    finally:
        sleeper.kill()
        sleeper.wait()


INVALID = [
    ({"architecture": "transformer"}, "TrainingError: unknown architecture 'transformer'"),
    ({"modalities": ("visual", "smell")}, "TrainingError: unknown modality 'smell'"),
    ({"epochs": 0}, "epochs and batch_size must be >= 1"),
]


def test_jobs_with_invalid_parameters_fail_with_their_reason_and_a_queued_job_can_be_cancelled(ctx):
    from app.services.jobs import cancel, submit

    before = active_and_versions(ctx)
    # all at once: each worker spends seconds importing torch
    invalid = [(submit(ctx, TrainRequest(**args, activate=True), who="admin"), reason) for args, reason in INVALID]
    queued = submit(ctx, TrainRequest(**LONG, activate=True), who="admin")
    cancel(ctx, queued, who="admin")  # its worker is still importing torch: it stops at its first step
    for job_id, reason in invalid:
        row = wait_final(ctx, job_id)
        assert row.status == "failed" and reason in row.error, row.error
        log = (ctx.settings.jobs_dir / f"job-{job_id}.log").read_text(encoding="utf-8")
        assert "Traceback" in log  # the traceback goes to the job's log, the reason to its row
    row = wait_final(ctx, queued)
    assert row.status == "cancelled" and row.model_version_id is None and row.error is None
    assert active_and_versions(ctx) == before


def test_a_worker_does_not_run_a_job_twice(ctx):
    from app.services.jobs import run_worker
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params={"epochs": 1})
        repo.finish_job(session, job_id=job_id, status="cancelled")
    assert run_worker(ctx, job_id) == "not-queued"
    assert job(ctx, job_id).status == "cancelled"


def test_jobs_command_lists_jobs_as_json(ctx, private_ws: Workspace):
    from db import repo
    from db.session import session_scope

    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params={"epochs": 1}, created_by="cli")
    env = {**os.environ, **private_ws.env(), "EASTERN_USER": private_ws.admin,
           "EASTERN_PASSWORD": private_ws.admin_password}
    out = subprocess.run([sys.executable, "-m", "app", "jobs", "--cancel", str(job_id)], env=env,
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["id"] == job_id and rows[0]["status"] == "queued"
    assert job(ctx, job_id).cancel_requested


def test_a_worker_whose_home_is_deleted_stops(ctx):
    """`rm -rf` of a home under a running job: the worker notices at its next heartbeat and exits (it used to
    keep a core busy for minutes and write into a fresh, empty database file)."""
    import shutil

    from app.services.jobs import submit

    job_id = submit(ctx, TrainRequest(**LONG, activate=True), who="admin")
    row = wait_for(f"job {job_id} to run", lambda: (r := job(ctx, job_id)).status == "running" and r.pid and r)
    pid = row.pid
    # `rm -rf` races with the worker's own writes (a checkpoint appearing in a folder being emptied): repeat it
    # as a person would until the home is gone
    wait_for("the home to be deleted", lambda: shutil.rmtree(ctx.settings.home, ignore_errors=True)
             or not ctx.settings.home.exists(), timeout=10, every=0.05)
    wait_for("the worker to stop", lambda: worker_gone(pid), timeout=60, every=0.1)
    assert not ctx.settings.home.exists(), "the worker recreated its home"
