"""Read queries for the dashboard: filtering, sorting and paging done in SQL, never in pandas."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased

from db.models import (
    SYSTEM_ANNOTATORS,
    DataIssue,
    Label,
    OosPrediction,
    Prediction,
    PredictionSet,
    SavedSelectionVideo,
    Venue,
    Video,
    VideoTriage,
)
from db.repo import relabelled_after

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
    label_issue_set_id: int | None = None  # only videos this out-of-sample set flags as likely wrong labels
    split: str | None = None  # "train" | "test": the stable split
    triage_flags: tuple[str, ...] = ()  # videos with any of these triage flags (core/features/triage.FLAGS)
    unlike_training: bool = False  # only videos the model scores out of distribution (predictions.ood_score > 1)
    data_issue: tuple[int, str] | None = None  # (embedding run, type): videos that run flags with that data issue
    selection_id: int | None = None  # only the videos of this saved selection


def contains_lower(dialect: str, column, pattern: str):  # noqa: ANN001, ANN201 - SQL expressions
    """`lower(column) LIKE pattern` for a lower-case pattern; in SQLite `column LIKE pattern`: the same matches
    (SQLite's LIKE ignores ASCII case, and its lower() folds ASCII only) without a lower() call per row, which
    was half the cost of counting a caption search at 200k videos (docs/scale.md)."""
    return column.like(pattern) if dialect == "sqlite" else func.lower(column).like(pattern)


OOD_THRESHOLD = 1.0  # predictions.ood_score is scaled so that the flag threshold (core/ood.py) is 1.0


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


def _apply(stmt, f: VideoFilter, pred, label_venue, dialect: str):  # noqa: ANN001, ANN202
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
    if f.unlike_training:  # ix_predictions_model_ood: a range of one model's scores
        stmt = stmt.where(pred.ood_score > OOD_THRESHOLD)
    if f.has_audio is not None:
        stmt = stmt.where(Video.has_audio.is_(f.has_audio))
    if f.has_caption is not None:
        stmt = stmt.where((Video.caption != "") if f.has_caption else (Video.caption == ""))
    if f.annotated is not None:
        human = exists().where(Label.video_id == Video.id, Label.who.not_in(SYSTEM_ANNOTATORS))
        stmt = stmt.where(human if f.annotated else ~human)
    if f.text.strip():
        needle = f"%{f.text.strip().lower()}%"
        stmt = stmt.where(contains_lower(dialect, Video.caption, needle)
                          | contains_lower(dialect, Video.original_name, needle))
    if f.video_ids:
        stmt = stmt.where(Video.id.in_(f.video_ids))
    if f.label_issue_set_id is not None:
        o = OosPrediction
        flagged = exists().where(o.set_id == f.label_issue_set_id, o.video_id == Video.id, o.is_issue.is_(True),
                                 o.label_venue_id == Video.current_venue_id)
        stmt = stmt.where(flagged)
    if f.split is not None:
        stmt = stmt.where(Video.split == f.split)
    if f.triage_flags:
        t = VideoTriage
        stmt = stmt.where(exists().where(t.video_id == Video.id, or_(*[t.flags.like(f"%,{flag},%")
                                                                      for flag in f.triage_flags])))
    if f.data_issue is not None:
        d = DataIssue
        run_id, kind = f.data_issue
        stmt = stmt.where(exists().where(d.run_id == run_id, d.type == kind, d.is_issue.is_(True),
                                         d.video_id == Video.id))
    if f.selection_id is not None:
        s = SavedSelectionVideo
        stmt = stmt.where(exists().where(s.selection_id == f.selection_id, s.video_id == Video.id))
    return stmt


def browse(
    session: Session, *, model_version_id: int | None, filters: VideoFilter, sort: str = "id",
    offset: int = 0, limit: int = 24,
) -> tuple[list[BrowseRow], int]:
    """One page of videos matching the filters, and how many match in all."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    stmt, pred, label_venue = _browse_select(model_version_id)
    dialect = session.get_bind().dialect.name
    stmt = _apply(stmt, filters, pred, label_venue, dialect)
    f = filters
    if (f.predicted_venue_ids or f.correctness != "any" or f.min_confidence > 0.0 or f.max_confidence < 1.0
            or f.unlike_training):
        total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(Video.id).subquery())) or 0
    else:  # no filter reads the prediction: count videos alone, without the outer joins (docs/scale.md)
        # count(*), not count(id): unfiltered, SQLite counts the b-tree's cells (1 ms, not 20, at 200k)
        total = session.scalar(_apply(select(func.count()).select_from(Video), f, pred, label_venue, dialect)) or 0
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


