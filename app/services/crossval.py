"""Out-of-sample probabilities by K-fold cross-validation, and label issues found in them with cleanlab.

`run_crossval` trains one model per fold on the current labels, and stores for every labelled video the
probabilities of the fold model that did not see it, as a prediction set tied to the label snapshot it used
(the newest label row; labels are append-only). Each finished fold is kept on disk (its model, the video ids
it trained on, its probabilities), so a killed or cancelled run resumes where it stopped. When every fold is
in, cleanlab ranks the labels (`get_label_quality_scores`, low = suspicious) and estimates how many are wrong
(`find_label_issues`). The active model and earlier sets are never touched.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from app.services.jobs import JobOutcome, Progress
from app.services.requests import CrossvalRequest  # noqa: F401 - re-exported
from app.services.training import (
    Dataset,
    TrainingError,
    _train_val,
    load_dataset,
)
from core.fileio import atomic_savez, atomic_write_json, make_dirs
from core.fit import fit_deep
from core.label_probe import PROBE
from core.modalities import letters
from core.splits import kfold_assignment
from core.train import TrainConfig, load_checkpoint, predict_proba, save_checkpoint
from db import repo
from db.session import session_scope

ProgressFn = Callable[[Progress], None]


def _set_dir(ctx: AppContext, set_id: int) -> Path:
    return ctx.settings.home / "crossval" / f"set-{set_id}"


def _fold_file(folder: Path, fold: int) -> Path:
    return folder / f"fold-{fold}.npz"


def run_crossval(
    ctx: AppContext, request: CrossvalRequest, *, progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None, job_id: int | None = None, resume_set_id: int | None = None,
) -> int | None:
    """Cross-validate on the current labels (or resume set `resume_set_id` on its own snapshot). Returns the
    prediction set id, or None when cancelled (the set stays resumable)."""
    request.check()
    dataset = load_dataset(ctx)
    if resume_set_id is None:
        set_id, folder, video_ids, labels, folds = _new_set(ctx, request, dataset, job_id)
    else:
        set_id, folder, video_ids, labels, folds = _resume_set(ctx, resume_set_id, dataset, job_id)
    rows = _rows_for(dataset, video_ids)
    data = dataset.data
    started = time.perf_counter()
    try:
        for fold in range(request.folds):
            if _fold_file(folder, fold).exists():
                continue
            if should_stop is not None and should_stop():
                return _stopped(ctx, set_id, f"cancelled before fold {fold + 1}")
            done = _run_fold(ctx, request, data, rows, video_ids, labels, folds, fold, folder, progress, should_stop)
            if not done:
                return _stopped(ctx, set_id, f"cancelled during fold {fold + 1}")
            with session_scope(ctx.engine) as session:
                finished = [k for k in range(request.folds) if _fold_file(folder, k).exists()]
                repo.update_prediction_set(session, set_id=set_id, folds_done=finished,
                                           message=f"{len(finished)}/{request.folds} folds done")
        probs = _assemble(folder, request.folds, video_ids)
        n_issues = _store_issues(ctx, set_id, dataset, video_ids, labels, folds, probs)
    except BaseException as exc:
        with session_scope(ctx.engine) as session:
            status = "cancelled" if type(exc).__name__ == "JobCancelled" else "failed"
            repo.update_prediction_set(session, set_id=set_id, status=status, message=f"{type(exc).__name__}: {exc}",
                                       finished_at=datetime.now(UTC))
        raise
    seconds = round(time.perf_counter() - started, 1)
    with session_scope(ctx.engine) as session:
        repo.update_prediction_set(
            session, set_id=set_id, status="done", n_issues=n_issues, finished_at=datetime.now(UTC),
            folds_done=list(range(request.folds)),
            message=f"{len(video_ids)} videos, {request.folds} folds, {seconds:g} s; "
                    f"cleanlab estimates {n_issues} wrong labels",
        )
    if progress:
        message = f"done: {n_issues} likely wrong labels"
        progress(Progress(1.0, message, log_line=message))
    return set_id


def run_crossval_job(ctx: AppContext, request: CrossvalRequest, *, progress: ProgressFn | None = None,
                     should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                     resume_set_id: int | None = None) -> JobOutcome:
    """The runner of a `crossval` job (app.services.jobs)."""
    if request.architecture != PROBE and request.with_probe and resume_set_id is None:
        # the fast probe's ranking first (seconds), so the queue is fresh while the deep folds train
        quick = replace(request, architecture=PROBE, with_probe=False)
        if run_crossval(ctx, quick, progress=_share(progress, 0.0, PROBE_SHARE), should_stop=should_stop,
                        job_id=job_id) is None:
            return JobOutcome(cancelled=True)
        progress = _share(progress, PROBE_SHARE, 1.0)
    set_id = run_crossval(ctx, request, progress=progress, should_stop=should_stop, job_id=job_id,
                          resume_set_id=resume_set_id)
    return JobOutcome(cancelled=set_id is None, set_id=set_id)


PROBE_SHARE = 0.05  # of a probe-first job's progress bar


def _share(progress: ProgressFn | None, low: float, high: float) -> ProgressFn | None:
    """`progress` for one stage of a job: the stage's fraction mapped onto [low, high] of the job's bar."""
    if progress is None:
        return None

    def report(event: Progress) -> None:
        progress(replace(event, fraction=min(low + (high - low) * event.fraction, 0.99)))

    return report


def _method(request: CrossvalRequest) -> str:
    """What ranks a set: the architecture, with "+probe" when the probe's probabilities are averaged in."""
    return request.architecture + ("+probe" if request.with_probe and request.architecture != PROBE else "")


