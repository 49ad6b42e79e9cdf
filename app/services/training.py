"""Training on the current labels, model versions, predictions and promotion."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from app.services import features as feature_service
from app.services.jobs import JobOutcome, Progress
from app.services.requests import TrainingError, TrainRequest, parse_modalities  # noqa: F401 - re-exported
from core.data import FeatureSet, build_feature_set
from core.evaluate import scores
from core.features.textual import TextEmbedder
from core.fileio import make_dirs
from core.fit import fit_deep, fit_shallow
from core.modalities import letters
from core.models import registry
from core.splits import TEST, TRAIN, holdout_split
from core.train import TrainConfig, predict_proba, save_checkpoint
from db import repo
from db.session import session_scope


@dataclass(frozen=True)
class Dataset:
    data: FeatureSet
    video_ids: np.ndarray  # (N,) database ids, row-aligned with data
    venue_ids: list[int]  # class index -> venue id
    feature_version: str
    embedder: TextEmbedder
    splits: np.ndarray  # (N,) "train" | "test": the stable split of each row
    label_snapshot_id: int = 0  # the newest label row when the labels were read
    label_snapshot_at: str = ""

    def stable_split(self) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of the stable train and test splits."""
        return np.flatnonzero(self.splits == TRAIN), np.flatnonzero(self.splits == TEST)

    def snapshot(self) -> dict[str, Any]:
        return {"label_id": self.label_snapshot_id, "at": self.label_snapshot_at, "videos": int(len(self.video_ids))}


def load_dataset(ctx: AppContext, *, min_per_class: int = 2) -> Dataset:
    """Every labelled video with current features, as arrays. Classes with fewer than
    `min_per_class` videos are left out (they cannot be split)."""
    from datetime import UTC, datetime

    from app.services.splits import ensure_splits

    store = feature_service.store(ctx.settings)
    embedder = store.load_embedder()
    if embedder is None:
        raise TrainingError("no text embedder yet: run `python -m app features` first")
    ensure_splits(ctx)
    with session_scope(ctx.engine) as session:
        rows = repo.labelled_videos(session, features_version=store.version)
        names = repo.venue_names(session)
        snapshot_id = repo.newest_label_id(session)
    snapshot_at = datetime.now(UTC).isoformat(timespec="seconds")
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.venue_id] = counts.get(row.venue_id, 0) + 1
    venue_ids = sorted(v for v, c in counts.items() if c >= min_per_class)
    if len(venue_ids) < 2:
        raise TrainingError(
            f"a model needs at least 2 venues with {min_per_class} or more labelled videos (with features) each; "
            f"{len(rows)} labelled videos with features are in {len(counts)} venues, {len(venue_ids)} of them with "
            f"{min_per_class} or more (Annotate > Label new videos says what to label next)")
    index = {v: i for i, v in enumerate(venue_ids)}
    rows = [r for r in rows if r.venue_id in index]
    visual, acoustic, tokens = store.load([r.sha256 for r in rows])
    data = build_feature_set(
        visual, acoustic, tokens, embedder, labels=np.array([index[r.venue_id] for r in rows], dtype=np.int64),
        keys=[r.sha256 for r in rows], class_names=[names[v] for v in venue_ids],
    )
    return Dataset(
        data, np.array([r.video_id for r in rows], dtype=np.int64), venue_ids, store.version, embedder,
        splits=np.array([r.split or TRAIN for r in rows]), label_snapshot_id=snapshot_id,
        label_snapshot_at=snapshot_at,
    )


ProgressFn = Callable[[dict[str, Any]], None]


