"""More like this: the k nearest videos of a video in a space of the active model's embedding run
(core/embeddings.py), from the run's persisted faiss index (exact below a few thousand videos, HNSW above)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from app.errors import UserError
from app.services import embeddings
from core.embeddings import SPACES, search
from db import maps
from db.session import session_scope


class NoEmbeddings(UserError):
    """There is no embedding run to search (no model, or its job has not finished the vectors)."""


@dataclass(frozen=True)
class Neighbour:
    video_id: int
    distance: float
    label: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "distance": round(self.distance, 6)}


def ready_run(ctx: AppContext, space: str) -> embeddings.Run:
    """The active model's run whose index of `space` is built (NoEmbeddings otherwise, saying what to do)."""
    if space not in SPACES:
        raise UserError(f"unknown space {space!r}: choose from {', '.join(SPACES)}")
    run = embeddings.current_run(ctx)
    if run is None:
        raise NoEmbeddings("no embeddings of the active model yet: run `python -m app embeddings` (an admin), or "
                           "wait for the job that activating a model starts")
    if space not in run.spaces:
        raise UserError(f"the active model does not read the {space} modality")
    if not run.has(f"index-{space}"):
        raise NoEmbeddings(f"the embeddings job of run {run.id} has not built the {space} index yet "
                           f"({run.row.status}: {run.row.message})")
    if not (Path(run.folder) / f"{space}.npy").is_file():
        raise NoEmbeddings(f"the files of embedding run {run.id} are missing from {run.folder} (a home restored "
                           "from an older backup?): run `python -m app embeddings` (an admin) to compute them again")
    return run


@lru_cache(maxsize=8)
def _loaded(folder: str, run_id: int, space: str, fingerprint: str) -> tuple[Any, np.ndarray, dict[int, int]]:
    run = _RUNS[(folder, run_id)]
    ids = run.video_ids()
    return embeddings.load_index(run, space), ids, {int(v): i for i, v in enumerate(ids)}


_RUNS: dict[tuple[str, int], embeddings.Run] = {}


def index_for(run: embeddings.Run, space: str) -> tuple[Any, np.ndarray, dict[int, int]]:
    """(index, video ids, row of each video id), loaded once per process and vectors file."""
    _RUNS[(str(run.folder), run.id)] = run
    vectors = Path(run.folder) / f"{space}.npy"
    stat = vectors.stat()
    return _loaded(str(run.folder), run.id, space, f"{stat.st_size}-{stat.st_mtime_ns}")


def similar(ctx: AppContext, video_id: int, *, space: str = "joint", k: int = 10) -> list[Neighbour]:
    """The k videos nearest to `video_id` in `space`, nearest first, the video itself left out."""
    if k < 1:
        raise UserError(f"k must be at least 1, got {k}")
    run = ready_run(ctx, space)
    index, ids, row_of = index_for(run, space)
    row = row_of.get(int(video_id))
    if row is None:
        raise UserError(f"video {video_id} is not in embedding run {run.id} (no features when it was computed?)")
    query = np.asarray(run.vectors(space)[row], np.float32)
    distances, rows = search(index, query, k + 1)
    found = [(int(ids[r]), float(d)) for r, d in zip(rows[0], distances[0], strict=True)
             if r >= 0 and int(ids[r]) != int(video_id)][:k]
    with session_scope(ctx.engine) as session:
        labels = maps.label_names(session, video_ids=[v for v, _ in found])
    return [Neighbour(v, d, labels.get(v)) for v, d in found]