@dataclass(frozen=True)
class IssueRow:
    """One video of the label-issue queue: why it is there, from out-of-sample (or test-split) predictions."""

    id: int
    original_name: str
    caption: str
    label: str | None  # current label
    version: int
    suggested: str  # the out-of-sample prediction's top venue
    suggested_probability: float
    label_probability: float  # out-of-sample probability of the label being ranked
    score: float  # label quality (cleanlab) or self-confidence (test-split fallback): low = suspicious
    is_issue: bool  # cleanlab.filter.find_label_issues flags it (always False in the fallback)
    split: str | None


def _issue_select(set_id: int):  # noqa: ANN202 - a Select of IssueRow columns
    """A set's queue rows (labels unchanged since its snapshot: a relabelled video's ranked label is gone),
    lowest label quality first."""
    label_venue, sug_venue = aliased(Venue), aliased(Venue)
    o = OosPrediction
    return (
        select(Video.id, Video.original_name, Video.caption, label_venue.name, Video.version, sug_venue.name,
               o.suggested_probability, o.label_probability, o.quality, o.is_issue, Video.split)
        .join(o, and_(o.video_id == Video.id, o.set_id == set_id))
        .join(sug_venue, sug_venue.id == o.suggested_venue_id)
        .join(label_venue, label_venue.id == Video.current_venue_id)
        .where(o.label_venue_id == Video.current_venue_id)
        .order_by(o.quality, Video.id)
    )


def _in_selection(stmt, selection_id: int | None):  # noqa: ANN001, ANN202 - a Select
    """Only the videos of a saved selection (unchanged without one)."""
    if selection_id is None:
        return stmt
    s = SavedSelectionVideo
    return stmt.where(exists().where(s.selection_id == selection_id, s.video_id == Video.id))


def issue_queue(session: Session, *, set_id: int, limit: int = 50, offset: int = 0,
                issues_only: bool = False, selection_id: int | None = None) -> list[IssueRow]:
    """One page of a set's queue, by cleanlab label quality, lowest first (of a saved selection's videos)."""
    stmt = _in_selection(_issue_select(set_id), selection_id).offset(offset).limit(limit)
    if issues_only:
        stmt = stmt.where(OosPrediction.is_issue.is_(True))
    return [IssueRow(*r) for r in session.execute(stmt).all()]


def _relabelled(set_id: int):  # noqa: ANN202 - a Select of (label_venue_id, suggested_venue_id, is_issue)
    """A set's rows whose video's label is no longer the one the set ranked.

    Only videos with a label row newer than the set's snapshot can be among them: labels are append-only and
    every change of videos.current_venue_id appends one (repo.set_label). So the set's other rows are counted
    from oos_predictions alone and only these few are joined to videos: at 200k videos the join of every row
    was most of the Annotate and Failure-cases pages (docs/scale.md)."""
    o = OosPrediction
    snapshot = select(func.coalesce(PredictionSet.label_snapshot_id, 0)).where(PredictionSet.id == set_id)
    relabelled = relabelled_after(snapshot.scalar_subquery())
    return (select(o.label_venue_id, o.suggested_venue_id, o.is_issue)
            .join(Video, Video.id == o.video_id)
            .where(o.set_id == set_id, o.video_id.in_(relabelled),
                   Video.current_venue_id.is_distinct_from(o.label_venue_id)))


def issue_counts(session: Session, *, set_id: int) -> tuple[int, int]:
    """(videos scored, flagged as likely wrong) in a set, counting only labels unchanged since its snapshot."""
    o = OosPrediction
    every = select(func.count(o.id), func.coalesce(func.sum(case((o.is_issue.is_(True), 1), else_=0)), 0))
    scored, flagged = session.execute(every.where(o.set_id == set_id)).one()
    gone = [bool(issue) for _label, _suggested, issue in session.execute(_relabelled(set_id)).all()]
    return int(scored or 0) - len(gone), int(flagged or 0) - sum(gone)


def test_split_queue(session: Session, *, model_version_id: int, limit: int = 50, offset: int = 0,
                     test_video_ids: tuple[int, ...] | None = None, selection_id: int | None = None
                     ) -> list[IssueRow]:
    """The fallback queue: the model's predictions on its test videos only (videos it never trained on), by the
    probability it gives the current label, lowest first. With `test_video_ids` (a model trained before the
    stable split), those videos; otherwise the stable split's test videos."""
    label_venue, pred_venue = aliased(Venue), aliased(Venue)
    label_p = func.coalesce(Prediction.label_probability, 0.0)
    stmt = (
        select(Video.id, Video.original_name, Video.caption, label_venue.name, Video.version, pred_venue.name,
               Prediction.confidence, label_p, label_p, False, Video.split)
        .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
        .join(pred_venue, pred_venue.id == Prediction.venue_id)
        .join(label_venue, label_venue.id == Video.current_venue_id)
        .order_by(label_p, Video.id)
        .offset(offset).limit(limit)
    )
    stmt = stmt.where(Video.id.in_(test_video_ids)) if test_video_ids is not None else stmt.where(Video.split == "test")
    stmt = _in_selection(stmt, selection_id)
    return [IssueRow(*r[:9], bool(r[9]), r[10]) for r in session.execute(stmt).all()]


