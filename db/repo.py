"""Repository functions for videos, labels, venues, model versions, jobs and prediction sets. Keyword-only, take
the session, return plain data.

The db package is split by concept and answers each question in one place: this module writes and reads the
tables above (the active model: `active_model_brief`, whose query the full row reuses; "relabelled since":
`relabelled_after`, which queries.py's set queues reuse); accounts.py owns accounts and the audit log; triage.py
owns video_triage; queries.py and newlabels.py only read, for the dashboard's pages."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from db.models import (
    SYSTEM_ANNOTATORS,
    AppMeta,
    Label,
    ModelVersion,
    OosPrediction,
    Prediction,
    PredictionSet,
    TrainingJob,
    Venue,
    Video,
    utcnow,
)


class RepoError(Exception):
    """Base class of the errors a user can act on."""


class UnknownVenue(RepoError):
    def __init__(self, name: str | int):
        super().__init__(f"unknown venue category {name!r}")
        self.name = name


class DuplicateVenue(RepoError):
    def __init__(self, name: str, existing: str):
        super().__init__(f"venue {name!r} already exists (as {existing!r}; names are compared without case)")
        self.name = name
        self.existing = existing


class UnknownVideo(RepoError):
    def __init__(self, video_id: int):
        super().__init__(f"no video with id {video_id}")
        self.video_id = video_id


class LabelConflict(RepoError):
    """Someone else changed the label since the caller read it."""

    def __init__(self, video_id: int, current: LabelRow | None, current_version: int):
        who = f"{current.who} set it to {current.venue_name!r}" if current else "it was changed"
        super().__init__(f"video {video_id} was relabelled meanwhile: {who}; reload and try again")
        self.video_id = video_id
        self.current = current
        self.current_version = current_version


# ---------------------------------------------------------------- plain rows


@dataclass(frozen=True)
class VenueRow:
    id: int
    name: str
    venue188_id: int | None
    parent_id: int | None = None
    source: str = "venue188"


@dataclass(frozen=True)
class VideoRow:
    id: int
    sha256: str
    path: str
    original_name: str
    duration: float
    fps: float
    width: int
    height: int
    size_bytes: int
    has_audio: bool
    caption: str
    source: str
    created_at: datetime
    current_venue_id: int | None
    current_venue: str | None
    version: int
    features_version: str | None
    features_error: str | None
    split: str | None = None


@dataclass(frozen=True)
class LabelRow:
    id: int
    video_id: int
    venue_id: int
    venue_name: str
    previous_venue_id: int | None
    previous_venue_name: str | None
    who: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class ModelRow:
    id: int
    name: str
    architecture: str
    config: dict[str, Any]
    checkpoint_path: str
    metrics: dict[str, Any]
    created_at: datetime
    is_active: bool


@dataclass(frozen=True)
class PredictionRow:
    video_id: int
    model_version_id: int
    venue_id: int
    venue_name: str
    confidence: float
    label_probability: float | None
    entropy: float
    topk: list[Any]
    ood_score: float | None = None  # core/ood.py: above 1.0 the video is unlike the model's training videos


class JobStatus(StrEnum):
    """A background job's state (stored as its string value). Queued and running are active; the rest final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATES


ACTIVE_STATES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobRow:
    id: int
    status: JobStatus
    kind: str
    params: dict[str, Any]
    progress: float
    epoch: int
    message: str
    history: list[Any]
    log: str
    error: str | None
    pid: int | None
    cancel_requested: bool
    heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    model_version_id: int | None
    created_by: str


@dataclass(frozen=True)
class LabelledVideo:
    video_id: int
    sha256: str
    venue_id: int
    split: str | None = None


@dataclass(frozen=True)
class PredictionSetRow:
    id: int
    name: str
    kind: str
    status: str
    architecture: str
    params: dict[str, Any]
    features_version: str
    venue_ids: list[int]
    label_snapshot_id: int
    label_snapshot_at: datetime | None
    n_videos: int
    folds_done: list[int]
    n_issues: int | None
    artifact_dir: str
    job_id: int | None
    message: str
    created_at: datetime
    finished_at: datetime | None