def _new_set(ctx: AppContext, request: CrossvalRequest, dataset: Dataset, job_id: int | None):  # noqa: ANN202
    data = dataset.data
    if len(data.labels) < request.folds * 2:
        raise TrainingError(f"{len(data.labels)} labelled videos are too few for {request.folds}-fold "
                            "cross-validation: label more videos or use fewer folds")
    folds = kfold_assignment(data.labels, folds=request.folds, seed=request.seed)
    venue_of_class = np.array(dataset.venue_ids, dtype=np.int64)
    mods = letters(request.modalities)
    with session_scope(ctx.engine) as session:
        set_id = repo.create_prediction_set(
            session, name=f"{request.folds}-fold {_method(request)} {mods}", architecture=_method(request),
            params=request.to_dict(), features_version=dataset.feature_version, venue_ids=list(dataset.venue_ids),
            label_snapshot_id=dataset.label_snapshot_id,
            label_snapshot_at=datetime.fromisoformat(dataset.label_snapshot_at) if dataset.label_snapshot_at else None,
            n_videos=len(data.labels), artifact_dir="", job_id=job_id,
        )
        folder = _set_dir(ctx, set_id)
        repo.update_prediction_set(session, set_id=set_id, message=f"0/{request.folds} folds done",
                                   artifact_dir=folder.relative_to(ctx.settings.home).as_posix())
    make_dirs(folder)
    # The snapshot itself: which videos, which labels (venue ids) and which fold, fixed for every resume.
    atomic_savez(folder / "snapshot.npz", video_ids=dataset.video_ids, label_venue_ids=venue_of_class[data.labels],
                 folds=folds)
    atomic_write_json(folder / "request.json", {**request.to_dict(), "label_snapshot": dataset.snapshot(),
                                                "quality": {"method": QUALITY_METHOD,
                                                            "adjust_pred_probs": ctx.settings.label_quality_adjust}},
                      indent=1)
    return set_id, folder, dataset.video_ids.copy(), data.labels.copy(), folds


def _resume_set(ctx: AppContext, set_id: int, dataset: Dataset, job_id: int | None):  # noqa: ANN202
    with session_scope(ctx.engine) as session:
        row = repo.get_prediction_set(session, set_id=set_id)
        if row is None:
            raise TrainingError(f"no prediction set {set_id}")
        if row.status == "done":
            raise TrainingError(f"prediction set {set_id} is complete: nothing to resume")
        if row.features_version != dataset.feature_version:
            raise TrainingError(f"set {set_id} used features {row.features_version}, the store holds "
                                f"{dataset.feature_version}: start a new cross-validation")
        repo.update_prediction_set(session, set_id=set_id, status="running", job_id=job_id, finished_at=None,
                                   message=f"resumed, {len(row.folds_done)} folds done")
    folder = ctx.settings.home / row.artifact_dir
    with np.load(folder / "snapshot.npz") as z:
        video_ids, label_venues, folds = z["video_ids"], z["label_venue_ids"], z["folds"]
    index = {v: i for i, v in enumerate(row.venue_ids)}
    if list(row.venue_ids) != list(dataset.venue_ids):
        raise TrainingError(f"the venues with labels changed since set {set_id} began: start a new cross-validation")
    labels = np.array([index[int(v)] for v in label_venues], dtype=np.int64)
    return set_id, folder, video_ids, labels, folds


