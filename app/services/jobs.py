"""The job room: every long piece of work (training, cross-validation) is a `JobRequest` that declares its kind,
the permission it needs and its runner; `submit` checks the account, audits once and starts the worker process
(`python -m app worker --job N`, a new session), `run_inline` does the same in the foreground, `list_jobs` reads
typed views (and never writes), and `run_worker` looks the runner up by the job's kind.

A worker owns its row, reports `Progress` into it and always leaves a final state; it beats its heart from a
thread every `job_heartbeat_s` whatever the work is doing, and stops when its home or database disappears. A
worker that dies without a word (killed, out of memory) shows as failed in `list_jobs` at once, and is written
down as failed by `reap_dead_jobs` (the `jobs` command, `doctor --fix` and every `submit` call it).
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from sqlalchemy.engine import make_url

from app.context import AppContext
from app.errors import UserError
from core import fileio
from db import maps, repo
from db.repo import JobRow, JobStatus
from db.session import session_scope

ACTIVE_STATES = repo.ACTIVE_STATES  # queued, running: what the pages follow live
FINISHED_OK = (JobStatus.DONE, JobStatus.CANCELLED)  # a worker that ends so exits 0

# Every kind of job, and the request class that declares it ("module:Class", imported when first needed, the way
# core/models/registry.py resolves builders). A new kind is a JobRequest subclass and one line here.
REQUESTS: dict[str, str] = {
    "train": "app.services.requests:TrainRequest",
    "crossval": "app.services.requests:CrossvalRequest",
    "embeddings": "app.services.requests:EmbeddingsRequest",
    "ingest": "app.services.requests:IngestRequest",
    "promote": "app.services.requests:PromoteRequest",
    "predict": "app.services.requests:PredictRequest",
}
MODEL_KINDS = ("train", "crossval")  # the jobs that make models or prediction sets (the Retrain page lists them)
JOB_KINDS = tuple(REQUESTS)


class JobError(UserError):
    """A job request that cannot run (bad parameters, unknown kind); the message says why."""


class JobCancelled(Exception):
    pass


@dataclass(frozen=True)
class Progress:
    """One progress report of a running job: the overall fraction done, a line for the page, and optionally the
    epoch reached, one point of its learning curve and a line for the job log. `step` marks the frequent
    within-epoch reports, written at most once per heartbeat."""

    fraction: float
    message: str
    epoch: int | None = None
    history_entry: dict[str, Any] | None = None
    log_line: str | None = None
    step: bool = False


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class JobOutcome:
    """What a runner returns: the model it registered, the prediction set it stored, or that it was cancelled."""

    cancelled: bool = False
    model_version_id: int | None = None
    set_id: int | None = None
    run_id: int | None = None  # an embedding run (app.services.embeddings)


@dataclass(frozen=True)
class Option:
    """One parameter of a request, as the CLI and the forms show it (read from the dataclass field)."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None
    advanced: bool


class JobRequest:
    """What a job is asked to do. Subclasses are frozen dataclasses that set `kind`, `permission` (an action of
    app.services.accounts.ACTIONS), `audit_action` (app.services.audit.ACTIONS) and `runner` ("module:function"
    called as runner(ctx, request, progress=, should_stop=, job_id=) -> JobOutcome). Each field's metadata may
    carry `help`, `choices` (a zero-argument callable) and `advanced`; the CLI flags (app.commands_base
    .add_request_args) and the Retrain form are generated from the fields."""

    kind: ClassVar[str]
    permission: ClassVar[str]
    audit_action: ClassVar[str]
    runner: ClassVar[str]
    modalities: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Self:
        """The request a job row stores (unknown keys ignored, modalities checked, then `check`)."""
        from app.services.requests import parse_modalities

        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}  # type: ignore[attr-defined]
        if "modalities" in known:
            value = known["modalities"]
            known["modalities"] = parse_modalities(value if isinstance(value, str) else ",".join(value))
        request = cls(**known)
        request.check()
        return request

    def needs(self) -> str:
        """The action (app.services.accounts.ACTIONS) this request needs: its class's `permission` unless a request
        asks for less (a cross-validation by the fast probe: an annotator's re-rank)."""
        return self.permission

    def check(self) -> None:
        """Refuse a request that cannot run (TrainingError); nothing to check by default."""

    def abandoned(self, ctx: AppContext, job_id: int) -> None:
        """Clean up what a worker that died under this job left (called once, by reap_dead_jobs); nothing by
        default: training and cross-validation resume from their files."""

    @classmethod
    def options(cls) -> list[Option]:
        """The request's parameters with their defaults, help and choices, in declaration order."""
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            kind = type(default) if default is not None else str
            choices = f.metadata.get("choices")
            out.append(Option(f.name, kind, default, f.metadata.get("help", ""),
                              tuple(choices()) if choices else None, bool(f.metadata.get("advanced"))))
        return out