def train_and_register(
    ctx: AppContext, request: TrainRequest, *, progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int | None:
    """Train on the current labels, store the checkpoint and a model version with its held-out
    metrics; activate it (and recompute predictions) when asked. Returns the model version id,
    or None when cancelled. A run that fails or is killed never touches the active model.
    Shallow baselines (registry kind 'shallow') are stored and listed too, but cannot be activated."""
    try:
        spec = registry.spec(request.architecture)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    if request.activate and not spec.activatable:
        raise TrainingError(
            f"{request.architecture} is a shallow baseline: it is stored and listed by `python -m app models`, but "
            "cannot be activated (predictions, explanations and the dashboard need a deep model); drop --activate"
        )
    dataset = load_dataset(ctx)
    rows = _stable_rows(dataset, seed=request.seed)
    run_dir = Path("models") / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    fit = _fit_deep if spec.deep else _fit_shallow
    fitted = fit(ctx, request, dataset, rows, run_dir, progress=progress, should_stop=should_stop)
    if fitted is None:
        return None
    metrics, config, checkpoint = fitted
    fit_idx, val_idx, test_idx = rows
    metrics.update({
        "n_train": int(len(fit_idx)), "n_val": int(len(val_idx)), "n_test": int(len(test_idx)),
        "test_video_ids": dataset.video_ids[test_idx].tolist(),
        "test_labels": dataset.data.labels[test_idx].tolist(),
    })
    config = {
        **request.to_dict(), **config, "feature_version": dataset.feature_version,
        "venue_ids": dataset.venue_ids, "class_names": dataset.data.class_names,
        "split": {"train": dataset.video_ids[fit_idx].tolist(), "val": dataset.video_ids[val_idx].tolist(),
                  "test": dataset.video_ids[test_idx].tolist(), "kind": "stable"},
        "label_snapshot": dataset.snapshot(),
    }
    name = request.name or f"{request.architecture} {letters(request.modalities)} seed {request.seed}"
    with session_scope(ctx.engine) as session:
        model_id = repo.create_model_version(
            session, name=name, architecture=request.architecture, config=config,
            checkpoint_path=checkpoint.as_posix(), metrics=metrics,
        )
    if request.activate:
        from app.services.models import activate

        activate(ctx, model_id)
    return model_id


def run_train_job(ctx: AppContext, request: TrainRequest, *, progress: Callable[[Progress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                  resume_set_id: int | None = None) -> JobOutcome:
    """The runner of a `train` job (app.services.jobs): train_and_register, its events reported as Progress."""
    epochs = max(int(request.epochs), 1)

    def report(event: dict[str, Any]) -> None:
        if progress is not None:
            progress(train_progress(event, epochs))

    model_id = train_and_register(ctx, request, progress=report, should_stop=should_stop)
    if model_id is not None and request.activate:
        from app.services import embeddings

        embeddings.follow_job_activation(ctx, model_id, job_id)
    return JobOutcome(cancelled=model_id is None, model_version_id=model_id)


def train_progress(event: dict[str, Any], epochs: int) -> Progress:
    """core.train's event (an epoch's end, or a step inside one) as a job's Progress."""
    if event.get("kind") == "epoch":
        val = event.get("val_macro_f1")  # None when the labels leave no validation videos
        msg = (f"epoch {event['epoch']}/{epochs}: loss {event['train_loss']:.3f}, "
               + ("no validation videos" if val is None else f"validation Macro-F {val:.3f}"))
        return Progress(event["epoch"] / epochs, msg, epoch=event["epoch"], history_entry=event, log_line=msg)
    fraction = (event["epoch"] - 1 + event["step"] / max(event["steps_per_epoch"], 1)) / epochs
    msg = (f"epoch {event['epoch']}/{epochs}, step {event['step']}/{event['steps_per_epoch']}, "
           f"loss {event['loss']:.3f}")
    return Progress(fraction, msg, epoch=event["epoch"], step=True)


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]
Fitted = tuple[dict[str, Any], dict[str, Any], Path]  # (metrics, config fields, checkpoint relative to home)


def _meta(dataset: Dataset) -> dict[str, Any]:
    """What a checkpoint needs to rebuild its inputs: classes, venues, feature version, text vocabulary."""
    return {"class_names": dataset.data.class_names, "venue_ids": dataset.venue_ids,
            "feature_version": dataset.feature_version, "text_embedder_state": dataset.embedder.to_state()}


def _fit_deep(ctx: AppContext, request: TrainRequest, dataset: Dataset, rows: Rows, run_dir: Path, *,
              progress: ProgressFn | None, should_stop: Callable[[], bool] | None) -> Fitted | None:
    """core.train on the sequences; the checkpoint is models/<run>/model.pt (resumable while it trains)."""
    data = dataset.data
    fit_idx, val_idx, test_idx = rows
    train_cfg = TrainConfig(epochs=request.epochs, batch_size=request.batch_size, lr=request.lr, seed=request.seed)
    make_dirs(ctx.settings.home / run_dir)
    model_cfg, result = fit_deep(
        request.architecture, request.modalities, data, fit_idx, val_idx, train_cfg,
        num_classes=len(dataset.venue_ids), progress=progress, should_stop=should_stop,
        checkpoint_path=ctx.settings.home / run_dir / "resume.pt",
    )
    if result.cancelled:
        return None
    probs = predict_proba(result.model, data, test_idx)
    metrics = {
        "test": scores(data.labels[test_idx], probs.argmax(1), len(dataset.venue_ids), data.class_names),
        "best_val_macro_f1": result.best_val_macro_f1,
        "best_epoch": result.best_epoch,
        "history": result.history,
        "test_predicted": probs.argmax(1).tolist(),
    }
    meta = {
        **_meta(dataset), "metrics": {"best_val_macro_f1": result.best_val_macro_f1},
        "history": result.history, "train_config": train_cfg.__dict__ | {"device": str(train_cfg.device)},
    }
    checkpoint = run_dir / "model.pt"
    save_checkpoint(ctx.settings.home / checkpoint, result.model, model_cfg, meta)
    (ctx.settings.home / run_dir / "resume.pt").unlink(missing_ok=True)
    return metrics, {"model": model_cfg.to_dict()}, checkpoint


def _fit_shallow(ctx: AppContext, request: TrainRequest, dataset: Dataset, rows: Rows, run_dir: Path, *,
                 progress: ProgressFn | None, should_stop: Callable[[], bool] | None) -> Fitted | None:
    """Fit a shallow baseline on mean-pooled features (same splits as a deep run with this seed: hyperparameters
    chosen on the validation slice), stored as models/<run>/model.pkl. epochs / batch_size / lr of the request
    do not apply. The fit itself cannot be interrupted; a stop request is honoured before it starts and before
    anything is stored."""
    from core.baselines import pool_sequences, save_baseline

    data = dataset.data
    fit_idx, val_idx, test_idx = rows
    pooled = pool_sequences(data.visual, data.acoustic, data.text, data.text_lengths)

    def part(idx: np.ndarray) -> dict[str, np.ndarray]:
        return {m: pooled[m][idx] for m in request.modalities}

    if should_stop is not None and should_stop():
        return None
    started = time.perf_counter()
    model = fit_shallow(request.architecture, request.modalities, pooled, data.labels, fit_idx, val_idx,
                        class_names=data.class_names, seed=request.seed)
    fit_seconds = round(time.perf_counter() - started, 3)
    if should_stop is not None and should_stop():
        return None
    n_classes = len(dataset.venue_ids)
    predicted = model.predict(part(test_idx))
    val_scores = scores(data.labels[val_idx], model.predict(part(val_idx)), n_classes) if len(val_idx) else {}
    metrics = {
        "test": scores(data.labels[test_idx], predicted, n_classes, data.class_names),
        "best_val_macro_f1": val_scores.get("macro_f1"), "best_val_micro_f1": val_scores.get("micro_f1"),
        "best_epoch": getattr(model, "best_epoch_", None),
        "history": [],  # per-epoch deep-training curves; a shallow fit has its objective instead
        "objective_history": [float(v) for v in model.objective_history_],
        "best_params": _plain_params(model.best_params_),
        "val_scores": [{"params": _plain_params(p), "score": float(v)} for p, v in model.val_scores_],
        "fit_seconds": fit_seconds,
        "test_predicted": np.asarray(predicted).tolist(),
    }
    if hasattr(model, "codes"):  # DMDL / TMDL: fraction of exactly-zero joint-sparse codes on the test split
        from core.evaluate import atom_sparsity

        metrics["sparsity"] = atom_sparsity(model.codes(part(test_idx)))["overall"]
    params = {k: v for k, v in vars(model).items()
              if not k.endswith("_") and k not in ("groups", "group_weights", "tree_source")}
    params["tree"] = getattr(model, "tree_source", None)
    checkpoint = run_dir / "model.pkl"
    sha = save_baseline(ctx.settings.home / checkpoint, model, {
        **_meta(dataset), "modalities": list(request.modalities),
        "metrics": {k: metrics[k] for k in ("best_val_macro_f1", "best_params")},
    })
    return metrics, {"epochs": None, "batch_size": None, "lr": None, "params": _plain_params(params),
                     "checkpoint_sha256": sha}, checkpoint


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values (tuples -> lists, numpy scalars -> Python)."""
    return json.loads(json.dumps(params, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _stable_rows(dataset: Dataset, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fit, validation, test) rows: test is the stable split's test share; validation is carved (seeded) from
    its training share, so a relabel can move a video between fit and validation but never into test."""
    train_idx, test_idx = dataset.stable_split()
    if len(train_idx) < 2:
        raise TrainingError(f"only {len(train_idx)} labelled training videos with features: label more videos")
    fit_idx, val_idx = _train_val(dataset.data.labels, train_idx, seed=seed)
    return fit_idx, val_idx, test_idx


def _train_val(labels: np.ndarray, train_idx: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Carve a validation slice (10%) from the training split for early stopping."""
    sub_train, sub_val = holdout_split(labels[train_idx], test_fraction=0.1, seed=seed + 1)
    return train_idx[sub_train], train_idx[sub_val]
