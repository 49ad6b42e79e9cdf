"""Triage flags of videos (table video_triage): which videos lack them, store them, read them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from db.models import Video, VideoTriage


@dataclass(frozen=True)
class Pending:
    id: int
    path: str  # relative to EASTERN_HOME
    caption: str


def missing(session: Session, *, version: str) -> list[Pending]:
    """Videos without triage flags of this rule version."""
    stmt = (select(Video.id, Video.path, Video.caption)
            .outerjoin(VideoTriage, and_(VideoTriage.video_id == Video.id, VideoTriage.version == version))
            .where(VideoTriage.video_id.is_(None)).order_by(Video.id))
    return [Pending(*r) for r in session.execute(stmt).all()]


def put(session: Session, *, video_id: int, flags: Iterable[str], measures: dict[str, Any], version: str) -> None:
    """Store (replace) one video's flags."""
    session.execute(delete(VideoTriage).where(VideoTriage.video_id == video_id))
    session.add(VideoTriage(video_id=video_id, flags="," + "".join(f"{f}," for f in flags), measures=measures,
                            version=version))


def flags_of(session: Session, *, video_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Each video's flags (videos not computed yet are absent)."""
    ids = list(video_ids)
    if not ids:
        return {}
    rows = session.execute(select(VideoTriage.video_id, VideoTriage.flags).where(VideoTriage.video_id.in_(ids)))
    return {int(v): tuple(f for f in flags.split(",") if f) for v, flags in rows}
