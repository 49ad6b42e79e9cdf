"""The corpus map's tables: embedding runs, the data issues found in them, and saved selections of videos."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import DataIssue, EmbeddingRun, SavedSelection, SavedSelectionVideo, Video, utcnow


@dataclass(frozen=True)
class EmbeddingRunRow:
    id: int
    model_version_id: int
    features_version: str
    version: str
    status: str
    config: dict[str, Any]
    stages_done: list[str]
    n_videos: int
    artifact_dir: str
    job_id: int | None
    message: str
    created_at: datetime
    finished_at: datetime | None


def _run_row(r: EmbeddingRun) -> EmbeddingRunRow:
    return EmbeddingRunRow(r.id, r.model_version_id, r.features_version, r.version, r.status, dict(r.config or {}),
                           list(r.stages_done or []), r.n_videos, r.artifact_dir, r.job_id, r.message, r.created_at,
                           r.finished_at)


def create_run(session: Session, *, model_version_id: int, features_version: str, version: str,
               config: dict[str, Any], job_id: int | None) -> int:
    row = EmbeddingRun(model_version_id=model_version_id, features_version=features_version, version=version,
                       status="running", config=config, stages_done=[], n_videos=0, artifact_dir="", job_id=job_id,
                       message="")
    session.add(row)
    session.flush()
    return row.id


_RUN_FIELDS = {"status", "stages_done", "n_videos", "artifact_dir", "job_id", "message", "finished_at", "config"}


def update_run(session: Session, *, run_id: int, **values: Any) -> None:
    unknown = set(values) - _RUN_FIELDS
    if unknown:
        raise ValueError(f"cannot update embedding run fields {sorted(unknown)}")
    session.execute(update(EmbeddingRun).where(EmbeddingRun.id == run_id).values(**values))


def get_run(session: Session, *, run_id: int) -> EmbeddingRunRow | None:
    row = session.get(EmbeddingRun, run_id)
    return _run_row(row) if row else None


def latest_run(session: Session, *, model_version_id: int, features_version: str | None = None,
               version: str | None = None, status: str | None = None) -> EmbeddingRunRow | None:
    """The newest run of a model version (of this feature and recipe version, in this state, when given)."""
    stmt = select(EmbeddingRun).where(EmbeddingRun.model_version_id == model_version_id)
    if features_version is not None:
        stmt = stmt.where(EmbeddingRun.features_version == features_version)
    if version is not None:
        stmt = stmt.where(EmbeddingRun.version == version)
    if status is not None:
        stmt = stmt.where(EmbeddingRun.status == status)
    row = session.scalar(stmt.order_by(EmbeddingRun.id.desc()).limit(1))
    return _run_row(row) if row else None


def abandon_runs(session: Session, *, job_id: int, message: str) -> None:
    """Mark the running embedding runs of a dead job failed (their finished files stay: resumable)."""
    session.execute(update(EmbeddingRun).where(EmbeddingRun.job_id == job_id, EmbeddingRun.status == "running")
                    .values(status="failed", message=message, finished_at=utcnow()))


# ---------------------------------------------------------------- data issues


@dataclass(frozen=True)
class DataIssueRow:
    video_id: int
    type: str
    score: float
    is_issue: bool
    duplicate_of: int | None


def replace_issues(session: Session, *, run_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Store a run's data issues (video_id, type, score, is_issue, duplicate_of), replacing earlier ones."""
    session.execute(delete(DataIssue).where(DataIssue.run_id == run_id))
    for start in range(0, len(rows), 2000):
        session.execute(insert(DataIssue), [{**r, "run_id": run_id} for r in rows[start:start + 2000]])
    return len(rows)


def issues(session: Session, *, run_id: int, type_: str | None = None, only_issues: bool = True,
           video_ids: Iterable[int] | None = None) -> list[DataIssueRow]:
    """A run's data issues (of one type), most severe (lowest score) first."""
    stmt = select(DataIssue.video_id, DataIssue.type, DataIssue.score, DataIssue.is_issue, DataIssue.duplicate_of
                  ).where(DataIssue.run_id == run_id)
    if type_ is not None:
        stmt = stmt.where(DataIssue.type == type_)
    if only_issues:
        stmt = stmt.where(DataIssue.is_issue.is_(True))
    if video_ids is not None:
        stmt = stmt.where(DataIssue.video_id.in_(list(video_ids)))
    return [DataIssueRow(*r) for r in session.execute(stmt.order_by(DataIssue.score, DataIssue.video_id)).tuples()]


# ---------------------------------------------------------------- saved selections


@dataclass(frozen=True)
class SelectionRow:
    id: int
    name: str
    owner: str
    created_at: datetime
    n_videos: int


