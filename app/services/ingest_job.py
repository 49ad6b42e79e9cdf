"""The ingest job (kind "ingest", app.services.requests.IngestRequest): the Upload page stages the uploaded bytes
in the home and submits it; `ingest PATH --background` submits a file, folder, manifest or export. A worker process
ingests each file all or nothing, reporting its stage (probe, copy, browser copy and thumbnail, features,
prediction) and, per file, one outcome (accepted, already stored, refused with the reason, skipped).

Everything a file needs is made in the job's work folder (EASTERN_HOME/tmp/ingest-job-N): the copy, the browser
copy and thumbnail, the features and the triage flags. Only then are the files renamed into place (one file
system) and the video row, its label, its feature version and its flags written in one transaction. A refused or
failed file, and a killed worker, leave no row and no file among the media: the work folder and the staged upload
are removed when the job ends, or by `jobs.reap_dead_jobs` (IngestRequest.abandoned) when its worker died.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.services import jobs
from app.services.ingest import (
    IngestError,
    IngestItem,
    NotAVideo,
    admit,
    clean_caption,
    collect,
    notes_for,
    safe_name,
    sha256_of,
    stored_suffix,
)
from app.services.jobs import JobOutcome, JobView, Progress
from app.services.requests import IngestRequest
from core.fileio import atomic_path, make_dirs
from core.media import MediaError
from db import repo
from db.session import session_scope

STAGES = ("probe", "copy", "browser copy and thumbnail", "features", "prediction")
STATUSES = ("accepted", "duplicate", "refused", "skipped")


class UploadRefused(IngestError):
    """An upload refused before it is staged (too large, a bad name)."""


@dataclass(frozen=True)
class FileOutcome:
    """What an ingest job did with one file: `status` in STATUSES, the one-line reason of a refusal, the video
    (new, or the stored copy of a duplicate), remarks, and the active model's prediction (predict_features)."""

    file: str
    status: str
    reason: str | None = None
    video_id: int | None = None
    notes: tuple[str, ...] = ()
    prediction: dict[str, Any] | None = None
    prediction_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"notes": list(self.notes)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FileOutcome:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known | {"notes": tuple(raw.get("notes") or ())})

    def line(self) -> str:
        """One line for the CLI and the job log."""
        if self.status == "accepted":
            return f"{self.file}: stored as video {self.video_id}"
        if self.status == "duplicate":
            return f"{self.file}: already ingested as video {self.video_id}"
        return f"{self.file}: {'skipped, ' if self.status == 'skipped' else ''}{self.reason}"


def outcomes(job: JobView) -> list[FileOutcome]:
    """The per-file outcomes an ingest job has reported so far (its history entries)."""
    return [FileOutcome.from_json(e) for e in job.history if isinstance(e, dict) and e.get("status") in STATUSES]


# ---------------------------------------------------------------- staging and submitting (the page run)


def staging_dir(ctx: AppContext) -> Path:
    return ctx.settings.home / "uploads" / "staging"


