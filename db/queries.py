"""Read queries for the dashboard: filtering, sorting and paging done in SQL, never in pandas."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, inspect, select
from sqlalchemy.orm import Session, aliased

from db.models import SYSTEM_ANNOTATORS, Label, ModelVersion, Prediction, Venue, Video

SORTS = ("id", "newest", "confidence_desc", "confidence_asc", "label", "name")


@dataclass(frozen=True)
class VideoFilter:
    """What Browse asks for; every field optional."""

    label_venue_ids: tuple[int, ...] = ()
    predicted_venue_ids: tuple[int, ...] = ()
    correctness: str = "any"  # any | correct | wrong | unpredicted
    min_confidence: float = 0.0
    max_confidence: float = 1.0
    has_audio: bool | None = None
    has_caption: bool | None = None
    annotated: bool | None = None
    text: str = ""
    video_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class BrowseRow:
    id: int
    original_name: str
    caption: str
    path: str
    duration: float
    has_audio: bool
    label: str | None
    label_venue_id: int | None
    predicted: str | None
    predicted_venue_id: int | None
    confidence: float | None
    correct: bool | None


def _browse_select(model_version_id: int | None):  # noqa: ANN202 - a Select
    label_venue, pred_venue = aliased(Venue), aliased(Venue)
    pred = aliased(Prediction)
    join_pred = and_(pred.video_id == Video.id, pred.model_version_id == (model_version_id or -1))
    stmt = (
        select(Video.id, Video.original_name, Video.caption, Video.path, Video.duration, Video.has_audio,
               label_venue.name, Video.current_venue_id, pred_venue.name, pred.venue_id, pred.confidence)
        .outerjoin(label_venue, label_venue.id == Video.current_venue_id)
        .outerjoin(pred, join_pred)
        .outerjoin(pred_venue, pred_venue.id == pred.venue_id)
    )
    return stmt, pred, label_venue


def _apply(stmt, f: VideoFilter, pred, label_venue):  # noqa: ANN001, ANN202
    if f.label_venue_ids:
        stmt = stmt.where(Video.current_venue_id.in_(f.label_venue_ids))
    if f.predicted_venue_ids:
        stmt = stmt.where(pred.venue_id.in_(f.predicted_venue_ids))
    if f.correctness == "correct":
        stmt = stmt.where(pred.venue_id == Video.current_venue_id)
    elif f.correctness == "wrong":
        stmt = stmt.where(pred.venue_id != Video.current_venue_id)
    elif f.correctness == "unpredicted":
        stmt = stmt.where(pred.id.is_(None))
    if f.min_confidence > 0.0:
        stmt = stmt.where(pred.confidence >= f.min_confidence)
    if f.max_confidence < 1.0:
        stmt = stmt.where(pred.confidence <= f.max_confidence)
    if f.has_audio is not None:
        stmt = stmt.where(Video.has_audio.is_(f.has_audio))
    if f.has_caption is not None:
        stmt = stmt.where((Video.caption != "") if f.has_caption else (Video.caption == ""))
    if f.annotated is not None:
        human = exists().where(Label.video_id == Video.id, Label.who.not_in(SYSTEM_ANNOTATORS))
        stmt = stmt.where(human if f.annotated else ~human)
    if f.text.strip():
        needle = f"%{f.text.strip().lower()}%"
        stmt = stmt.where(func.lower(Video.caption).like(needle) | func.lower(Video.original_name).like(needle))
    if f.video_ids:
        stmt = stmt.where(Video.id.in_(f.video_ids))
    return stmt


def browse(
    session: Session, *, model_version_id: int | None, filters: VideoFilter, sort: str = "id",
    offset: int = 0, limit: int = 24,
) -> tuple[list[BrowseRow], int]:
    """One page of videos matching the filters, and how many match in all."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    stmt, pred, label_venue = _browse_select(model_version_id)
    stmt = _apply(stmt, filters, pred, label_venue)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(Video.id).subquery())) or 0
    order = {
        "id": [Video.id],
        "newest": [Video.created_at.desc(), Video.id.desc()],
        "confidence_desc": [pred.confidence.desc(), Video.id],
        "confidence_asc": [pred.confidence.asc(), Video.id],
        "label": [label_venue.name, Video.id],
        "name": [Video.original_name, Video.id],
    }[sort]
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
    out = [
        BrowseRow(
            id=r[0], original_name=r[1], caption=r[2], path=r[3], duration=r[4], has_audio=r[5], label=r[6],
            label_venue_id=r[7], predicted=r[8], predicted_venue_id=r[9], confidence=r[10],
            correct=None if r[9] is None or r[7] is None else r[9] == r[7],
        )
        for r in rows
    ]
    return out, total


@dataclass(frozen=True)
class QueueRow:
    id: int
    original_name: str
    caption: str
    label: str | None
    version: int
    predicted: str
    confidence: float
    label_probability: float | None
    entropy: float


def review_queue(session: Session, *, model_version_id: int, limit: int = 50, offset: int = 0) -> list[QueueRow]:
    """Suspicious labels first (the model gives the current label the lowest probability while
    being confident elsewhere), then the most uncertain predictions."""
    label_venue, pred_venue = aliased(Venue), aliased(Venue)
    disagreement = Prediction.confidence - func.coalesce(Prediction.label_probability, 0.0)
    stmt = (
        select(Video.id, Video.original_name, Video.caption, label_venue.name, Video.version, pred_venue.name,
               Prediction.confidence, Prediction.label_probability, Prediction.entropy)
        .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
        .join(pred_venue, pred_venue.id == Prediction.venue_id)
        .outerjoin(label_venue, label_venue.id == Video.current_venue_id)
        .order_by(
            case((Prediction.venue_id != Video.current_venue_id, 0), else_=1),
            disagreement.desc(), Prediction.entropy.desc(), Video.id,
        )
        .offset(offset).limit(limit)
    )
    return [QueueRow(*r) for r in session.execute(stmt).all()]