class SelectionExists(ValueError):
    """A saved selection of that name exists already."""


def save_selection(session: Session, *, name: str, owner: str, video_ids: Sequence[int]) -> int:
    """A new saved selection of these videos (ids that name no video are dropped)."""
    if session.scalar(select(SavedSelection.id).where(SavedSelection.name == name)) is not None:
        raise SelectionExists(f"a saved selection named {name!r} exists already: choose another name")
    row = SavedSelection(name=name, owner=owner)
    session.add(row)
    session.flush()
    wanted = sorted({int(v) for v in video_ids})
    known: list[int] = []
    for start in range(0, len(wanted), 900):
        known += session.scalars(select(Video.id).where(Video.id.in_(wanted[start:start + 900]))).all()
    for start in range(0, len(known), 5000):
        session.execute(insert(SavedSelectionVideo),
                        [{"selection_id": row.id, "video_id": v} for v in known[start:start + 5000]])
    return row.id


def list_selections(session: Session) -> list[SelectionRow]:
    counts = (select(SavedSelectionVideo.selection_id, func.count().label("n"))
              .group_by(SavedSelectionVideo.selection_id).subquery())
    stmt = (select(SavedSelection.id, SavedSelection.name, SavedSelection.owner, SavedSelection.created_at,
                   func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.selection_id == SavedSelection.id).order_by(SavedSelection.name))
    return [SelectionRow(*r) for r in session.execute(stmt).tuples()]


def selection_videos(session: Session, *, selection_id: int) -> list[int]:
    stmt = select(SavedSelectionVideo.video_id).where(SavedSelectionVideo.selection_id == selection_id)
    return sorted(session.scalars(stmt).all())


def delete_selection(session: Session, *, selection_id: int) -> bool:
    session.execute(delete(SavedSelectionVideo).where(SavedSelectionVideo.selection_id == selection_id))
    return session.execute(delete(SavedSelection).where(SavedSelection.id == selection_id)).rowcount > 0


def label_names(session: Session, *, video_ids: Sequence[int]) -> dict[int, str | None]:
    """Each video's current label (venue name; None when unlabelled)."""
    from db.models import Venue

    out: dict[int, str | None] = {}
    ids = [int(v) for v in video_ids]
    for start in range(0, len(ids), 900):
        stmt = (select(Video.id, Venue.name).outerjoin(Venue, Venue.id == Video.current_venue_id)
                .where(Video.id.in_(ids[start:start + 900])))
        out.update({int(v): name for v, name in session.execute(stmt).tuples()})
    return out


def map_attributes(session: Session, *, model_version_id: int | None, set_id: int | None) -> dict[str, list[Any]]:
    """Column lists over every video, by id: name, current label, predicted venue, OOD score, split, label-issue
    quality (of out-of-sample set `set_id`) and triage flags, for the corpus map (one query, outer joins)."""
    from sqlalchemy.orm import aliased

    from db.models import OosPrediction, Prediction, Venue, VideoTriage

    label_venue, pred_venue = aliased(Venue), aliased(Venue)
    pred = aliased(Prediction)
    oos = aliased(OosPrediction)
    stmt = (select(Video.id, Video.original_name, label_venue.name, pred_venue.name, pred.ood_score, Video.split,
                   oos.quality, VideoTriage.flags)
            .outerjoin(label_venue, label_venue.id == Video.current_venue_id)
            .outerjoin(pred, (pred.video_id == Video.id) & (pred.model_version_id == (model_version_id or -1)))
            .outerjoin(pred_venue, pred_venue.id == pred.venue_id)
            .outerjoin(oos, (oos.video_id == Video.id) & (oos.set_id == (set_id or -1)))
            .outerjoin(VideoTriage, VideoTriage.video_id == Video.id)
            .order_by(Video.id))
    names = ("video_id", "name", "label", "predicted", "ood_score", "split", "label_quality", "triage")
    cols: dict[str, list[Any]] = {n: [] for n in names}
    for row in session.execute(stmt).tuples():
        for n, v in zip(names, row, strict=True):
            cols[n].append(v)
    return cols


def label_versions(session: Session, *, video_ids: Sequence[int]) -> dict[int, int]:
    """Each video's label version (videos that do not exist are absent), in chunks of 900 ids."""
    ids = [int(v) for v in video_ids]
    out: dict[int, int] = {}
    for start in range(0, len(ids), 900):
        stmt = select(Video.id, Video.version).where(Video.id.in_(ids[start:start + 900]))
        out.update({int(v): int(n) for v, n in session.execute(stmt).tuples()})
    return out