def _video_row(video: Video, venue_name: str | None) -> VideoRow:
    return VideoRow(
        id=video.id, sha256=video.sha256, path=video.path, original_name=video.original_name,
        duration=video.duration, fps=video.fps, width=video.width, height=video.height,
        size_bytes=video.size_bytes, has_audio=video.has_audio, caption=video.caption,
        source=video.source, created_at=video.created_at, current_venue_id=video.current_venue_id,
        current_venue=venue_name, version=video.version, features_version=video.features_version,
        features_error=video.features_error, split=video.split,
    )


def _model_row(m: ModelVersion) -> ModelRow:
    return ModelRow(
        id=m.id, name=m.name, architecture=m.architecture, config=dict(m.config or {}),
        checkpoint_path=m.checkpoint_path, metrics=dict(m.metrics or {}), created_at=m.created_at,
        is_active=m.is_active,
    )


def _job_row(j: TrainingJob) -> JobRow:
    return JobRow(
        id=j.id, status=JobStatus(j.status), kind=j.kind or "train", params=dict(j.params or {}), progress=j.progress,
        epoch=j.epoch,
        message=j.message, history=list(j.history or []), log=j.log, error=j.error, pid=j.pid,
        cancel_requested=j.cancel_requested, heartbeat_at=j.heartbeat_at, created_at=j.created_at,
        started_at=j.started_at, finished_at=j.finished_at, model_version_id=j.model_version_id,
        created_by=j.created_by,
    )


# ---------------------------------------------------------------- venues


def ensure_venues(session: Session, *, venues: Iterable[tuple[str, int | None]]) -> int:
    """Insert the (name, venue188_id) pairs that are missing; return how many were added."""
    existing = set(session.scalars(select(Venue.name)))
    new = [{"name": n, "venue188_id": v} for n, v in venues if n not in existing]
    if new:
        session.execute(insert(Venue), new)
    return len(new)


def list_venues(session: Session, *, used_only: bool = False) -> list[VenueRow]:
    """All venues by name; with used_only, those that label at least one video."""
    stmt = select(Venue).order_by(Venue.name)
    if used_only:  # EXISTS: one index probe per venue, not a list of every video's label (30 ms at 200k)
        stmt = stmt.where(exists().where(Video.current_venue_id == Venue.id))
    return [VenueRow(v.id, v.name, v.venue188_id, v.parent_id, v.source) for v in session.scalars(stmt)]


def find_venue(session: Session, *, name: str) -> VenueRow | None:
    """A venue by case-insensitive name, or None."""
    v = session.scalar(select(Venue).where(func.lower(Venue.name) == name.strip().lower()))
    return None if v is None else VenueRow(v.id, v.name, v.venue188_id, v.parent_id, v.source)


def add_venue(session: Session, *, name: str, parent_id: int | None = None, source: str = "user") -> VenueRow:
    """Insert one venue; DuplicateVenue when a venue of that name (any case) exists, UnknownVenue for a bad parent."""
    existing = find_venue(session, name=name)
    if existing is not None:
        raise DuplicateVenue(name, existing.name)
    if parent_id is not None and session.get(Venue, parent_id) is None:
        raise UnknownVenue(parent_id)
    venue = Venue(name=name, parent_id=parent_id, source=source)
    session.add(venue)
    session.flush()
    return VenueRow(venue.id, venue.name, None, venue.parent_id, venue.source)


def venue_id(session: Session, *, name: str) -> int:
    """The id of a venue by exact (case-insensitive) name; UnknownVenue otherwise."""
    found = session.scalar(select(Venue.id).where(func.lower(Venue.name) == name.strip().lower()))
    if found is None:
        raise UnknownVenue(name)
    return found


def venue_names(session: Session) -> dict[int, str]:
    return {vid: name for vid, name in session.execute(select(Venue.id, Venue.name))}


# ---------------------------------------------------------------- videos


def find_video_by_sha(session: Session, *, sha256: str) -> VideoRow | None:
    row = session.execute(
        select(Video, Venue.name).outerjoin(Venue, Venue.id == Video.current_venue_id).where(Video.sha256 == sha256)
    ).first()
    return _video_row(row[0], row[1]) if row else None


def get_video(session: Session, *, video_id: int) -> VideoRow:
    row = session.execute(
        select(Video, Venue.name).outerjoin(Venue, Venue.id == Video.current_venue_id).where(Video.id == video_id)
    ).first()
    if row is None:
        raise UnknownVideo(video_id)
    return _video_row(row[0], row[1])


