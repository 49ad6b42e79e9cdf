"""What the Map page draws: every video of the active model's embedding run at its 2-D layout position, with the
attributes it can be coloured by, and the state of the run (no model, no run, a job computing it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.context import AppContext
from app.services import embeddings, jobs
from db import maps, queries, repo
from db.session import session_scope

# What a point can be coloured by: key -> (title, categorical?)
COLOURS: dict[str, tuple[str, bool]] = {
    "label": ("Current label", True), "predicted": ("Predicted venue", True), "correct": ("Right / wrong", True),
    "label_quality": ("Label-issue score (low = suspicious)", False), "ood_score": ("Out-of-distribution score", False),
    "triage": ("Triage flag", True), "split": ("Split", True), "data_issue": ("Data issue", True),
}


@dataclass(frozen=True)
class MapState:
    """Where the map stands: the active model, its run (None before its job starts) and a job computing it."""

    model_id: int | None
    model_name: str | None
    run: embeddings.Run | None
    job: jobs.JobView | None  # the newest embeddings job while it is queued or running

    def ready(self, space: str) -> bool:
        return self.run is not None and self.run.has(f"layout-{space}")


def state(ctx: AppContext) -> MapState:
    with session_scope(ctx.engine) as session:
        active = repo.active_model(session)
    running = [j for j in jobs.list_jobs(ctx, kind="embeddings", limit=3) if j.active]
    if active is None:
        return MapState(None, None, None, running[0] if running else None)
    return MapState(active.id, active.name, embeddings.current_run(ctx, active.id), running[0] if running else None)


def points(ctx: AppContext, space: str) -> pd.DataFrame:
    """One row per video placed in `space`'s layout: video_id, x, y and the colour columns of COLOURS (empty
    frame when the layout is not there yet)."""
    current = state(ctx)
    layout = current.run.layout(space) if current.run is not None else None
    if layout is None:
        return pd.DataFrame(columns=["video_id", "x", "y", "name", *COLOURS])
    ids = current.run.video_ids()
    from app.services.annotate import queue_source

    source = queue_source(ctx)
    with session_scope(ctx.engine) as session:
        cols = maps.map_attributes(session, model_version_id=current.model_id,
                                   set_id=source.set_id if source.kind == "crossval" else None)
        issues = (maps.issues(session, run_id=current.run.id) if current.run.has("data_issues") else [])
    frame = pd.DataFrame(cols).set_index("video_id")
    placed = pd.DataFrame({"video_id": ids, "x": layout[:, 0], "y": layout[:, 1]})
    out = placed.join(frame, on="video_id", how="inner")  # videos deleted since the run are left out
    out["correct"] = np.where(out["predicted"].isna() | out["label"].isna(), "no prediction or label",
                              np.where(out["predicted"] == out["label"], "right", "wrong"))
    out["label"] = out["label"].fillna("unlabelled")
    out["predicted"] = out["predicted"].fillna("no prediction")
    out["split"] = out["split"].fillna("—")
    out["triage"] = [_first_flag(f) for f in out["triage"]]
    issue_of: dict[int, str] = {}
    for row in issues:  # most severe first; a video keeps its first (near duplicate before outlier before non-iid)
        issue_of.setdefault(row.video_id, row.type)
    out["data_issue"] = [issue_of.get(int(v), "none") for v in out["video_id"]]
    return out.reset_index(drop=True)


def _first_flag(flags: str | None) -> str:
    if flags is None:
        return "not computed"
    found = [f for f in flags.split(",") if f]
    return found[0] if found else "none"


def rows_of(ctx: AppContext, video_ids: list[int]) -> list[queries.BrowseRow]:
    """Browse rows (label, prediction) of these videos, in the order given."""
    from app.services import browse

    page = browse.browse_page(ctx, filters=queries.VideoFilter(video_ids=tuple(video_ids)),
                              page_size=max(len(video_ids), 1))
    by_id = {r.id: r for r in page.rows}
    return [by_id[v] for v in video_ids if v in by_id]
