"""Compare two model versions fairly: both scored on today's stable test split with today's labels.

A version that has no stored predictions gets them computed (and cached) first. Beside the scores: per-class
deltas, the videos whose prediction flipped, and the question the correction loop asks: for the test videos
whose labels changed since A was trained, what A and B predict now.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.context import AppContext
from app.services import models
from app.services.models import ModelSummary
from app.services.requests import TrainingError
from core.evaluate import scores
from db import queries, repo
from db.session import session_scope


@dataclass(frozen=True)
class ClassDelta:
    venue: str
    support: int
    f1_a: float
    f1_b: float

    @property
    def delta(self) -> float:
        return self.f1_b - self.f1_a


@dataclass(frozen=True)
class FlipRow:
    video_id: int
    file_name: str
    label: str
    a: str
    b: str

    @property
    def verdict(self) -> str:
        if self.b == self.label:
            return "fixed by B"
        if self.a == self.label:
            return "broken by B"
        return "both wrong"


@dataclass(frozen=True)
class RelabelRow:
    video_id: int
    file_name: str
    label_then: str | None  # at A's label snapshot
    label_now: str
    a: str
    b: str


@dataclass(frozen=True)
class Comparison:
    a: ModelSummary
    b: ModelSummary
    video_ids: list[int]  # the test videos both were scored on, with today's labels
    labels: list[str]
    micro_a: float
    macro_a: float
    micro_b: float
    macro_b: float
    classes: list[ClassDelta]
    flips: list[FlipRow]
    relabelled: list[RelabelRow]
    warnings: list[str] = field(default_factory=list)
    computed_predictions: list[int] = field(default_factory=list)  # versions whose predictions were computed now


def missing_predictions(ctx: AppContext, *model_ids: int) -> list[int]:
    """The versions among these with no stored predictions yet (the dashboard computes them in a `predict` job
    before it compares; the command line computes them in place)."""
    with session_scope(ctx.engine) as session:
        return [m for m in model_ids if not queries.has_predictions(session, model_version_id=m)]


def compare(ctx: AppContext, model_a: int, model_b: int, *, who: str | None = "cli") -> Comparison:
    """Score A and B on exactly the same videos and labels: today's test split, today's labels. Predictions not
    yet stored are computed and written first, which needs `who` to be the command line or an account."""
    if model_a == model_b:
        raise TrainingError("pick two different model versions to compare")
    with session_scope(ctx.engine) as session:
        rows = {m: repo.get_model_version(session, model_id=m) for m in (model_a, model_b)}
        for m, row in rows.items():
            if row is None:
                raise TrainingError(f"no model version {m}")
            if models.is_shallow(row.architecture):
                raise TrainingError(
                    f"model version {m} is the shallow baseline {row.architecture}: it stores no predictions per "
                    "video, so it cannot be compared on today's test split; compare deep versions")
    missing = missing_predictions(ctx, model_a, model_b)
    if missing and not (who == "cli" or (who or "").startswith("cli:")):
        from app.services.accounts import require

        require(ctx, name=who, action="browse")  # a viewer at least: anonymous visitors do not write
    for m in missing:  # computed once and cached in the predictions table
        models.recompute_predictions(ctx, m)
    from app.services.splits import ensure_splits

    ensure_splits(ctx)
    with session_scope(ctx.engine) as session:
        truth = queries.test_split_labels(session)
        pred = {m: queries.test_split_predictions(session, model_version_id=m) for m in rows}
        names = repo.venue_names(session)
        ids = sorted(v for v in truth if v in pred[model_a] and v in pred[model_b])
        a_row, b_row = rows[model_a], rows[model_b]
        snap_a = (a_row.config.get("label_snapshot") or {}).get("label_id")
        known_snapshot = snap_a is not None
        if not known_snapshot:  # a version trained before label snapshots were recorded: its time stands in
            snap_a = repo.label_id_at(session, when=a_row.created_at)
        changed = repo.videos_relabelled_since(session, label_id=snap_a, video_ids=ids)
        then = repo.labels_at(session, label_id=snap_a, video_ids=sorted(changed)) if known_snapshot else {}
        file_names = {v.id: v.original_name for v in (repo.get_video(session, video_id=i) for i in
                                                      sorted(set(changed) | _flipped(ids, pred, model_a, model_b)))}
    if not ids:
        raise TrainingError("no labelled test-split videos with predictions of both versions")
    venues = sorted({truth[i] for i in ids} | {pred[m][i] for m in rows for i in ids})
    index = {v: k for k, v in enumerate(venues)}
    y = np.array([index[truth[i]] for i in ids])
    ya = np.array([index[pred[model_a][i]] for i in ids])
    yb = np.array([index[pred[model_b][i]] for i in ids])
    class_names = [names[v] for v in venues]
    sa, sb = (scores(y, yp, len(venues), class_names) for yp in (ya, yb))
    present = set(y.tolist())
    classes = [ClassDelta(class_names[k], int(ca["support"]), float(ca["f1"]), float(cb["f1"]))
               for k, (ca, cb) in enumerate(zip(sa["per_class"], sb["per_class"], strict=True)) if k in present]
    flips = [FlipRow(i, file_names.get(i, ""), names[truth[i]], names[pred[model_a][i]], names[pred[model_b][i]])
             for i in ids if pred[model_a][i] != pred[model_b][i]]
    relabelled = [RelabelRow(i, file_names.get(i, ""), names.get(then.get(i)) if then.get(i) else None,
                             names[truth[i]], names[pred[model_a][i]], names[pred[model_b][i]])
                  for i in ids if i in changed]
    warnings = _warnings(a_row, b_row, ids, len(relabelled))
    return Comparison(
        a=ModelSummary.of(a_row), b=ModelSummary.of(b_row), video_ids=ids, labels=[names[truth[i]] for i in ids],
        micro_a=float(sa["micro_f1"]), macro_a=float(sa["macro_f1"]), micro_b=float(sb["micro_f1"]),
        macro_b=float(sb["macro_f1"]), classes=classes, flips=flips, relabelled=relabelled, warnings=warnings,
        computed_predictions=missing,
    )


def _flipped(ids: list[int], pred: dict[int, dict[int, int]], a: int, b: int) -> set[int]:
    return {i for i in ids if pred[a][i] != pred[b][i]}


def _warnings(a: repo.ModelRow, b: repo.ModelRow, ids: list[int], n_relabelled: int) -> list[str]:
    out = []
    test = set(ids)
    for row in (a, b):
        split = row.config.get("split", {})
        seen = test & (set(split.get("train", [])) | set(split.get("val", [])))
        if seen:
            out.append(f"version {row.id} ({row.name}) trained on {len(seen)} of these {len(ids)} test videos (it "
                       "predates the stable split): its scores here are optimistic")
    if n_relabelled:
        out.append(f"{n_relabelled} of these test videos were relabelled after version {a.id} was trained: it is "
                   "scored against labels it never saw")
    return out