def add_video(
    session: Session, *, sha256: str, path: str, original_name: str, duration: float, fps: float,
    width: int, height: int, size_bytes: int, has_audio: bool, caption: str, source: str,
) -> int:
    """Insert a video row and return its id."""
    video = Video(
        sha256=sha256, path=path, original_name=original_name, duration=duration, fps=fps, width=width,
        height=height, size_bytes=size_bytes, has_audio=has_audio, caption=caption, source=source,
    )
    session.add(video)
    session.flush()
    return video.id


def count_videos(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Video)) or 0  # count(*): SQLite counts b-tree cells


def set_features(session: Session, *, video_id: int, version: str | None, error: str | None = None) -> None:
    """Record which extractor version holds this video's features (or why extraction failed)."""
    session.execute(
        update(Video).where(Video.id == video_id).values(features_version=version, features_error=error)
    )


def videos_missing_features(session: Session, *, version: str) -> list[VideoRow]:
    """Videos whose features are absent or from another extractor version, oldest first."""
    rows = session.execute(
        select(Video, Venue.name)
        .outerjoin(Venue, Venue.id == Video.current_venue_id)
        .where((Video.features_version.is_(None)) | (Video.features_version != version))
        .order_by(Video.id)
    ).all()
    return [_video_row(v, n) for v, n in rows]


def all_videos(session: Session) -> list[VideoRow]:
    """Every video, oldest first (what `features --rebuild` recomputes)."""
    rows = session.execute(
        select(Video, Venue.name).outerjoin(Venue, Venue.id == Video.current_venue_id).order_by(Video.id)
    ).all()
    return [_video_row(v, n) for v, n in rows]


def labelled_videos(session: Session, *, features_version: str) -> list[LabelledVideo]:
    """Videos with a current label and features of this version, by id, with their stable split."""
    rows = session.execute(
        select(Video.id, Video.sha256, Video.current_venue_id, Video.split)
        .where(Video.current_venue_id.is_not(None), Video.features_version == features_version)
        .order_by(Video.id)
    ).all()
    return [LabelledVideo(i, s, v, sp) for i, s, v, sp in rows]


def videos_with_features(session: Session, *, features_version: str) -> list[tuple[int, str]]:
    """(id, sha256) of every video whose features are of this version."""
    return list(
        session.execute(
            select(Video.id, Video.sha256).where(Video.features_version == features_version).order_by(Video.id)
        ).tuples()
    )


# ---------------------------------------------------------------- labels


def _current_label(session: Session, video_id: int) -> LabelRow | None:
    rows = label_history(session, video_id=video_id, limit=1)
    return rows[0] if rows else None