def oos_prediction_of(session: Session, *, set_id: int, video_id: int) -> dict[str, object] | None:
    """A video's row in a prediction set (label then, suggestion, score, top-5 as [venue id, p])."""
    o = OosPrediction
    row = session.execute(select(o).where(o.set_id == set_id, o.video_id == video_id)).scalar_one_or_none()
    if row is None:
        return None
    return {"fold": row.fold, "label_venue_id": row.label_venue_id, "label_probability": row.label_probability,
            "suggested_venue_id": row.suggested_venue_id, "suggested_probability": row.suggested_probability,
            "quality": row.quality, "is_issue": row.is_issue, "topk": list(row.topk)}


def confident_mistakes(session: Session, *, model_version_id: int, limit: int = 24,
                       split: str | None = None) -> list[BrowseRow]:
    """Wrong predictions, most confident first (of one stable split when given)."""
    rows, _ = browse(session, model_version_id=model_version_id, filters=VideoFilter(correctness="wrong", split=split),
                     sort="confidence_desc", limit=limit)
    return rows


@dataclass(frozen=True)
class ConfusedPair:
    true_venue_id: int
    true_venue: str
    predicted_venue_id: int
    predicted_venue: str
    count: int


def confused_pairs(session: Session, *, model_version_id: int, limit: int = 10,
                   split: str | None = None) -> list[ConfusedPair]:
    """The (label, prediction) pairs the model mixes up most often (in one stable split when given): grouped by
    venue ids over videos and predictions alone, the names joined to the grouped pairs only."""
    grouped = (
        select(Video.current_venue_id.label("true_id"), Prediction.venue_id.label("pred_id"),
               func.count(Video.id).label("n"))
        .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
        .where(Prediction.venue_id != Video.current_venue_id)
        .group_by(Video.current_venue_id, Prediction.venue_id)
    )
    if split is not None:
        grouped = grouped.where(Video.split == split)
    return _named_pairs(session, grouped.subquery(), limit)


