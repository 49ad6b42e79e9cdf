"""Reads for the queue of unlabelled videos: which have features, their file names, a model's stored top-k."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Prediction, Video

BATCH = 900  # ids per IN (...) list, under SQLite's variable limit


@dataclass(frozen=True)
class FeaturedVideo:
    """A video with features of one version: its id, content address and current venue (None: unlabelled)."""

    video_id: int
    sha256: str
    venue_id: int | None


def featured_videos(session: Session, *, features_version: str) -> list[FeaturedVideo]:
    """Every video with features of this version, labelled or not, by id."""
    rows = session.execute(
        select(Video.id, Video.sha256, Video.current_venue_id)
        .where(Video.features_version == features_version).order_by(Video.id)
    ).all()
    return [FeaturedVideo(i, s, v) for i, s, v in rows]


def file_names(session: Session, *, video_ids: Sequence[int]) -> dict[int, str]:
    """The uploaded file name of each of these videos."""
    out: dict[int, str] = {}
    ids = list(video_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        rows = session.execute(select(Video.id, Video.original_name).where(Video.id.in_(chunk))).tuples()
        out.update(dict(rows.all()))
    return out


def stored_topk(session: Session, *, model_version_id: int) -> dict[int, list[list[float]]]:
    """A model version's stored top-k `[[venue_id, p], ...]` per video id."""
    rows = session.execute(
        select(Prediction.video_id, Prediction.topk).where(Prediction.model_version_id == model_version_id)
    ).tuples()
    return {vid: topk for vid, topk in rows.all()}
