"""Typed ORM models: the whole schema in one place. Types stay portable (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Labels written by these "annotators" come from data sources, not from a person.
SYSTEM_ANNOTATORS = ("demo", "ingest", "import", "upload")
# Where a venue row came from: the VENUE-188 seed, or a team's own category (`python -m app venues add`).
VENUE_SOURCES = ("venue188", "user")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Venue(Base):
    """A venue category: a Foursquare leaf of VENUE-188 (the default tree) or a team's own ('user')."""

    __tablename__ = "venues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    venue188_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    # 0009: a user category may sit under another venue (checked by db.repo.add_venue, not a declared foreign key:
    # see the migration) and VENUE_SOURCES names where a row came from.
    parent_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="venue188", server_default="venue188")


class Video(Base):
    """One micro-video file stored content-addressed under EASTERN_HOME/media."""

    __tablename__ = "videos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(400))  # relative to EASTERN_HOME
    original_name: Mapped[str] = mapped_column(String(400))
    duration: Mapped[float] = mapped_column(Float)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    has_audio: Mapped[bool] = mapped_column(Boolean)
    caption: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="ingest")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Denormalised current label (the last row of its history), kept by db.repo alone.
    current_venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    # Optimistic concurrency: every label write must name the version it read.
    version: Mapped[int] = mapped_column(Integer, default=0)
    features_version: Mapped[str | None] = mapped_column(String(80))
    features_error: Mapped[str | None] = mapped_column(Text)
    # The stable evaluation split ("train" | "test"), given once (core.splits) and never moved by a relabel.
    split: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_videos_current_venue", "current_venue_id"),
        Index("ix_videos_split_venue", "split", "current_venue_id"),
        Index("ix_videos_id_venue", "id", "current_venue_id"),  # covering: the queue's counts at 200k
        Index("ix_videos_created", "created_at"),
        Index("ix_videos_features_version", "features_version"),
        # SQLite only (0006): a caption search counts its matches over this narrow copy, not the wide rows; a
        # PostgreSQL B-tree would refuse a caption over ~2.7 kB, and ILIKE '%...%' does not use one there; there,
        # 0007 adds GIN trigram indexes on lower(caption) / lower(original_name) where pg_trgm may be created
        # (not declared here: they exist only where the extension does)
        Index("ix_videos_caption_name", "caption", "original_name").ddl_if(dialect="sqlite"),
    )


class Label(Base):
    """Append-only label history; the newest row per video is its current label."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    previous_venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    who: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_labels_video", "video_id", "id"),
        Index("ix_labels_who_video", "who", "video_id"),  # "corrected by a person" at 200k
    )


class ModelVersion(Base):
    """A trained model: its checkpoint file, config and metrics."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    architecture: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checkpoint_path: Mapped[str] = mapped_column(String(400))  # relative to EASTERN_HOME
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)


class Prediction(Base):
    """A model version's prediction for one video (top-k probabilities as JSON)."""

    __tablename__ = "predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    confidence: Mapped[float] = mapped_column(Float)
    # Probability the model gives the video's label at prediction time (for "suspicious" ordering).
    label_probability: Mapped[float | None] = mapped_column(Float)
    entropy: Mapped[float] = mapped_column(Float, default=0.0)
    topk: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[venue_id, prob], ...]
    # Out-of-distribution score (core/ood.py): 1.0 = as far from the training videos as the 99th percentile
    # of held-out training videos; above it the video is unlike the training data. None: not scored.
    ood_score: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("video_id", "model_version_id", name="uq_prediction_video_model"),
        Index("ix_predictions_model_venue", "model_version_id", "venue_id"),
        Index("ix_predictions_model_conf", "model_version_id", "confidence"),
        Index("ix_predictions_model_ood", "model_version_id", "ood_score"),
    )