def _named_pairs(session: Session, grouped, limit: int) -> list[ConfusedPair]:  # noqa: ANN001 - a Subquery
    """The `limit` largest (true_id, pred_id, n) groups with their venue names, most frequent first (ties by the
    true venue's name, then the predicted one's)."""
    true_v, pred_v = aliased(Venue), aliased(Venue)
    stmt = (
        select(true_v.id, true_v.name, pred_v.id, pred_v.name, grouped.c.n)
        .join(true_v, true_v.id == grouped.c.true_id)
        .join(pred_v, pred_v.id == grouped.c.pred_id)
        .order_by(grouped.c.n.desc(), true_v.name, pred_v.name)
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


# ---------------------------------------------------------------- comparisons on the stable test split


def test_split_labels(session: Session) -> dict[int, int]:
    """video id -> current venue id of every labelled video in the stable test split."""
    stmt = select(Video.id, Video.current_venue_id).where(Video.split == "test", Video.current_venue_id.is_not(None))
    return {k: v for k, v in session.execute(stmt.order_by(Video.id)).tuples()}


def test_split_predictions(session: Session, *, model_version_id: int) -> dict[int, int]:
    """video id -> predicted venue id of a model version, for the stable test split's videos."""
    stmt = (select(Prediction.video_id, Prediction.venue_id)
            .join(Video, Video.id == Prediction.video_id)
            .where(Prediction.model_version_id == model_version_id, Video.split == "test"))
    return {k: v for k, v in session.execute(stmt).tuples()}


# ---------------------------------------------------------------- exports (streamed, never a whole table in memory)


def iter_label_manifest(session: Session, *, batch: int = 2000) -> Iterator[tuple]:
    """(video id, original name, caption, venue name or None, sha256, path, split, version) of every video, by id."""
    stmt = (select(Video.id, Video.original_name, Video.caption, Venue.name, Video.sha256, Video.path, Video.split,
                   Video.version)
            .outerjoin(Venue, Venue.id == Video.current_venue_id).order_by(Video.id)
            .execution_options(yield_per=batch))
    yield from session.execute(stmt).tuples()


def iter_label_history(session: Session, *, batch: int = 2000) -> Iterator[tuple]:
    """(label id, video id, original name, sha256, venue, previous venue, who, reason, created_at), oldest first."""
    new, old = aliased(Venue), aliased(Venue)
    stmt = (select(Label.id, Label.video_id, Video.original_name, Video.sha256, new.name, old.name, Label.who,
                   Label.reason, Label.created_at)
            .join(Video, Video.id == Label.video_id).join(new, new.id == Label.venue_id)
            .outerjoin(old, old.id == Label.previous_venue_id).order_by(Label.id)
            .execution_options(yield_per=batch))
    yield from session.execute(stmt).tuples()


def iter_predictions(session: Session, *, model_version_id: int, batch: int = 2000) -> Iterator[tuple]:
    """(video id, original name, label, predicted, confidence, label probability, entropy, topk, split), by id."""
    label_venue, pred_venue = aliased(Venue), aliased(Venue)
    stmt = (select(Video.id, Video.original_name, label_venue.name, pred_venue.name, Prediction.confidence,
                   Prediction.label_probability, Prediction.entropy, Prediction.topk, Video.split)
            .join(Prediction, and_(Prediction.video_id == Video.id, Prediction.model_version_id == model_version_id))
            .join(pred_venue, pred_venue.id == Prediction.venue_id)
            .outerjoin(label_venue, label_venue.id == Video.current_venue_id)
            .order_by(Video.id).execution_options(yield_per=batch))
    yield from session.execute(stmt).tuples()


def iter_issue_rows(session: Session, *, set_id: int, batch: int = 2000) -> Iterator[IssueRow]:
    """Every row of a set's queue, lowest label quality first, streamed."""
    for r in session.execute(_issue_select(set_id).execution_options(yield_per=batch)).tuples():
        yield IssueRow(*r)


# ---------------------------------------------------------------- failure cases, out of sample


def _oos_browse_select(set_id: int):  # noqa: ANN202 - a Select
    label_venue, sug_venue = aliased(Venue), aliased(Venue)
    o = OosPrediction
    stmt = (
        select(Video.id, Video.original_name, Video.caption, Video.path, Video.duration, Video.has_audio,
               label_venue.name, Video.current_venue_id, sug_venue.name, o.suggested_venue_id, o.suggested_probability)
        .join(o, and_(o.video_id == Video.id, o.set_id == set_id))
        .join(label_venue, label_venue.id == Video.current_venue_id)
        .join(sug_venue, sug_venue.id == o.suggested_venue_id)
        .where(o.label_venue_id == Video.current_venue_id, o.suggested_venue_id != Video.current_venue_id)
    )
    return stmt, o


def _browse_rows(rows: list) -> list[BrowseRow]:
    return [BrowseRow(id=r[0], original_name=r[1], caption=r[2], path=r[3], duration=r[4], has_audio=r[5],
                      label=r[6], label_venue_id=r[7], predicted=r[8], predicted_venue_id=r[9], confidence=r[10],
                      correct=False) for r in rows]


def oos_mistakes(session: Session, *, set_id: int, limit: int = 24, true_venue_id: int | None = None,
                 predicted_venue_id: int | None = None) -> list[BrowseRow]:
    """Out-of-sample mistakes of a set (labels unchanged since its snapshot), most confident first."""
    stmt, o = _oos_browse_select(set_id)
    if true_venue_id is not None:
        stmt = stmt.where(Video.current_venue_id == true_venue_id)
    if predicted_venue_id is not None:
        stmt = stmt.where(o.suggested_venue_id == predicted_venue_id)
    return _browse_rows(session.execute(stmt.order_by(o.suggested_probability.desc(), Video.id).limit(limit)).all())


def oos_confused_pairs(session: Session, *, set_id: int, limit: int = 10) -> list[ConfusedPair]:
    """The (label, out-of-sample prediction) pairs a set mixes up most often, counting only labels unchanged
    since its snapshot (as issue_counts): grouped by venue ids over oos_predictions alone (the index
    ix_oos_set_pair holds them in group order), less the rows of relabelled videos, then the names of the
    pairs shown."""
    o = OosPrediction
    every = (select(o.label_venue_id.label("true_id"), o.suggested_venue_id.label("pred_id"),
                    func.count(o.id).label("n"))
             .where(o.set_id == set_id, o.suggested_venue_id != o.label_venue_id)
             .group_by(o.label_venue_id, o.suggested_venue_id)).subquery()
    stale = _relabelled(set_id).where(o.suggested_venue_id != o.label_venue_id).subquery()
    gone = (select(stale.c.label_venue_id.label("true_id"), stale.c.suggested_venue_id.label("pred_id"),
                   func.count().label("n"))
            .group_by(stale.c.label_venue_id, stale.c.suggested_venue_id)).subquery()
    n = every.c.n - func.coalesce(gone.c.n, 0)
    kept = (select(every.c.true_id, every.c.pred_id, n.label("n"))
            .outerjoin(gone, and_(gone.c.true_id == every.c.true_id, gone.c.pred_id == every.c.pred_id))
            .where(n > 0)).subquery()
    return _named_pairs(session, kept, limit)
