"""Background training jobs: each runs in its own process (`python -m app worker --job N`),
owns its row, reports progress into it and always leaves a final state.

The UI only starts a job and reads its row; a worker that dies without a word (killed, out of
memory) is found by `reap_dead_jobs` from its pid and heartbeat and marked failed. The worker beats
its heart from a thread every `job_heartbeat_s`, whatever training is doing (loading data, a long
validation, recomputing predictions), so a heartbeat older than `job_stale_s` means a frozen or
vanished worker.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from app.context import AppContext
from app.services.training import TrainRequest, train_and_register
from db import repo
from db.repo import JobStatus
from db.session import session_scope

ACTIVE_STATES = repo.ACTIVE_STATES  # queued, running: what the pages follow live


class JobCancelled(Exception):
    pass


JOB_KINDS = ("train", "crossval")


def start_job(ctx: AppContext, request: TrainRequest, *, who: str = "") -> int:
    """Queue a training job and start its worker process in a new session."""
    return _start(ctx, "train", request.to_dict(), who=who)


def start_crossval_job(ctx: AppContext, request: Any, *, who: str = "", resume_set_id: int | None = None) -> int:
    """Queue a cross-validation (app.services.crossval.CrossvalRequest) as a background job, like training."""
    request.check()
    params = request.to_dict() | ({"resume_set_id": resume_set_id} if resume_set_id else {})
    return _start(ctx, "crossval", params, who=who)


def _start(ctx: AppContext, kind: str, params: dict[str, Any], *, who: str) -> int:
    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params=params, created_by=who, kind=kind)
    ctx.settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    log_path = ctx.settings.jobs_dir / f"job-{job_id}.log"
    own = {f"EASTERN_{name.upper()}" for name in type(ctx.settings).model_fields}
    env = {**{k: v for k, v in os.environ.items() if k not in own}, **settings_env(ctx)}
    try:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app", "worker", "--job", str(job_id)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True, cwd=str(_repo_root()),
            )
    except OSError as exc:  # no worker will ever claim the row: say why now
        with session_scope(ctx.engine) as session:
            repo.finish_job(session, job_id=job_id, status=JobStatus.FAILED, error=f"cannot start the worker: {exc}")
        raise
    with session_scope(ctx.engine) as session:
        repo.update_job(session, job_id=job_id, message=f"worker started (pid {proc.pid})")
    return job_id


def settings_env(ctx: AppContext) -> dict[str, str]:
    """The caller's settings as EASTERN_* variables, so the worker runs with exactly these (not only
    the same home and database: the same heartbeat, frame encoder, thread count...). The admin
    password stays out: the worker does not need it."""
    return {f"EASTERN_{name.upper()}": str(value) for name, value in ctx.settings.model_dump().items()
            if value is not None and name != "admin_password"}


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_worker(ctx: AppContext, job_id: int) -> JobStatus | str:
    """Body of the worker process: claim the job, train, set the final state in `finally`."""
    with session_scope(ctx.engine) as session:
        if not repo.claim_job(session, job_id=job_id, pid=os.getpid()):
            return "not-queued"
        job = repo.get_job(session, job_id=job_id)
    assert job is not None
    status, error, model_id = JobStatus.FAILED, "worker ended unexpectedly", None
    state = {"last_write": 0.0, "cancel": False, "epochs": 1}

    def _on_term(signum: int, _frame: Any) -> None:
        raise JobCancelled(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _on_term)

    def progress(event: dict[str, Any]) -> None:
        now = time.monotonic()
        kind = event.get("kind")
        if kind == "step" and now - state["last_write"] < ctx.settings.job_heartbeat_s:
            return
        state["last_write"] = now
        epochs = state["epochs"]
        if "fraction" in event:  # a cross-validation: its own overall fraction and message
            frac, msg = float(event["fraction"]), str(event.get("message", ""))
            entry = None  # fold curves restart at epoch 1: the message and the log tell the story
            line = msg if kind in ("epoch", "done") else None
        elif kind == "epoch":
            frac = event["epoch"] / epochs
            val = event.get("val_macro_f1")  # None when the labels leave no validation videos
            msg = (f"epoch {event['epoch']}/{epochs}: loss {event['train_loss']:.3f}, "
                   + ("no validation videos" if val is None else f"validation Macro-F {val:.3f}"))
            entry, line = event, msg
        else:
            frac = (event["epoch"] - 1 + event["step"] / max(event["steps_per_epoch"], 1)) / epochs
            msg = (f"epoch {event['epoch']}/{epochs}, step {event['step']}/{event['steps_per_epoch']}, "
                   f"loss {event['loss']:.3f}")
            entry, line = None, None
        with session_scope(ctx.engine) as session:
            state["cancel"] = repo.update_job(
                session, job_id=job_id, progress=min(frac, 0.99), epoch=event.get("epoch"), message=msg,
                history_entry=entry, log_line=line,
            )

    stop_beating = threading.Event()
    heart = threading.Thread(target=_beat, args=(ctx, job_id, state, stop_beating), name=f"job-{job_id}-heartbeat",
                             daemon=True)
    heart.start()
    try:
        # inside the try: a job whose parameters are invalid fails with the reason in its row
        if job.kind == "crossval":
            from app.services.crossval import CrossvalRequest, run_crossval

            request = CrossvalRequest.from_dict(job.params)
            set_id = run_crossval(ctx, request, progress=progress, should_stop=lambda: state["cancel"], job_id=job_id,
                                  resume_set_id=job.params.get("resume_set_id"))
            status, error = (JobStatus.CANCELLED, None) if set_id is None else (JobStatus.DONE, None)
        else:
            request = TrainRequest.from_dict(job.params)
            state["epochs"] = max(int(request.epochs), 1)
            model_id = train_and_register(ctx, request, progress=progress, should_stop=lambda: state["cancel"])
            status, error = (JobStatus.CANCELLED, None) if model_id is None else (JobStatus.DONE, None)
    except JobCancelled as exc:
        status, error = JobStatus.CANCELLED, str(exc)
    except Exception as exc:  # the job row must say why; the traceback goes to the job log
        status, error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        stop_beating.set()
        heart.join()
        with session_scope(ctx.engine) as session:
            repo.finish_job(session, job_id=job_id, status=status, error=error, model_version_id=model_id)
    return status


HOME_GONE_EXIT = 75  # the worker's exit status when its home or database vanished under it
DB_FAILURES_BEFORE_GIVING_UP = 20  # heartbeats in a row that cannot reach the database: it is gone


def home_gone(ctx: AppContext) -> str | None:
    """Why the job's world is gone (its home folder, or its SQLite file, removed), or None while it is there."""
    home = ctx.settings.home
    if not home.is_dir():
        return f"its home {home} was removed"
    url = make_url(ctx.settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            return f"its database {url.database} was removed"
    return None


def _beat(ctx: AppContext, job_id: int, state: dict[str, Any], stop: threading.Event) -> None:
    """Beat the job's heart until stopped, and pick up a cancel request even between progress events. A worker
    whose home or database disappears stops at once (nothing left to write to; SQLite would even make a new,
    empty database file): it says why on stderr, marks its job failed where the database still answers, and
    exits with HOME_GONE_EXIT."""
    failures = 0
    while not stop.wait(ctx.settings.job_heartbeat_s):
        gone = home_gone(ctx)
        if gone is None and failures >= DB_FAILURES_BEFORE_GIVING_UP:
            gone = f"its database stopped answering ({failures} heartbeats in a row failed)"
        if gone is not None:
            _abandon(ctx, job_id, gone)
        try:
            with session_scope(ctx.engine) as session:
                if repo.update_job(session, job_id=job_id):
                    state["cancel"] = True
            failures = 0
        except Exception as exc:  # a busy database now and then: say so in the job log, beat again later
            failures += 1
            print(f"heartbeat of job {job_id} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def _abandon(ctx: AppContext, job_id: int, why: str) -> None:
    """End this worker process now because its world is gone (called from the heartbeat thread)."""
    print(f"job {job_id} stops: {why}", file=sys.stderr, flush=True)
    if not why.startswith("its database"):  # the database may still answer (PostgreSQL, or SQLite elsewhere)
        try:
            with session_scope(ctx.engine) as session:
                repo.finish_job(session, job_id=job_id, status=JobStatus.FAILED, error=f"stopped: {why}")
        except Exception as exc:  # noqa: BLE001 - nothing more to do: we are leaving
            print(f"could not mark job {job_id} failed: {exc}", file=sys.stderr, flush=True)
    os._exit(HOME_GONE_EXIT)


def request_cancel(ctx: AppContext, job_id: int) -> None:
    with session_scope(ctx.engine) as session:
        repo.request_cancel(session, job_id=job_id)


def worker_alive(pid: int | None) -> bool:
    """Whether a worker process still runs (a zombie counts as dead)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as dead.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def reap_dead_jobs(ctx: AppContext) -> list[int]:
    """Mark running jobs whose worker is gone (or silent longer than job_stale_s) as failed; returns their ids."""
    reaped = []
    now = datetime.now(UTC)
    stale = ctx.settings.job_stale_s
    with session_scope(ctx.engine) as session:
        for job in repo.running_jobs(session):
            beat = job.heartbeat_at or job.created_at
            if beat.tzinfo is None:
                beat = beat.replace(tzinfo=UTC)
            silent = (now - beat).total_seconds()
            error = None
            if job.status == JobStatus.RUNNING and not worker_alive(job.pid):
                error = f"worker process {job.pid} died without finishing (killed?)"
            elif job.status == JobStatus.RUNNING and silent > stale:
                error = f"worker process {job.pid} silent for {silent:.0f} s (no heartbeat within {stale:g} s)"
            elif job.status == JobStatus.QUEUED and silent > stale:
                error = f"worker never started (queued {silent:.0f} s)"
            if error:
                repo.finish_job(session, job_id=job.id, status=JobStatus.FAILED, error=error)
                repo.abandon_prediction_sets(session, job_id=job.id, message=f"{error}; resumable")
                reaped.append(job.id)
    return reaped
