"""Label corrections: relabel with a conflict check, undo, history, and the review queue."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from app.context import AppContext
from db import queries, repo
from db.session import session_scope


@dataclass(frozen=True)
class LabelSaved:
    """A label change stored: the video, its venue now and its new version (for the next conflict check)."""

    video_id: int
    venue: str | None
    version: int


def relabel(
    ctx: AppContext, *, video_id: int, venue: str, who: str, reason: str = "", expected_version: int | None
) -> LabelSaved:
    """Set a video's venue by name, as the account `who` (it must be enabled and allowed to label: PermissionDenied
    otherwise). Raises UnknownVenue for a category that does not exist and LabelConflict when someone else saved
    a label since `expected_version` was read."""
    from app.services.accounts import require

    who = require(ctx, name=who.strip(), action="label").name  # an enabled account that may label, never a typed name
    with session_scope(ctx.engine) as session:
        venue_id = repo.venue_id(session, name=venue)
        version = repo.set_label(session, video_id=video_id, venue_id=venue_id, who=who, reason=reason.strip(),
                                 expected_version=expected_version)
    return LabelSaved(video_id=video_id, venue=venue, version=version)


def undo(ctx: AppContext, *, video_id: int, who: str, expected_version: int | None) -> LabelSaved:
    """Return to the label before the newest change (appended, so history keeps both)."""
    from app.services.accounts import require

    who = require(ctx, name=who.strip(), action="label").name
    with session_scope(ctx.engine) as session:
        version = repo.undo_last_label(session, video_id=video_id, who=who, expected_version=expected_version)
        current = repo.get_video(session, video_id=video_id).current_venue
    return LabelSaved(video_id=video_id, venue=current, version=version)


def history(ctx: AppContext, *, video_id: int) -> list[dict[str, Any]]:
    with session_scope(ctx.engine) as session:
        return [asdict(r) for r in repo.label_history(session, video_id=video_id)]


def review_queue(ctx: AppContext, *, limit: int = 50, offset: int = 0) -> list[queries.QueueRow]:
    """Videos to review: strongest model disagreement with the label first, then uncertainty."""
    with session_scope(ctx.engine) as session:
        active = repo.active_model(session)
        if active is None:
            return []
        return queries.review_queue(session, model_version_id=active.id, limit=limit, offset=offset)


# ---------------------------------------------------------------- the label-issue queue


@dataclass(frozen=True)
class QueueSource:
    """Which predictions rank the queue, and how far to trust them."""

    kind: str  # "crossval" (out-of-fold + cleanlab) | "test_split" (the active model on its test videos) | "none"
    name: str  # names the prediction set used: "crossval set 3" / "model 7 test split"
    description: str  # one sentence for the page
    set_id: int | None = None
    model_id: int | None = None
    stale_labels: int = 0  # labels changed since the set's snapshot
    n_scored: int = 0
    n_issues: int = 0  # cleanlab's count of likely wrong labels (among those not relabelled since)
    running: repo.PredictionSetRow | None = None  # a cross-validation in progress


def _age(at: datetime) -> str:
    """How long ago, in words a person reads at a glance ("just now", "12 min ago", "3 h ago", "2 days ago")."""
    seconds = (datetime.now(UTC) - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def queue_source(ctx: AppContext) -> QueueSource:
    """The newest finished out-of-sample set of the current features; else the active model's test split."""
    from app.services import features as feature_service

    version = feature_service.feature_version(ctx.settings)
    with session_scope(ctx.engine) as session:
        done = repo.latest_prediction_set(session, features_version=version)
        running = repo.latest_prediction_set(session, features_version=version, status="running")
        if running is not None and done is not None and running.id < done.id:
            running = None
        if done is not None:
            stale = repo.count_relabelled_since(session, label_id=done.label_snapshot_id)
            scored, flagged = queries.issue_counts(session, set_id=done.id)
            when = (f"{done.label_snapshot_at.strftime('%Y-%m-%d %H:%M')} UTC, {_age(done.label_snapshot_at)}"
                    if done.label_snapshot_at else "?")
            text = (f"Out-of-fold probabilities of {done.name} (set {done.id}, labels as of {when}), ranked by "
                    "cleanlab's label quality: every video was scored by a model that never saw it.")
            return QueueSource("crossval", f"crossval set {done.id}", text, set_id=done.id, stale_labels=stale,
                               n_scored=scored, n_issues=flagged, running=running)
        active = repo.active_model(session)
    if active is None:
        return QueueSource("none", "none", "No model and no cross-validation yet.", running=running)
    split = active.config.get("split", {})
    n_test = len(split.get("test", []))
    text = (f"No out-of-sample set for the current labels yet: ranking the active model {active.name!r} on its "
            f"{n_test} test videos only (it never trained on them). Run a cross-validation to rank every video.")
    return QueueSource("test_split", f"model {active.id} test split", text, model_id=active.id, n_scored=n_test,
                       running=running)


def issue_queue(ctx: AppContext, *, limit: int = 50, offset: int = 0, source: QueueSource | None = None,
                selection_id: int | None = None) -> tuple[QueueSource, list[queries.IssueRow]]:
    """The queue of labels to review, most suspicious first, with the source that ranked it (only the videos of a
    saved selection, when given). Never in-sample: predictions on a model's own training videos are not
    suspicion."""
    source = source or queue_source(ctx)
    with session_scope(ctx.engine) as session:
        if source.kind == "crossval":
            rows = queries.issue_queue(session, set_id=source.set_id, limit=limit, offset=offset,
                                       selection_id=selection_id)
        elif source.kind == "test_split":
            model = repo.get_model_version(session, model_id=source.model_id)
            split = model.config.get("split", {}) if model else {}
            ids = None if split.get("kind") == "stable" else tuple(split.get("test", []))
            rows = queries.test_split_queue(session, model_version_id=source.model_id, limit=limit, offset=offset,
                                            test_video_ids=ids, selection_id=selection_id)
        else:
            rows = []
    return source, rows


def suggestions(ctx: AppContext, source: QueueSource, video_id: int, k: int = 3) -> list[tuple[str, float]]:
    """The top-k venues for a video from the source that ranked the queue (out-of-fold probabilities, or the
    active model), as (venue, probability)."""
    with session_scope(ctx.engine) as session:
        names = repo.venue_names(session)
        if source.kind == "crossval" and source.set_id is not None:
            row = queries.oos_prediction_of(session, set_id=source.set_id, video_id=video_id)
            if row is not None:
                return [(names[v], float(p)) for v, p in row["topk"][:k]]
        for pred in repo.predictions_for_video(session, video_id=video_id):
            if source.model_id is None or pred.model_version_id == source.model_id:
                return [(names[v], float(p)) for v, p in pred.topk[:k]]
    return []


def crossval_jobs(ctx: AppContext, *, limit: int = 5) -> list:  # list[app.services.jobs.JobView]
    """The newest cross-validation jobs, newest first, as they are now (reads only)."""
    from app.services import jobs

    return jobs.list_jobs(ctx, kind="crossval", limit=limit)