def request_class(kind: str) -> type[JobRequest]:
    """The request class of a job kind."""
    if kind not in REQUESTS:
        raise JobError(f"unknown job kind {kind!r} (known: {', '.join(REQUESTS)})")
    return _resolve(REQUESTS[kind])


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


# ----------------------------------------------------------------- starting work


def _authorise(ctx: AppContext, request: JobRequest, who: str) -> str:
    """The account name if `who` may run this request (PermissionDenied otherwise)."""
    from app.services.accounts import require

    return require(ctx, name=who, action=request.needs()).name


def submit(ctx: AppContext, request: JobRequest, *, who: str, resume_set_id: int | None = None) -> int:
    """Check that account `who` may run `request`, queue it, start its worker process, audit it; the job id."""
    request.check()
    actor = _authorise(ctx, request, who)
    reap_dead_jobs(ctx)
    params = request.to_dict() | ({"resume_set_id": resume_set_id} if resume_set_id else {})
    with session_scope(ctx.engine) as session:
        job_id = repo.create_job(session, params=params, created_by=actor, kind=request.kind)
    _audit(ctx, request, actor, target=f"job {job_id}", via="background")
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


def run_inline(ctx: AppContext, request: JobRequest, *, who: str, progress: ProgressFn | None = None,
               should_stop: Callable[[], bool] | None = None, resume_set_id: int | None = None) -> JobOutcome:
    """The foreground path (the CLI without --background): the same permission check and audit row as `submit`,
    then the runner in this process."""
    request.check()
    actor = _authorise(ctx, request, who)
    _audit(ctx, request, actor, target="foreground", via="foreground")
    runner = _resolve(request.runner)
    return runner(ctx, request, progress=progress, should_stop=should_stop, job_id=None, resume_set_id=resume_set_id)


def _audit(ctx: AppContext, request: JobRequest, actor: str, *, target: str, via: str) -> None:
    from app.services import audit

    audit.record(ctx, actor=actor, action=request.audit_action, target=target,
                 detail={"via": via, "kind": request.kind, **request.to_dict()})


def cancel(ctx: AppContext, job_id: int, *, who: str) -> None:
    """Ask a job's worker to stop (it does after its current step); needs the permission that started it."""
    with session_scope(ctx.engine) as session:
        row = repo.get_job(session, job_id=job_id)
    if row is None:
        raise JobError(f"no job {job_id}")
    from app.services.accounts import require

    require(ctx, name=who, action=request_class(row.kind).permission)
    with session_scope(ctx.engine) as session:
        repo.request_cancel(session, job_id=job_id)


def settings_env(ctx: AppContext) -> dict[str, str]:
    """The caller's settings as EASTERN_* variables, so the worker runs with exactly these (not only
    the same home and database: the same heartbeat, frame encoder, thread count...). The admin
    password stays out: the worker does not need it."""
    return {f"EASTERN_{name.upper()}": str(value) for name, value in ctx.settings.model_dump().items()
            if value is not None and name not in ("admin_password", "password")}


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ----------------------------------------------------------------- reading jobs


@dataclass(frozen=True)
class JobView:
    """A job as the pages and the CLI show it. `status` is what is true now: a running job whose worker has died
    reads as failed (with the reason in `error`) before anyone has written that down."""

    id: int
    kind: str
    status: JobStatus
    request: JobRequest | None  # None when the stored parameters no longer parse
    progress: float
    epoch: int
    message: str
    history: list[Any]
    error: str | None
    cancel_requested: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    model_version_id: int | None
    pid: int | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": str(self.status), "progress": round(self.progress, 3),
                "message": self.message, "error": self.error, "model": self.model_version_id,
                "by": self.created_by, "request": self.request.to_dict() if self.request else None}


def list_jobs(ctx: AppContext, *, kind: str | tuple[str, ...] | None = None, limit: int = 20,
              created_by: str | None = None) -> list[JobView]:
    """The newest jobs (of one kind or kinds, started by one account), newest first, as they are now. Reads only."""
    kinds = (kind,) if isinstance(kind, str) else kind
    with session_scope(ctx.engine) as session:
        rows = repo.list_jobs(session, limit=limit if kinds is None and created_by is None else max(limit * 5, 50))
    views = [_view(ctx, row) for row in rows
             if (kinds is None or row.kind in kinds) and (created_by is None or row.created_by == created_by)]
    return views[:limit]


