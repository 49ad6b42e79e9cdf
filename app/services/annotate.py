"""Label corrections: relabel with a conflict check, undo, history, and the review queue."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.context import AppContext
from db import queries, repo
from db.session import session_scope


def relabel(
    ctx: AppContext, *, video_id: int, venue: str, who: str, reason: str = "", expected_version: int | None
) -> dict[str, Any]:
    """Set a video's venue by name. Raises UnknownVenue for a category that does not exist and
    LabelConflict when someone else saved a label since `expected_version` was read."""
    who = who.strip()
    if not who:
        raise repo.RepoError("an annotator name is required")
    with session_scope(ctx.engine) as session:
        venue_id = repo.venue_id(session, name=venue)
        version = repo.set_label(session, video_id=video_id, venue_id=venue_id, who=who, reason=reason.strip(),
                                 expected_version=expected_version)
    return {"video_id": video_id, "venue": venue, "version": version}


def undo(ctx: AppContext, *, video_id: int, who: str, expected_version: int | None) -> dict[str, Any]:
    """Return to the label before the newest change (appended, so history keeps both)."""
    with session_scope(ctx.engine) as session:
        version = repo.undo_last_label(session, video_id=video_id, who=who, expected_version=expected_version)
        current = repo.get_video(session, video_id=video_id).current_venue
    return {"video_id": video_id, "venue": current, "version": version}


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
