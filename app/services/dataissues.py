"""Data issues beyond labels: cleanlab's Datalab on an embedding run's vectors finds near duplicates (the same
clip re-encoded or uploaded twice), outliers and non-iid ordering (videos in ingest order that drift).

Near duplicates are looked for in the visual space when the model reads it (the picture survives a re-encode or a
re-upload, while a re-upload often comes with another caption or none, which moves the joint vector: a demo clip
re-encoded at 150 kb/s without its caption is 0.03 of the median nearest-neighbour cosine distance away in the
visual space, 0.12-0.16 in the joint one, around cleanlab's 0.13 threshold); outliers and non-iid ordering in the
joint space.

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


K = 10  # neighbours in the graph cleanlab's three checks read (its default)


def knn_graph(index: Any, vectors: np.ndarray, order: np.ndarray, k: int = K) -> Any:
    """The k-nearest-neighbour graph cleanlab wants (a csr matrix of cosine distances, cleanlab's own metric for
    vectors of this size; each row sorted, explicit zeros for exact duplicates), rows and columns in `order`.
    Candidates come from the run's faiss index (3k nearest by L2), re-ranked by cosine: at 200k videos this is
    minutes where cleanlab's own brute-force graph is hours on two cores."""
    from scipy.sparse import csr_matrix

    from core.embeddings import search

    n = len(order)
    X = np.asarray(vectors, np.float32)
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    _, rows = search(index, X[order], 3 * k + 1)
    data = np.zeros((n, k), np.float32)
    cols = np.zeros((n, k), np.int64)
    for p in range(n):
        found = rows[p][(rows[p] >= 0) & (rows[p] != order[p])]
        cosine = np.clip(1.0 - unit[found] @ unit[order[p]], 0.0, 2.0)
        best = np.argsort(cosine, kind="stable")[:k]
        take = len(best)
        data[p, :take], cols[p, :take] = cosine[best], position[found[best]]
        if take < k:  # fewer than k other videos (a tiny corpus): the rest are far
            data[p, take:], cols[p, take:] = 2.0, [c for c in range(n) if c != p][take:k]
    return csr_matrix((data.ravel(), cols.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))


def find(vectors: np.ndarray, video_ids: np.ndarray, index: Any = None,
         types: tuple[str, ...] = TYPES) -> list[dict[str, Any]]:
    """One row per video and type (video_id, type, score, is_issue, duplicate_of) from cleanlab's Datalab, the
    videos in ingest (id) order so its non-iid check reads the order they arrived in. With the run's faiss `index`
    (rows as in `vectors`), the neighbour graph comes from it; else cleanlab builds its own from the vectors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # Datalab keeps its table in a `datasets` object: nothing to fetch
    from cleanlab import Datalab

    order = np.argsort(video_ids, kind="stable")
    ids = video_ids[order]
    if len(ids) < MIN_VIDEOS:
        return []
    lab = Datalab(data={"video_id": ids.tolist()}, verbosity=0)
    asked = {t: {} for t in types}
    if index is not None:
        lab.find_issues(knn_graph=knn_graph(index, vectors, order), issue_types=asked)
    else:
        lab.find_issues(features=np.asarray(vectors, np.float32)[order], issue_types=asked)
    table = lab.get_issues()
    nearest = np.asarray(lab.get_info("near_duplicate")["nearest_neighbor"]) if "near_duplicate" in types else None
    rows = []
    for kind in types:
        flags = table[f"is_{kind}_issue"].to_numpy(bool)
        scores = table[f"{kind}_score"].to_numpy(float)
        for i, vid in enumerate(ids):
            rows.append({"video_id": int(vid), "type": kind, "score": float(scores[i]), "is_issue": bool(flags[i]),
                         "duplicate_of": int(ids[nearest[i]]) if kind == "near_duplicate" and flags[i] else None})
    return rows


def compute(ctx: AppContext, run: Run) -> int:
    """Find and store a run's data issues; how many videos have at least one."""
    from app.services.embeddings import load_index
    from core.embeddings import JOINT

    ids = run.video_ids()
    pictures = "visual" if "visual" in run.spaces else JOINT
    rows = [*find(np.asarray(run.vectors(JOINT)), ids, load_index(run, JOINT), types=("outlier", "non_iid")),
            *find(np.asarray(run.vectors(pictures)), ids, load_index(run, pictures), types=("near_duplicate",))]
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