def label_history(session: Session, *, video_id: int, limit: int | None = None) -> list[LabelRow]:
    """The label history of a video, newest first."""
    new, old = aliased(Venue), aliased(Venue)
    stmt = (
        select(Label, new.name, old.name)
        .join(new, new.id == Label.venue_id)
        .outerjoin(old, old.id == Label.previous_venue_id)
        .where(Label.video_id == video_id)
        .order_by(Label.id.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return [
        LabelRow(
            id=lab.id, video_id=lab.video_id, venue_id=lab.venue_id, venue_name=n,
            previous_venue_id=lab.previous_venue_id, previous_venue_name=o, who=lab.who, reason=lab.reason,
            created_at=lab.created_at,
        )
        for lab, n, o in session.execute(stmt)
    ]


def set_label(
    session: Session, *, video_id: int, venue_id: int, who: str, reason: str = "", expected_version: int | None
) -> int:
    """Append a label and make it current. With expected_version, fail with LabelConflict if the
    video changed since it was read. Returns the video's new version."""
    if session.get(Venue, venue_id) is None:
        raise UnknownVenue(venue_id)
    video = session.get(Video, video_id)
    if video is None:
        raise UnknownVideo(video_id)
    previous = video.current_venue_id
    stmt = update(Video).where(Video.id == video_id)
    if expected_version is not None:
        stmt = stmt.where(Video.version == expected_version)
    result = session.execute(
        stmt.values(current_venue_id=venue_id, version=Video.version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        fresh = session.scalar(select(Video.version).where(Video.id == video_id)) or 0
        raise LabelConflict(video_id, _current_label(session, video_id), fresh)
    session.add(Label(video_id=video_id, venue_id=venue_id, previous_venue_id=previous, who=who, reason=reason))
    session.flush()
    return session.scalar(select(Video.version).where(Video.id == video_id)) or 0


def undo_last_label(session: Session, *, video_id: int, who: str, expected_version: int | None) -> int:
    """Undo the newest change by appending its previous label again (history stays append-only)."""
    last = _current_label(session, video_id)
    if last is None or last.previous_venue_id is None:
        raise RepoError(f"video {video_id} has no earlier label to return to")
    return set_label(
        session, video_id=video_id, venue_id=last.previous_venue_id, who=who,
        reason=f"undo of change #{last.id} by {last.who}", expected_version=expected_version,
    )


# ---------------------------------------------------------------- model versions


def create_model_version(
    session: Session, *, name: str, architecture: str, config: dict[str, Any], checkpoint_path: str,
    metrics: dict[str, Any],
) -> int:
    model = ModelVersion(
        name=name, architecture=architecture, config=config, checkpoint_path=checkpoint_path, metrics=metrics
    )
    session.add(model)
    session.flush()
    return model.id


def list_model_versions(session: Session) -> list[ModelRow]:
    return [_model_row(m) for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()))]


def get_model_version(session: Session, *, model_id: int) -> ModelRow | None:
    m = session.get(ModelVersion, model_id)
    return _model_row(m) if m else None


@dataclass(frozen=True)
class ActiveModel:
    """What pages need of the active model (its metrics, a large JSON, are not read)."""

    id: int
    name: str
    architecture: str


def active_model_brief(session: Session) -> ActiveModel | None:
    """Id, name and architecture of the active model version, None when there is none: the one query that
    finds it (activate_model keeps exactly one active)."""
    row = session.execute(
        select(ModelVersion.id, ModelVersion.name, ModelVersion.architecture).where(ModelVersion.is_active.is_(True))
    ).first()
    return ActiveModel(id=row[0], name=row[1], architecture=row[2]) if row else None


def active_model(session: Session) -> ModelRow | None:
    """The active model version with its config and metrics, None when there is none."""
    brief = active_model_brief(session)
    return get_model_version(session, model_id=brief.id) if brief else None


def activate_model(session: Session, *, model_id: int) -> None:
    """Make this version the one the dashboard uses (exactly one active)."""
    if session.get(ModelVersion, model_id) is None:
        raise RepoError(f"no model version {model_id}")
    session.execute(update(ModelVersion).where(ModelVersion.id != model_id).values(is_active=False))
    session.execute(update(ModelVersion).where(ModelVersion.id == model_id).values(is_active=True))


# ---------------------------------------------------------------- predictions


def replace_predictions(session: Session, *, model_version_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Store a model's predictions, replacing earlier ones of that model. Each row has video_id,
    venue_id, confidence, label_probability, entropy, topk and optionally ood_score."""
    session.execute(delete(Prediction).where(Prediction.model_version_id == model_version_id))
    if rows:
        session.execute(insert(Prediction), [{**r, "model_version_id": model_version_id} for r in rows])
    refresh_statistics(session)
    return len(rows)


def refresh_statistics(session: Session) -> None:
    """ANALYZE, after a bulk write: SQLite plans without statistics until it runs (it picked a 1 s plan over
    a 1 ms one for Browse's label + confidence filter at 200k videos, docs/scale.md); PostgreSQL's autovacuum
    would analyze later on its own. 0.7 s at 200k videos here, milliseconds for small workspaces."""
    session.execute(text("ANALYZE"))


def predictions_for_video(session: Session, *, video_id: int) -> list[PredictionRow]:
    stmt = (
        select(Prediction, Venue.name)
        .join(Venue, Venue.id == Prediction.venue_id)
        .where(Prediction.video_id == video_id)
        .order_by(Prediction.model_version_id.desc())
    )
    return [
        PredictionRow(p.video_id, p.model_version_id, p.venue_id, n, p.confidence, p.label_probability,
                      p.entropy, list(p.topk), p.ood_score)
        for p, n in session.execute(stmt)
    ]


# ---------------------------------------------------------------- training jobs


def create_job(session: Session, *, params: dict[str, Any], created_by: str = "", kind: str = "train") -> int:
    job = TrainingJob(params=params, created_by=created_by, status=JobStatus.QUEUED, kind=kind)
    session.add(job)
    session.flush()
    return job.id


def get_job(session: Session, *, job_id: int) -> JobRow | None:
    j = session.get(TrainingJob, job_id)
    return _job_row(j) if j else None


def list_jobs(session: Session, *, limit: int = 50) -> list[JobRow]:
    return [_job_row(j) for j in session.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit))]


def claim_job(session: Session, *, job_id: int, pid: int) -> bool:
    """Move a queued job to running for this process; False if it was not queued."""
    now = utcnow()
    result = session.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id, TrainingJob.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, pid=pid, started_at=now, heartbeat_at=now)
    )
    return result.rowcount == 1


def update_job(
    session: Session, *, job_id: int, progress: float | None = None, epoch: int | None = None,
    message: str | None = None, history_entry: dict[str, Any] | None = None, log_line: str | None = None,
) -> bool:
    """Write progress and beat the heart; returns whether cancellation was requested."""
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise RepoError(f"no training job {job_id}")
    job.heartbeat_at = utcnow()
    if progress is not None:
        job.progress = float(progress)
    if epoch is not None:
        job.epoch = int(epoch)
    if message is not None:
        job.message = message
    if history_entry is not None:
        job.history = [*(job.history or []), history_entry]
    if log_line:
        job.log = ((job.log or "") + log_line.rstrip() + "\n")[-20000:]
    return bool(job.cancel_requested)


def finish_job(
    session: Session, *, job_id: int, status: str, error: str | None = None, model_version_id: int | None = None
) -> None:
    """Set a final state (done, failed or cancelled) unless one is already set."""
    if status not in FINAL_STATES:
        raise ValueError(f"not a final job status: {status}")
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if model_version_id is not None:
        values["model_version_id"] = model_version_id
    if status == JobStatus.DONE:
        values["progress"] = 1.0
    session.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id, TrainingJob.status.in_(ACTIVE_STATES))
        .values(**values)
    )


def request_cancel(session: Session, *, job_id: int) -> None:
    session.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(cancel_requested=True))


def running_jobs(session: Session) -> list[JobRow]:
    stmt = select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_STATES)).order_by(TrainingJob.id)
    return [_job_row(j) for j in session.scalars(stmt)]


@dataclass
class Counts:
    videos: int = 0
    labelled: int = 0
    with_features: int = 0
    annotated: int = 0
    per_venue: dict[str, int] = field(default_factory=dict)


def corpus_counts(session: Session, *, per_venue: bool = True) -> Counts:
    """Totals for the status line and the CLI (on every dashboard page: shaped for 200k videos, docs/scale.md).
    The sidebar passes per_venue=False: that one reads every video's label (25 ms at 200k)."""
    counts = Counts()
    counts.videos = count_videos(session)
    # complements of the NULL ranges of their indexes: few rows once videos are labelled and extracted
    n_null = select(func.count()).select_from(Video)
    counts.labelled = counts.videos - (session.scalar(n_null.where(Video.current_venue_id.is_(None))) or 0)
    counts.with_features = counts.videos - (session.scalar(n_null.where(Video.features_version.is_(None))) or 0)
    counts.annotated = session.scalar(select(func.count(func.distinct(Label.video_id))).where(
        _human_annotator(session))) or 0
    if per_venue:  # grouped by id over ix_videos_current_venue, the 22 or 188 names joined to the groups
        by_venue = (select(Video.current_venue_id.label("venue_id"), func.count().label("n"))
                    .where(Video.current_venue_id.is_not(None)).group_by(Video.current_venue_id).subquery())
        rows = session.execute(select(Venue.name, by_venue.c.n).join(by_venue, by_venue.c.venue_id == Venue.id))
        counts.per_venue = {name: n for name, n in rows}
    return counts


def _human_annotator(session: Session):  # noqa: ANN202 - a SQL condition
    """labels.who is a person, not a system import. In SQLite as ranges between the system names, which
    ix_labels_who_video seeks (NOT IN reads all of it: 50 ms at 200k labels, 2 ms as ranges); SQLite compares
    text by code point, as sorted() does. Other databases (collations) get the NOT IN."""
    who = Label.who
    if session.get_bind().dialect.name != "sqlite":
        return who.not_in(SYSTEM_ANNOTATORS)
    names = sorted(set(SYSTEM_ANNOTATORS))
    ranges = [who < names[0], who > names[-1]]
    ranges += [and_(who > lo, who < hi) for lo, hi in zip(names[:-1], names[1:], strict=True)]
    return or_(*ranges)


# ---------------------------------------------------------------- meta, stable splits, label snapshots


def get_meta(session: Session, *, key: str) -> str | None:
    return session.scalar(select(AppMeta.value).where(AppMeta.key == key))


def set_meta(session: Session, *, key: str, value: str) -> None:
    row = session.get(AppMeta, key)
    if row is None:
        session.add(AppMeta(key=key, value=value))
    else:
        row.value = value
    session.flush()


def videos_without_split(session: Session) -> list[tuple[int, str, int | None]]:
    """(id, sha256, current venue id) of the videos that have no split yet, by id."""
    stmt = select(Video.id, Video.sha256, Video.current_venue_id).where(Video.split.is_(None)).order_by(Video.id)
    return list(session.execute(stmt).tuples())


def split_counts(session: Session) -> dict[int | None, tuple[int, int]]:
    """Per current venue id (None: unlabelled), how many assigned videos are in (train, test)."""
    out: dict[int | None, list[int]] = {}
    stmt = (select(Video.current_venue_id, Video.split, func.count(Video.id))
            .where(Video.split.is_not(None)).group_by(Video.current_venue_id, Video.split))
    for venue, split, n in session.execute(stmt):
        out.setdefault(venue, [0, 0])[0 if split == "train" else 1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


def set_splits(session: Session, *, splits: dict[int, str]) -> int:
    """Give videos their split, never overwriting one already given; returns how many were set."""
    done = 0
    for split in set(splits.values()):
        ids = [vid for vid, s in splits.items() if s == split]
        for start in range(0, len(ids), 500):
            result = session.execute(
                update(Video).where(Video.id.in_(ids[start:start + 500]), Video.split.is_(None)).values(split=split)
                .execution_options(synchronize_session=False)
            )
            done += result.rowcount or 0
    return done


def iter_splits(session: Session, *, batch: int = 2000) -> Iterator[tuple[int, str | None]]:
    """(video id, split) of every video, by id, streamed."""
    stmt = select(Video.id, Video.split).order_by(Video.id).execution_options(yield_per=batch)
    for vid, split in session.execute(stmt).tuples():
        yield int(vid), split


def newest_label_id(session: Session) -> int:
    """The id of the newest label row: labels are append-only, so it names the current label snapshot."""
    return session.scalar(select(func.max(Label.id))) or 0


def relabelled_after(label_id: Any):  # noqa: ANN201 - a Select of video ids
    """The videos with a label row newer than `label_id` (a number or a scalar subquery): labels are append-only
    and every change of videos.current_venue_id appends one (set_label), so these are the only videos whose
    label can differ from the one they had at that label snapshot."""
    return select(Label.video_id).where(Label.id > label_id)


def videos_relabelled_since(session: Session, *, label_id: int, video_ids: Sequence[int] | None = None) -> set[int]:
    """Videos with a label row newer than `label_id` (optionally among `video_ids`)."""
    stmt = relabelled_after(label_id).distinct()
    if video_ids is not None:
        found: set[int] = set()
        ids = list(video_ids)
        for start in range(0, len(ids), 500):
            found |= set(session.scalars(stmt.where(Label.video_id.in_(ids[start:start + 500]))))
        return found
    return set(session.scalars(stmt))


def label_id_at(session: Session, *, when: datetime) -> int:
    """The label snapshot at a time: the newest label row created at or before `when` (0 before any)."""
    return session.scalar(select(func.max(Label.id)).where(Label.created_at <= when)) or 0


def count_relabelled_since(session: Session, *, label_id: int) -> int:
    return session.scalar(select(func.count()).select_from(relabelled_after(label_id).distinct().subquery())) or 0


def labels_at(session: Session, *, label_id: int, video_ids: Sequence[int]) -> dict[int, int]:
    """The venue id each video had at label snapshot `label_id` (videos unlabelled then are left out)."""
    out: dict[int, int] = {}
    ids = list(video_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        newest = (select(Label.video_id, func.max(Label.id).label("lid"))
                  .where(Label.id <= label_id, Label.video_id.in_(chunk)).group_by(Label.video_id).subquery())
        stmt = select(Label.video_id, Label.venue_id).join(newest, Label.id == newest.c.lid)
        out.update({k: v for k, v in session.execute(stmt).tuples()})
    return out


# ---------------------------------------------------------------- out-of-sample prediction sets


def _set_row(p: PredictionSet) -> PredictionSetRow:
    return PredictionSetRow(
        id=p.id, name=p.name, kind=p.kind, status=p.status, architecture=p.architecture, params=dict(p.params or {}),
        features_version=p.features_version, venue_ids=list(p.venue_ids or []), label_snapshot_id=p.label_snapshot_id,
        label_snapshot_at=p.label_snapshot_at, n_videos=p.n_videos, folds_done=list(p.folds_done or []),
        n_issues=p.n_issues, artifact_dir=p.artifact_dir, job_id=p.job_id, message=p.message,
        created_at=p.created_at, finished_at=p.finished_at,
    )


def create_prediction_set(
    session: Session, *, name: str, architecture: str, params: dict[str, Any], features_version: str,
    venue_ids: list[int], label_snapshot_id: int, label_snapshot_at: datetime | None, n_videos: int,
    artifact_dir: str, job_id: int | None = None, kind: str = "crossval",
) -> int:
    row = PredictionSet(
        name=name, kind=kind, status="running", architecture=architecture, params=params,
        features_version=features_version, venue_ids=venue_ids, label_snapshot_id=label_snapshot_id,
        label_snapshot_at=label_snapshot_at, n_videos=n_videos, folds_done=[], artifact_dir=artifact_dir,
        job_id=job_id, message="",
    )
    session.add(row)
    session.flush()
    return row.id


_SET_FIELDS = {"status", "folds_done", "n_issues", "message", "finished_at", "job_id", "name", "artifact_dir"}


def update_prediction_set(session: Session, *, set_id: int, **values: Any) -> None:
    unknown = set(values) - _SET_FIELDS
    if unknown:
        raise ValueError(f"cannot update prediction set fields {sorted(unknown)}")
    session.execute(update(PredictionSet).where(PredictionSet.id == set_id).values(**values))


def get_prediction_set(session: Session, *, set_id: int) -> PredictionSetRow | None:
    row = session.get(PredictionSet, set_id)
    return _set_row(row) if row else None


def list_prediction_sets(session: Session, *, limit: int = 50) -> list[PredictionSetRow]:
    stmt = select(PredictionSet).order_by(PredictionSet.id.desc()).limit(limit)
    return [_set_row(p) for p in session.scalars(stmt)]


def latest_prediction_set(session: Session, *, features_version: str | None = None,
                          status: str = "done") -> PredictionSetRow | None:
    """The newest set in this state (of this feature version, when given)."""
    stmt = select(PredictionSet).where(PredictionSet.status == status)
    if features_version is not None:
        stmt = stmt.where(PredictionSet.features_version == features_version)
    row = session.scalar(stmt.order_by(PredictionSet.id.desc()).limit(1))
    return _set_row(row) if row else None


def replace_oos_predictions(session: Session, *, set_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Store a set's per-video rows (video_id, fold, label_venue_id, label_probability, suggested_venue_id,
    suggested_probability, quality, is_issue, topk), replacing earlier ones of that set."""
    session.execute(delete(OosPrediction).where(OosPrediction.set_id == set_id))
    for start in range(0, len(rows), 2000):
        session.execute(insert(OosPrediction), [{**r, "set_id": set_id} for r in rows[start:start + 2000]])
    refresh_statistics(session)
    return len(rows)


def abandon_prediction_sets(session: Session, *, job_id: int, message: str) -> None:
    """Mark the running sets of a dead job failed (their finished folds stay on disk, resumable)."""
    session.execute(update(PredictionSet).where(PredictionSet.job_id == job_id, PredictionSet.status == "running")
                    .values(status="failed", message=message, finished_at=utcnow()))


def oos_folds(session: Session, *, set_id: int) -> dict[int, int]:
    """video id -> the fold whose model scored it."""
    stmt = select(OosPrediction.video_id, OosPrediction.fold).where(OosPrediction.set_id == set_id)
    return {k: v for k, v in session.execute(stmt).tuples()}