def get_job(ctx: AppContext, job_id: int) -> JobView | None:
    with session_scope(ctx.engine) as session:
        row = repo.get_job(session, job_id=job_id)
    return _view(ctx, row) if row else None


def _view(ctx: AppContext, row: JobRow) -> JobView:
    death = _death(ctx, row, datetime.now(UTC))
    try:
        request = request_class(row.kind).from_dict(row.params)
    except Exception:  # noqa: BLE001 - old or invalid parameters: shown as such, the job row keeps them
        request = None
    return JobView(
        id=row.id, kind=row.kind, status=JobStatus.FAILED if death else JobStatus(row.status), request=request,
        progress=row.progress, epoch=row.epoch, message=row.message, history=list(row.history or []),
        error=death or row.error, cancel_requested=row.cancel_requested, created_by=row.created_by,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        model_version_id=row.model_version_id, pid=row.pid,
    )


def _death(ctx: AppContext, job: JobRow, now: datetime) -> str | None:
    """Why an active job's worker is gone (dead, silent too long, never started), or None."""
    if job.status not in ACTIVE_STATES:
        return None
    beat = job.heartbeat_at or job.created_at
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    silent = (now - beat).total_seconds()
    stale = ctx.settings.job_stale_s
    if job.status == JobStatus.RUNNING and not worker_alive(job.pid):
        return f"worker process {job.pid} died without finishing (killed?)"
    if job.status == JobStatus.RUNNING and silent > stale:
        return f"worker process {job.pid} silent for {silent:.0f} s (no heartbeat within {stale:g} s)"
    if job.status == JobStatus.QUEUED and silent > stale:
        return f"worker never started (queued {silent:.0f} s)"
    return None


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
    """Write down as failed the active jobs whose worker is gone (or silent longer than job_stale_s); their ids."""
    reaped = []
    now = datetime.now(UTC)
    with session_scope(ctx.engine) as session:
        for job in repo.running_jobs(session):
            error = _death(ctx, job, now)
            if error:
                repo.finish_job(session, job_id=job.id, status=JobStatus.FAILED, error=error)
                repo.abandon_prediction_sets(session, job_id=job.id, message=f"{error}; resumable")
                maps.abandon_runs(session, job_id=job.id, message=f"{error}; resumable")
                reaped.append(job.id)
    for job_id in reaped:
        view = get_job(ctx, job_id)
        if view is not None and view.request is not None:
            view.request.abandoned(ctx, job_id)
    return reaped


# ----------------------------------------------------------------- the worker process


def run_worker(ctx: AppContext, job_id: int) -> JobStatus | str:
    """Body of the worker process: claim the job, run its kind's runner, set the final state in `finally`."""
    with session_scope(ctx.engine) as session:
        if not repo.claim_job(session, job_id=job_id, pid=os.getpid()):
            return "not-queued"
        job = repo.get_job(session, job_id=job_id)
    assert job is not None
    status, error, model_id = JobStatus.FAILED, "worker ended unexpectedly", None
    state = {"last_write": 0.0, "cancel": False}

    def _on_term(signum: int, _frame: Any) -> None:
        raise JobCancelled(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _on_term)

    def progress(report: Progress) -> None:
        now = time.monotonic()
        if report.step and now - state["last_write"] < ctx.settings.job_heartbeat_s:
            return
        state["last_write"] = now
        with session_scope(ctx.engine) as session:
            state["cancel"] = repo.update_job(
                session, job_id=job_id, progress=min(report.fraction, 0.99), epoch=report.epoch,
                message=report.message, history_entry=report.history_entry, log_line=report.log_line,
            )

    # the job writes under its home only while the home is there: a checkpoint must not recreate a deleted home
    fileio.confine_writes(ctx.settings.home)
    stop_beating = threading.Event()
    heart = threading.Thread(target=_beat, args=(ctx, job_id, state, stop_beating), name=f"job-{job_id}-heartbeat",
                             daemon=True)
    heart.start()
    try:
        # inside the try: a job whose parameters are invalid fails with the reason in its row
        cls = request_class(job.kind)
        request = cls.from_dict(job.params)
        outcome: JobOutcome = _resolve(cls.runner)(
            ctx, request, progress=progress, should_stop=lambda: state["cancel"], job_id=job_id,
            resume_set_id=job.params.get("resume_set_id"))
        status, error, model_id = ((JobStatus.CANCELLED, None, None) if outcome.cancelled
                                   else (JobStatus.DONE, None, outcome.model_version_id))
    except JobCancelled as exc:
        status, error = JobStatus.CANCELLED, str(exc)
    except Exception as exc:  # the job row must say why; the traceback goes to the job log
        status, error = JobStatus.FAILED, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        stop_beating.set()
        heart.join()
        fileio.confine_writes(None)
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