def _rows_for(dataset: Dataset, video_ids: np.ndarray) -> np.ndarray:
    """Row indices of `dataset` for these video ids (every one must still have features)."""
    where = {int(v): i for i, v in enumerate(dataset.video_ids)}
    missing = [int(v) for v in video_ids if int(v) not in where]
    if missing:
        raise TrainingError(f"{len(missing)} videos of the snapshot lost their features or label "
                            f"(e.g. video {missing[0]}): start a new cross-validation")
    return np.array([where[int(v)] for v in video_ids], dtype=np.int64)


def _run_fold(ctx, request, data, rows, video_ids, labels, folds, fold, folder, progress, should_stop) -> bool:  # noqa: ANN001
    """Train fold `fold`'s model on the other folds (validation carved from them) and store its probabilities
    for the held-out rows; False when cancelled."""
    if request.architecture == PROBE:
        return _probe_fold(request, data, rows, video_ids, labels, folds, fold, folder, progress)
    from dataclasses import replace

    fold_data = replace(data, labels=data.labels.copy())
    fold_data.labels[rows] = labels  # the snapshot's labels, even if some changed since
    held = np.flatnonzero(folds == fold)
    others = np.flatnonzero(folds != fold)
    fit_pos, val_pos = _train_val(labels, others, seed=request.seed + fold)
    train_cfg = TrainConfig(epochs=request.epochs, batch_size=request.batch_size, lr=request.lr,
                            seed=request.seed + fold, patience=None)

    def fold_progress(event: dict[str, Any]) -> None:
        if progress is None:
            return
        epoch = event.get("epoch", 0)
        step = event.get("kind") == "step"
        within = (epoch - 1 + event.get("step", 0) / max(event.get("steps_per_epoch", 1), 1)) / request.epochs \
            if step else epoch / request.epochs
        message = f"fold {fold + 1}/{request.folds}, epoch {epoch}/{request.epochs}"
        # fold curves restart at epoch 1: the message and the log tell the story, not the job's history
        progress(Progress(min((fold + within) / request.folds, 0.99), message, epoch=epoch,
                          log_line=None if step else message, step=step))

    cfg, result = fit_deep(request.architecture, request.modalities, fold_data, rows[fit_pos], rows[val_pos],
                           train_cfg, progress=fold_progress, should_stop=should_stop)
    if result.cancelled:
        return False
    deep = predict_proba(result.model, fold_data, rows[held]).astype(np.float32)
    save_checkpoint(folder / f"fold-{fold}.pt", result.model, cfg, {
        "class_names": data.class_names, "fold": fold, "history": result.history,
    })
    parts = {"deep_probs": deep}
    if request.with_probe:  # the probe on the same fold (the same training videos), averaged in
        parts["probe_probs"] = _probe_probs(request, data, rows, labels, held, others, fold)
    probs = np.mean(list(parts.values()), axis=0).astype(np.float32)
    # Which videos it scored and which it trained on (fit + validation), so anyone can check the two never meet.
    atomic_savez(_fold_file(folder, fold), video_ids=video_ids[held], train_video_ids=video_ids[others],
                 probs=probs, best_epoch=np.int64(result.best_epoch), **parts)
    return True


def _probe_probs(request, data, rows, labels, held, others, fold) -> np.ndarray:  # noqa: ANN001
    """The probe's probabilities for the held-out rows of one fold, fitted on the fold's other rows."""
    from core.label_probe import fit_predict, pooled

    X = pooled(data, request.modalities)[rows]
    return fit_predict(X[others], labels[others], X[held], len(data.class_names), seed=request.seed + fold)