class AppMeta(Base):
    """Settings the database itself must keep (the split salt): key -> text."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PredictionSet(Base):
    """Out-of-sample probabilities of a cross-validation: every labelled video scored by the fold model that did
    not see it, tied to the label snapshot it used (labels are append-only, so the newest label id names it)."""

    __tablename__ = "prediction_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="crossval")
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed|cancelled
    architecture: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # folds, epochs, seed, ...
    features_version: Mapped[str] = mapped_column(String(80))
    venue_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # class index -> venue id
    label_snapshot_id: Mapped[int] = mapped_column(Integer, default=0)  # newest labels.id it used
    label_snapshot_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    n_videos: Mapped[int] = mapped_column(Integer, default=0)
    folds_done: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_issues: Mapped[int | None] = mapped_column(Integer)  # cleanlab's estimate of wrong labels
    artifact_dir: Mapped[str] = mapped_column(String(400), default="")  # relative to EASTERN_HOME
    job_id: Mapped[int | None] = mapped_column(ForeignKey("training_jobs.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OosPrediction(Base):
    """One video's out-of-sample prediction in a set, with its cleanlab label-quality score."""

    __tablename__ = "oos_predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("prediction_sets.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    fold: Mapped[int] = mapped_column(Integer)
    label_venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))  # the label at the snapshot
    label_probability: Mapped[float] = mapped_column(Float)
    suggested_venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    suggested_probability: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)  # cleanlab.rank.get_label_quality_scores, low = suspicious
    is_issue: Mapped[bool] = mapped_column(Boolean, default=False)  # cleanlab.filter.find_label_issues
    topk: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[venue_id, prob], ...]

    __table_args__ = (
        UniqueConstraint("set_id", "video_id", name="uq_oos_set_video"),
        Index("ix_oos_set_quality", "set_id", "quality"),
        Index("ix_oos_video", "video_id"),
        # covering for issue_counts and the label-issue filter; ordered walk for the failure gallery (docs/scale.md)
        Index("ix_oos_set_video_label", "set_id", "video_id", "label_venue_id", "suggested_venue_id", "is_issue"),
        Index("ix_oos_set_suggested_prob", "set_id", "suggested_probability"),
        Index("ix_oos_set_pair", "set_id", "label_venue_id", "suggested_venue_id", "is_issue"),  # 0006: pairs
    )


class TrainingJob(Base):
    """A background training run: its worker process owns the row and reports into it."""

    __tablename__ = "training_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed|cancelled
    kind: Mapped[str] = mapped_column(String(20), default="train", server_default="train")  # train|crossval
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)  # per-epoch dicts
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(80), default="")


class User(Base):
    """An account: who signs in to the dashboard and the CLI, with one role (db.accounts.ROLES)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer | annotator | admin
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; None: OIDC sign-in only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_count: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed sign-ins
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # sign-in refused before
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # failures expire after a while


class AuditEvent(Base):
    """Append-only log of security-relevant actions (sign-ins, account changes, retrain, promote, ...)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_action", "action", "at"))


class VideoTriage(Base):
    """A video's triage flags (dead modalities, core/features/triage.py) as ",flag,flag," so SQL can filter with
    LIKE; no row: not computed yet (app.services.triage fills it after feature extraction)."""

    __tablename__ = "video_triage"
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    flags: Mapped[str] = mapped_column(String(200), default=",")
    measures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmbeddingRun(Base):
    """A model version's embeddings (core/embeddings.py) of every video with features: the vectors, their 2-D
    layouts and nearest-neighbour indexes, files under `artifact_dir`; `stages_done` names the files finished, so
    a killed run resumes. One per (model version, feature version, recipe version)."""

    __tablename__ = "embedding_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    features_version: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(20))  # core.embeddings.VERSION
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done|failed|cancelled
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stages_done: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_videos: Mapped[int] = mapped_column(Integer, default=0)
    artifact_dir: Mapped[str] = mapped_column(String(400), default="")  # relative to EASTERN_HOME
    job_id: Mapped[int | None] = mapped_column(ForeignKey("training_jobs.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_embedding_runs_model", "model_version_id", "features_version", "version"),)


class DataIssue(Base):
    """One video's score for one kind of data issue (cleanlab Datalab on a run's joint embeddings)."""

    __tablename__ = "data_issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("embedding_runs.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))  # near_duplicate | outlier | non_iid
    score: Mapped[float] = mapped_column(Float)  # cleanlab's quality score: low = more of an issue
    is_issue: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)  # near duplicates: the closest other video

    __table_args__ = (
        UniqueConstraint("run_id", "video_id", "type", name="uq_data_issue"),
        Index("ix_data_issues_run_type", "run_id", "type", "is_issue", "video_id"),
    )


class SavedSelection(Base):
    """A named set of videos (a lasso on the Map, kept): Browse and Annotate filter on it."""

    __tablename__ = "saved_selections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    owner: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SavedSelectionVideo(Base):
    __tablename__ = "saved_selection_videos"
    selection_id: Mapped[int] = mapped_column(ForeignKey("saved_selections.id", ondelete="CASCADE"),
                                              primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
