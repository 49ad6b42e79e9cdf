"""Bulk relabel (Browse's table view): one venue and one reason for several videos, each through
app.services.annotate.relabel, so every video gets its own conflict check and its own history row."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.context import AppContext
from app.services import annotate
from db import maps, repo
from db.session import session_scope


@dataclass(frozen=True)
class BulkResult:
    venue: str
    saved: list[int] = field(default_factory=list)  # video ids relabelled
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (video id, who changed it meanwhile, to what)


def label_versions(ctx: AppContext, video_ids: list[int]) -> dict[int, int]:
    """Each video's label version now (what a page shows, to check against at save time); one query per 900
    videos (a lasso on the map holds thousands). repo.UnknownVideo for an id that names no video."""
    with session_scope(ctx.engine) as session:
        found = maps.label_versions(session, video_ids=video_ids)
    missing = [v for v in video_ids if v not in found]
    if missing:
        raise repo.UnknownVideo(missing[0])
    return {v: found[v] for v in video_ids}


def relabel_many(ctx: AppContext, *, shown_versions: dict[int, int], venue: str, who: str,
                 reason: str = "") -> BulkResult:
    """Set `venue` on every video, each checked against the version the user was shown. A video someone else
    changed meanwhile is left as it is and reported; the others are saved. Raises repo.UnknownVenue (nothing
    saved) for a venue that does not exist and RepoError without an account."""
    with session_scope(ctx.engine) as session:
        repo.venue_id(session, name=venue)  # an unknown venue refuses the whole batch, before any write
    result = BulkResult(venue)
    for video_id, version in shown_versions.items():
        try:
            annotate.relabel(ctx, video_id=video_id, venue=venue, who=who, reason=reason, expected_version=version)
        except repo.LabelConflict as exc:
            current = exc.current
            result.conflicts.append((video_id, f"{current.who} set it to {current.venue_name}" if current
                                     else "it was changed"))
        else:
            result.saved.append(video_id)
    return result