def confident_mistakes(session: Session, *, model_version_id: int, limit: int = 24) -> list[BrowseRow]:
    """Wrong predictions, most confident first."""
    rows, _ = browse(session, model_version_id=model_version_id, filters=VideoFilter(correctness="wrong"),
                     sort="confidence_desc", limit=limit)
    return rows


@dataclass(frozen=True)
class ConfusedPair:
    true_venue_id: int
    true_venue: str
    predicted_venue_id: int
    predicted_venue: str
    count: int


def confused_pairs(session: Session, *, model_version_id: int, limit: int = 10) -> list[ConfusedPair]:
    """The (label, prediction) pairs the model mixes up most often."""
    true_v, pred_v = aliased(Venue), aliased(Venue)
    n = func.count(Video.id).label("n")
    stmt = (
        select(true_v.id, true_v.name, pred_v.id, pred_v.name, n)
        .select_from(Video)
        .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
        .join(true_v, true_v.id == Video.current_venue_id)
        .join(pred_v, pred_v.id == Prediction.venue_id)
        .where(Prediction.venue_id != Video.current_venue_id)
        .group_by(true_v.id, true_v.name, pred_v.id, pred_v.name)
        .order_by(n.desc(), true_v.name)
        .limit(limit)
    )
    return [ConfusedPair(*r) for r in session.execute(stmt).all()]


@dataclass(frozen=True)
class Flip:
    video_id: int
    original_name: str
    label: str | None
    before: str
    after: str


def prediction_flips(session: Session, *, model_a: int, model_b: int, limit: int = 200) -> list[Flip]:
    """Videos whose predicted venue differs between two model versions."""
    pa, pb = aliased(Prediction), aliased(Prediction)
    va, vb, lv = aliased(Venue), aliased(Venue), aliased(Venue)
    stmt = (
        select(Video.id, Video.original_name, lv.name, va.name, vb.name)
        .join(pa, and_(pa.video_id == Video.id, pa.model_version_id == model_a))
        .join(pb, and_(pb.video_id == Video.id, pb.model_version_id == model_b))
        .join(va, va.id == pa.venue_id)
        .join(vb, vb.id == pb.venue_id)
        .outerjoin(lv, lv.id == Video.current_venue_id)
        .where(pa.venue_id != pb.venue_id)
        .order_by(Video.id)
        .limit(limit)
    )
    return [Flip(*r) for r in session.execute(stmt).all()]


def has_predictions(session: Session, *, model_version_id: int) -> bool:
    stmt = select(func.count(Prediction.id)).where(Prediction.model_version_id == model_version_id)
    return bool(session.scalar(stmt))


# ---------------------------------------------------------------- small reads for the dashboard


def active_model_id(session: Session) -> int | None:
    """The id of the active model version (without loading its metrics), None when there is none."""
    return session.scalar(select(ModelVersion.id).where(ModelVersion.is_active.is_(True)))


def active_model_brief(session: Session) -> dict[str, object] | None:
    """Id, name and architecture of the active model version, None when there is none."""
    row = session.execute(
        select(ModelVersion.id, ModelVersion.name, ModelVersion.architecture).where(ModelVersion.is_active.is_(True))
    ).first()
    return {"id": row[0], "name": row[1], "architecture": row[2]} if row else None


def video_shas(session: Session, *, video_ids: list[int] | tuple[int, ...]) -> dict[int, str]:
    """sha256 of each of these videos, by id (ids that do not exist are left out)."""
    if not video_ids:
        return {}
    rows = session.execute(select(Video.id, Video.sha256).where(Video.id.in_(list(video_ids))))
    return {vid: sha for vid, sha in rows}


@dataclass(frozen=True)
class StoredPrediction:
    video_id: int
    venue_id: int
    venue: str
    confidence: float


def predictions_of(
    session: Session, *, model_version_id: int, video_ids: list[int] | tuple[int, ...]
) -> dict[int, StoredPrediction]:
    """The stored top prediction of one model version for each of these videos that has one."""
    if not video_ids:
        return {}
    stmt = (
        select(Prediction.video_id, Prediction.venue_id, Venue.name, Prediction.confidence)
        .join(Venue, Venue.id == Prediction.venue_id)
        .where(Prediction.model_version_id == model_version_id, Prediction.video_id.in_(list(video_ids)))
    )
    return {r[0]: StoredPrediction(*r) for r in session.execute(stmt).all()}


def mistakes_between(
    session: Session, *, model_version_id: int, true_venue: str, predicted_venue: str | None = None, limit: int = 5
) -> list[int]:
    """Ids of videos labelled `true_venue` that this model predicts wrongly (as `predicted_venue`
    when given), most confident first; venue names compare case-insensitively."""
    true_v, pred_v = aliased(Venue), aliased(Venue)
    stmt = (
        select(Video.id)
        .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
        .join(true_v, true_v.id == Video.current_venue_id)
        .join(pred_v, pred_v.id == Prediction.venue_id)
        .where(func.lower(true_v.name) == true_venue.lower(), Prediction.venue_id != Video.current_venue_id)
        .order_by(Prediction.confidence.desc(), Video.id)
        .limit(limit)
    )
    if predicted_venue:
        stmt = stmt.where(func.lower(pred_v.name) == predicted_venue.lower())
    return list(session.scalars(stmt))


def schema_ready(session: Session) -> bool:
    """Whether the database has been migrated (the videos table exists)."""
    return inspect(session.get_bind()).has_table("videos")