def stage_upload(ctx: AppContext, *, filename: str, data: bytes) -> Path:
    """Save uploaded bytes, nothing decoded, as staging/upload-XXXX/<name> (owner-only); UploadRefused when the
    file is over the upload limit or its name is unsafe."""
    limit = ctx.settings.upload_max_mb
    if len(data) > limit * 1024 * 1024:
        raise UploadRefused(filename[:60], f"{len(data) / 2**20:.1f} MB is over the upload limit of {limit} MB")
    try:
        name = safe_name(Path(filename).name)
    except IngestError as exc:
        raise UploadRefused(exc.name, exc.reason) from None
    root = staging_dir(ctx)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root, prefix="upload-"))
    try:
        with atomic_path(folder / name, prefix=".part-", suffix="") as tmp:
            tmp.write_bytes(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder / name


def submit_upload(ctx: AppContext, *, filename: str, data: bytes, caption: str = "", venue: str | None = None,
                  who: str) -> int:
    """The Upload page's action: check that `who` may upload, stage the bytes, submit an ingest job that stores,
    extracts and predicts them; the job id. Nothing is decoded here."""
    from app.services.accounts import require

    require(ctx, name=who or None, action="upload")  # before anything is written
    staged = stage_upload(ctx, filename=filename, data=data)
    request = IngestRequest(path=str(staged), caption=clean_caption(caption), venue=venue or "", features=True,
                            predict=True, staged=True)
    try:
        return jobs.submit(ctx, request, who=who)
    except BaseException:
        shutil.rmtree(staged.parent, ignore_errors=True)
        raise


def submit_path(ctx: AppContext, path: Path, *, who: str, features: bool = True, new_venues: bool = False) -> int:
    """`ingest PATH --background`: an ingest job for a file, folder, manifest or export, as account `who`."""
    if not path.exists():
        raise IngestError(str(path), "no such file or folder")
    request = IngestRequest(path=str(path.resolve()), features=features, new_venues=new_venues)
    return jobs.submit(ctx, request, who=who)


def run_now(ctx: AppContext, request: IngestRequest, *, who: str,
            progress: Callable[[Progress], None] | None = None) -> list[FileOutcome]:
    """The same ingest in this process (jobs.run_inline: the same permission check and audit); the outcomes."""
    found: list[FileOutcome] = []

    def report(p: Progress) -> None:
        if p.history_entry is not None:
            found.append(FileOutcome.from_json(p.history_entry))
        if progress:
            progress(p)

    jobs.run_inline(ctx, request, who=who, progress=report)
    return found


def recent_uploads(ctx: AppContext, *, who: str, limit: int = 5) -> list[JobView]:
    """The newest ingest jobs an account started, newest first (reads only)."""
    return jobs.list_jobs(ctx, kind=IngestRequest.kind, created_by=who, limit=limit)


# ---------------------------------------------------------------- the worker


def work_dir(ctx: AppContext, job_id: int | None) -> Path:
    return ctx.settings.home / "tmp" / (f"ingest-job-{job_id}" if job_id else f"ingest-pid-{os.getpid()}")


def _staged_folder(ctx: AppContext, request: IngestRequest) -> Path | None:
    """The staging folder of a staged upload, None when the path is not one (refused as such by the runner)."""
    path = Path(request.path).resolve()
    return path.parent if request.staged and path.parent.parent == staging_dir(ctx).resolve() else None


def clean_after(ctx: AppContext, request: IngestRequest, job_id: int | None) -> None:
    """Remove the job's work folder and its staged upload (the job ended, or its worker died)."""
    shutil.rmtree(work_dir(ctx, job_id), ignore_errors=True)
    folder = _staged_folder(ctx, request)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _actor(ctx: AppContext, job_id: int | None) -> str:
    """Who labels come from: the account that submitted the job (checked by jobs.submit)."""
    job = jobs.get_job(ctx, job_id) if job_id else None
    return job.created_by if job and job.created_by else "ingest"


def _items(ctx: AppContext, request: IngestRequest) -> list[IngestItem | IngestError]:
    path = Path(request.path)
    if request.staged:
        if _staged_folder(ctx, request) is None:
            return [IngestError(path.name, "a staged upload must lie in EASTERN_HOME/uploads/staging")]
        items: list[IngestItem | IngestError] = [IngestItem(path.resolve(), path.name)]
    else:
        try:
            items = collect(path)
        except IngestError as exc:
            return [exc]
    if len(items) == 1 and isinstance(items[0], IngestItem):  # the request's caption and label are one file's
        items[0].caption = request.caption or items[0].caption
        items[0].venue = request.venue or items[0].venue
    return items


def run_ingest_job(ctx: AppContext, request: IngestRequest, *, progress: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                   resume_set_id: int | None = None) -> JobOutcome:
    """The runner of an ingest job: each file all or nothing, one outcome each (a history entry of the job)."""
    report = progress or (lambda _p: None)
    who = _actor(ctx, job_id)
    work = work_dir(ctx, job_id)
    try:
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        items = _items(ctx, request)
        if request.new_venues:
            from app.services.venues import create_named

            for note in create_named(ctx, [i for i in items if isinstance(i, IngestItem)], who=who):
                report(Progress(0.0, note, log_line=note))
        added: list[int] = []
        for index, item in enumerate(items):
            if should_stop and should_stop():
                return JobOutcome(cancelled=True)

            def stage(k: int, index: int = index, item: IngestItem | IngestError = item) -> None:
                name = item.name
                report(Progress((index + k / len(STAGES)) / len(items),
                                f"{name}: {STAGES[k]} (file {index + 1} of {len(items)})"))

            outcome = _one(ctx, item, request, who=who, work=work, stage=stage)
            if outcome.status == "accepted" and outcome.video_id is not None:
                added.append(outcome.video_id)
            report(Progress((index + 1) / len(items), outcome.line(), history_entry=outcome.to_json(),
                            log_line=outcome.line()))
        if added:
            _after(ctx, request)
        return JobOutcome()
    finally:
        clean_after(ctx, request, job_id)


def _one(ctx: AppContext, item: IngestItem | IngestError, request: IngestRequest, *, who: str, work: Path,
         stage: Callable[[int], None]) -> FileOutcome:
    """Ingest one file all or nothing; its outcome. Known problems become a refusal with their line."""
    if isinstance(item, IngestError):
        return FileOutcome(item.name, "refused", item.reason)
    name = item.name
    try:
        return _store(ctx, item, request, who=who, work=work, stage=stage)
    except repo.UnknownVenue as exc:
        return FileOutcome(name, "refused", f"unknown venue category {exc.name!r} (create it with `python -m app "
                                            "venues add NAME`, or ingest with --new-venues)")
    except NotAVideo as exc:
        return FileOutcome(name, "skipped" if item.optional else "refused", exc.reason)
    except IngestError as exc:
        return FileOutcome(name, "refused", exc.reason)
    except MediaError as exc:
        return FileOutcome(name, "refused", exc.reason)
    except OSError as exc:
        return FileOutcome(name, "refused", f"cannot read or write the file ({exc.strerror or exc})")
    finally:
        for leftover in work.iterdir() if work.is_dir() else ():
            leftover.unlink(missing_ok=True)


def _store(ctx: AppContext, item: IngestItem, request: IngestRequest, *, who: str, work: Path,
           stage: Callable[[int], None]) -> FileOutcome:
    from core import proxy
    from core.proxy import ProxyError

    settings, name = ctx.settings, item.name
    stage(0)
    meta = admit(ctx, item)
    sha = sha256_of(item.source)
    caption = clean_caption(item.caption)
    with session_scope(ctx.engine) as session:
        existing = repo.find_video_by_sha(session, sha256=sha)
        venue_id = repo.venue_id(session, name=item.venue) if item.venue else None
    if existing is not None:
        return FileOutcome(name, "duplicate", video_id=existing.id)

    stage(1)
    suffix = stored_suffix(name, meta.extension)
    local = work / f"{sha}{suffix}"
    with atomic_path(local, prefix=".part-", suffix="") as tmp:
        shutil.copyfile(item.source, tmp)

    stage(2)
    try:
        thumb = proxy.write_thumbnail(local, work / f"{sha}.jpg", meta)
        copy = None if proxy.browser_playable(meta)[0] else proxy.write_proxy(local, work / f"{sha}.proxy.mp4", meta)
    except ProxyError as exc:
        raise IngestError(name, f"no browser copy or thumbnail could be made ({exc})") from exc

    feats = flags = None
    if request.features:
        stage(3)
        from app.services import features, triage

        feats = features.extractor(settings).extract(local, caption)
        flags = triage.judge(local, caption)

    # Publish: renames into place, then the rows in one transaction. The files are content-addressed, so a
    # worker killed between the two leaves complete copies that a later ingest of the same file reuses.
    rel = Path("media") / sha[:2] / f"{sha}{suffix}"
    for src, dest in ((thumb, proxy.thumb_path(settings.home, sha)), (copy, proxy.proxy_path(settings.home, sha)),
                      (local, settings.home / rel)):
        if src is not None:
            make_dirs(dest.parent)
            os.replace(src, dest)
    version = None
    if feats is not None:
        from app.services import features

        store = features.store(settings)
        store.put(sha, feats)
        version = store.version
    with session_scope(ctx.engine) as session:
        video_id = repo.add_video(
            session, sha256=sha, path=rel.as_posix(), original_name=name[:400], duration=meta.duration, fps=meta.fps,
            width=meta.width, height=meta.height, size_bytes=item.source.stat().st_size, has_audio=meta.has_audio,
            caption=caption, source="upload" if request.staged else "ingest",
        )
        if venue_id is not None:
            repo.set_label(session, video_id=video_id, venue_id=venue_id, who=who,
                           reason=f"{'upload' if request.staged else 'ingest'} label", expected_version=None)
        if version is not None:
            repo.set_features(session, video_id=video_id, version=version)
        if flags is not None:
            from db import triage as triage_rows

            triage_rows.put(session, video_id=video_id, flags=flags.flags, measures=flags.measures,
                            version=flags.version)
    outcome = FileOutcome(name, "accepted", video_id=video_id, notes=tuple(notes_for(name, meta)))
    if request.predict and feats is not None:
        stage(4)
        from app.services.models import predict_features
        from app.services.requests import TrainingError

        try:
            prediction = predict_features(ctx, feats, name=name)
        except TrainingError as exc:
            return replace(outcome, prediction_error=str(exc))
        return replace(outcome, prediction=prediction)
    return outcome


def _after(ctx: AppContext, request: IngestRequest) -> None:
    """What the corpus derives from its videos, refreshed once the job stored some: splits, the text vocabulary
    and the packed feature store (as features.extract_pending does)."""
    from app.services.splits import ensure_splits

    ensure_splits(ctx)
    if request.features:
        from app.services import features

        features.refresh_text_embedder(ctx)
        features.store(ctx.settings).pack()


__all__ = ["FileOutcome", "STAGES", "UploadRefused", "outcomes", "stage_upload", "submit_upload", "submit_path",
           "recent_uploads", "run_ingest_job", "clean_after"]
