"""Data issues beyond labels: cleanlab's Datalab on an embedding run's joint vectors finds near duplicates (the
same clip re-encoded or uploaded twice), outliers and non-iid ordering (videos in ingest order that drift).

Stored with the run (table data_issues: one score per video and type, low = more of an issue, and for near
duplicates the closest other video). Those three checks read the vectors only: cleanlab builds a k-nearest-
neighbour graph of them (out-of-sample probabilities change its label and class checks, which the label-issue
ranking of app.services.crossval already covers), so every video with features is checked, labelled or not.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.context import AppContext
from app.errors import UserError
from db import maps
from db.session import session_scope

if TYPE_CHECKING:
    from app.services.embeddings import Run

TYPES = ("near_duplicate", "outlier", "non_iid")
MIN_VIDEOS = 10  # Datalab's neighbour graph needs a few videos


@dataclass(frozen=True)
class DataIssue:
    video_id: int
    type: str
    score: float
    duplicate_of: int | None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "score": round(self.score, 6)}


def find(vectors: np.ndarray, video_ids: np.ndarray) -> list[dict[str, Any]]:
    """One row per video and type (video_id, type, score, is_issue, duplicate_of) from cleanlab's Datalab, the
    videos in ingest (id) order so its non-iid check reads the order they arrived in."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # Datalab keeps its table in a `datasets` object: nothing to fetch
    from cleanlab import Datalab

    order = np.argsort(video_ids, kind="stable")
    ids, X = video_ids[order], np.asarray(vectors, np.float32)[order]
    if len(ids) < MIN_VIDEOS:
        return []
    lab = Datalab(data={"video_id": ids.tolist()}, verbosity=0)
    lab.find_issues(features=X, issue_types={t: {} for t in TYPES})
    table = lab.get_issues()
    nearest = np.asarray(lab.get_info("near_duplicate")["nearest_neighbor"])
    rows = []
    for kind in TYPES:
        flags = table[f"is_{kind}_issue"].to_numpy(bool)
        scores = table[f"{kind}_score"].to_numpy(float)
        for i, vid in enumerate(ids):
            rows.append({"video_id": int(vid), "type": kind, "score": float(scores[i]), "is_issue": bool(flags[i]),
                         "duplicate_of": int(ids[nearest[i]]) if kind == "near_duplicate" and flags[i] else None})
    return rows


def compute(ctx: AppContext, run: Run) -> int:
    """Find and store a run's data issues; how many videos have at least one."""
    from core.embeddings import JOINT

    rows = find(np.asarray(run.vectors(JOINT)), run.video_ids())
    with session_scope(ctx.engine) as session:
        maps.replace_issues(session, run_id=run.id, rows=rows)
    return len({r["video_id"] for r in rows if r["is_issue"]})


def issues(ctx: AppContext, *, type_: str | None = None) -> list[DataIssue]:
    """The active model's run's data issues (of one type), most severe first, with the videos' labels."""
    from app.services import embeddings

    if type_ is not None and type_ not in TYPES:
        raise UserError(f"unknown data issue type {type_!r}: choose from {', '.join(TYPES)}")
    run = embeddings.current_run(ctx)
    if run is None or not run.has("data_issues"):
        raise UserError("no data issues yet: they are found by the embeddings job of the active model "
                        "(`python -m app embeddings`)")
    with session_scope(ctx.engine) as session:
        found = maps.issues(session, run_id=run.id, type_=type_)
        labels = maps.label_names(session, video_ids=[r.video_id for r in found])
    return [DataIssue(r.video_id, r.type, r.score, r.duplicate_of, labels.get(r.video_id)) for r in found]


def flagged_ids(ctx: AppContext, type_: str) -> tuple[int, ...]:
    """Videos the active model's run flags with this issue (empty without a run)."""
    from app.services import embeddings

    run = embeddings.current_run(ctx)
    if run is None or not run.has("data_issues"):
        return ()
    with session_scope(ctx.engine) as session:
        return tuple(r.video_id for r in maps.issues(session, run_id=run.id, type_=type_))