def _probe_fold(request, data, rows, video_ids, labels, folds, fold, folder, progress) -> bool:  # noqa: ANN001
    """The fast probe's fold: logistic regression on pooled features of the other folds (seconds, no epochs)."""
    held, others = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
    probs = _probe_probs(request, data, rows, labels, held, others, fold)
    atomic_savez(_fold_file(folder, fold), video_ids=video_ids[held], train_video_ids=video_ids[others],
                 probs=probs, best_epoch=np.int64(0))
    if progress is not None:
        message = f"probe fold {fold + 1}/{request.folds} done"
        progress(Progress(min((fold + 1) / request.folds, 0.99), message, log_line=message))
    return True


def _assemble(folder: Path, n_folds: int, video_ids: np.ndarray) -> np.ndarray:
    """The out-of-fold probability matrix, row-aligned with the snapshot's video ids."""
    where = {int(v): i for i, v in enumerate(video_ids)}
    probs: np.ndarray | None = None
    for fold in range(n_folds):
        with np.load(_fold_file(folder, fold)) as z:
            if probs is None:
                probs = np.full((len(video_ids), z["probs"].shape[1]), np.nan, dtype=np.float32)
            probs[[where[int(v)] for v in z["video_ids"]]] = z["probs"]
    assert probs is not None and not np.isnan(probs).any(), "a fold left videos without probabilities"
    atomic_savez(folder / "probs.npz", video_ids=video_ids, probs=probs)
    return probs


# cleanlab's default, self-confidence. Its class-imbalance adjustment (probabilities minus each class's confident
# threshold; EASTERN_LABEL_QUALITY_ADJUST) measured on demo corpora with planted wrong labels: at 120 videos it
# found 9 of 18 at k=18 against 2 raw, at 600 videos 2 of 18 against 6 raw (benchmarks/label_issues.py). The
# default follows the larger corpus.
QUALITY_METHOD = "self_confidence"


def label_issues(labels: np.ndarray, probs: np.ndarray, *, adjust: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's label-quality scores (low = suspicious) and its boolean mask of likely wrong labels."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    probs = np.clip(probs.astype(np.float64), 1e-12, None)
    probs /= probs.sum(1, keepdims=True)
    quality = get_label_quality_scores(labels, probs, method=QUALITY_METHOD, adjust_pred_probs=adjust)
    issues = find_label_issues(labels, probs, filter_by="prune_by_noise_rate", n_jobs=1)
    return np.asarray(quality, dtype=np.float64), np.asarray(issues, dtype=bool)


def _store_issues(ctx, set_id, dataset, video_ids, labels, folds, probs) -> int:  # noqa: ANN001
    quality, issues = label_issues(labels, probs, adjust=ctx.settings.label_quality_adjust)
    venue_ids = dataset.venue_ids
    rows = []
    for i, vid in enumerate(video_ids):
        p = probs[i]
        top = np.argsort(-p)[:5]
        rows.append({
            "video_id": int(vid), "fold": int(folds[i]), "label_venue_id": int(venue_ids[labels[i]]),
            "label_probability": float(p[labels[i]]), "suggested_venue_id": int(venue_ids[top[0]]),
            "suggested_probability": float(p[top[0]]), "quality": float(quality[i]), "is_issue": bool(issues[i]),
            "topk": [[int(venue_ids[j]), round(float(p[j]), 5)] for j in top],
        })
    with session_scope(ctx.engine) as session:
        repo.replace_oos_predictions(session, set_id=set_id, rows=rows)
    return int(issues.sum())


def _stopped(ctx: AppContext, set_id: int, message: str) -> None:
    with session_scope(ctx.engine) as session:
        repo.update_prediction_set(session, set_id=set_id, status="cancelled", message=message + " (resumable)",
                                   finished_at=datetime.now(UTC))
    return None


def fold_model(ctx: AppContext, set_id: int, fold: int):  # noqa: ANN201 - (model, cfg, meta)
    """The model of one fold of a set (for checks and explanations)."""
    with session_scope(ctx.engine) as session:
        row = repo.get_prediction_set(session, set_id=set_id)
    if row is None:
        raise TrainingError(f"no prediction set {set_id}")
    return load_checkpoint(ctx.settings.home / row.artifact_dir / f"fold-{fold}.pt")
