"""Model versions: the typed views the CLI and the pages show, and what a stored version does (load, promote and
activate, predictions, atom codes, a prediction for a file). Training a new version is app.services.training.

Torch, the feature store and the model code are imported inside the functions that need them, so the pages that
only list or promote versions (Models, Retrain) start without them."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.context import AppContext
from app.services.requests import TrainingError
from core.fileio import atomic_write
from core.models import registry
from db import repo
from db.session import session_scope

if TYPE_CHECKING:
    from core.data import FeatureSet
    from core.features.store import VideoFeatures


@dataclass(frozen=True)
class ModelSummary:
    """One model version: what it is, how it scored on its held-out test split, what it was trained on."""

    id: int
    name: str
    architecture: str
    active: bool
    modalities: tuple[str, ...]
    epochs: int | None
    micro_f1: float | None  # test split
    macro_f1: float | None
    best_val_macro_f1: float | None
    n_test: int | None
    created_at: datetime
    label_snapshot_id: int | None  # newest label id it was trained on; None before snapshots were recorded

    @classmethod
    def of(cls, row: repo.ModelRow) -> ModelSummary:
        test = row.metrics.get("test", {})
        return cls(
            id=row.id, name=row.name, architecture=row.architecture, active=row.is_active,
            modalities=tuple(row.config.get("modalities") or ()), epochs=row.config.get("epochs"),
            micro_f1=test.get("micro_f1"), macro_f1=test.get("macro_f1"),
            best_val_macro_f1=row.metrics.get("best_val_macro_f1"), n_test=row.metrics.get("n_test"),
            created_at=row.created_at, label_snapshot_id=(row.config.get("label_snapshot") or {}).get("label_id"),
        )

    @property
    def title(self) -> str:
        """`#id name`, with a star for the active version: how pages name a version."""
        return f"#{self.id} {self.name}" + (" ★" if self.active else "")

    @property
    def shallow(self) -> bool:
        """A registered shallow baseline: stored and compared, never activated or explained."""
        return registry.is_registered(self.architecture, "shallow")

    def to_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints (`models`, `train`, `compare`)."""
        return {
            "id": self.id, "name": self.name, "architecture": self.architecture, "active": self.active,
            "modalities": list(self.modalities), "epochs": self.epochs, "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1, "best_val_macro_f1": self.best_val_macro_f1, "n_test": self.n_test,
            "created_at": self.created_at.isoformat(timespec="seconds"), "label_snapshot_id": self.label_snapshot_id,
        }


def list_models(ctx: AppContext) -> list[ModelSummary]:
    with session_scope(ctx.engine) as session:
        return [ModelSummary.of(r) for r in repo.list_model_versions(session)]


def summary(ctx: AppContext, model_id: int) -> ModelSummary:
    with session_scope(ctx.engine) as session:
        row = repo.get_model_version(session, model_id=model_id)
    if row is None:
        raise repo.RepoError(f"no model version {model_id}")
    return ModelSummary.of(row)


def get(ctx: AppContext, model_id: int) -> repo.ModelRow | None:
    with session_scope(ctx.engine) as session:
        return repo.get_model_version(session, model_id=model_id)


def active(ctx: AppContext) -> repo.ModelRow | None:
    with session_scope(ctx.engine) as session:
        return repo.active_model(session)


# Per-class scores: per_class below; version comparison: app.services.compare.


def test_videos_in_cell(row: repo.ModelRow, true_index: int, pred_index: int) -> list[int]:
    """The held-out test videos of one confusion-matrix cell (label i predicted as j)."""
    ids = row.metrics.get("test_video_ids", [])
    predicted = row.metrics.get("test_predicted", [])
    labels = row.metrics.get("test_labels", [])
    return [v for v, t, p in zip(ids, labels, predicted, strict=False) if t == true_index and p == pred_index]


# ---------------------------------------------------------------- one version in detail (Models page)


@dataclass(frozen=True)
class ClassScore:
    """One venue's scores on a version's held-out test split."""

    venue: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int


@dataclass(frozen=True)
class ModelView:
    """A model version as the Models page draws it."""

    summary: ModelSummary
    class_names: list[str]
    per_class: list[ClassScore]
    confusion: list[list[int]]  # [label][predicted] counts on the test split; [] for a shallow baseline
    history: list[dict[str, Any]]  # one dict per epoch (core.train's history)
    row: repo.ModelRow


def model_view(ctx: AppContext, model_id: int) -> ModelView:
    """Summary, per-class scores, confusion matrix and training curve of a version. Raises repo.RepoError for
    an unknown id."""
    row = get(ctx, model_id)
    if row is None:
        raise repo.RepoError(f"no model version {model_id}")
    return ModelView(summary=ModelSummary.of(row), class_names=list(row.config.get("class_names", [])),
                     per_class=per_class(row), confusion=row.metrics.get("test", {}).get("confusion", []),
                     history=row.metrics.get("history", []), row=row)


def per_class(row: repo.ModelRow) -> list[ClassScore]:
    """Per-class precision/recall/F1/support on the version's held-out test split, from core.evaluate.scores'
    list of per-class dicts (or the older layout of columns)."""
    names = list(row.config.get("class_names", []))
    stored = row.metrics.get("test", {}).get("per_class", [])
    if isinstance(stored, dict):  # columns (older layout): {"f1": [...], ...}
        stored = [{k: stored.get(k, [None] * len(names))[i] for k in ("precision", "recall", "f1", "support")}
                  for i in range(len(names))]
    return [ClassScore(venue=names[i] if i < len(names) else pc.get("name", str(i)), precision=pc.get("precision"),
                       recall=pc.get("recall"), f1=pc.get("f1"), support=int(pc.get("support") or 0))
            for i, pc in enumerate(stored)]


def mistake_cells(confusion: list[list[int]], names: list[str]) -> list[dict[str, Any]]:
    """The off-diagonal cells of a confusion matrix that hold videos, most videos first:
    {label, predicted, videos, i, j}."""
    cells = [{"label": names[i], "predicted": names[j], "videos": int(n), "i": i, "j": j}
             for i, row in enumerate(confusion) for j, n in enumerate(row) if n and i != j]
    return sorted(cells, key=lambda c: (-c["videos"], c["label"], c["predicted"]))


def is_shallow(architecture: str) -> bool:
    """A registered shallow baseline (stored and compared, never activated)."""
    return registry.is_registered(architecture, "shallow")


def load_model(ctx: AppContext, model_id: int):  # noqa: ANN201 - returns (nn.Module, cfg, meta)
    """The model of a version, rebuilt from its self-describing checkpoint."""
    from core.train import load_checkpoint

    with session_scope(ctx.engine) as session:
        row = repo.get_model_version(session, model_id=model_id)
    if row is None:
        raise TrainingError(f"no model version {model_id}")
    if is_shallow(row.architecture):
        raise TrainingError(
            f"model version {model_id} is the shallow baseline {row.architecture}: it is kept for comparison "
            "(`python -m app models`) and cannot be activated, predict or explain; use a deep model"
        )
    return load_checkpoint(ctx.settings.inside_home(Path(row.checkpoint_path)))


def promote(ctx: AppContext, model_id: int, *, who: str, progress: Callable[[int, int], None] | None = None) -> int:
    """Make a version active and recompute predictions (and atom codes) for every video, as account `who` (an
    admin: PermissionDenied otherwise); audited. Returns the number of predictions stored."""
    from app.services import audit
    from app.services.accounts import require

    actor = require(ctx, name=who, action="promote").name
    count = activate(ctx, model_id, progress=progress)
    audit.record(ctx, actor=actor, action="promote", target=f"model {model_id}", detail={"predictions": count})
    from app.services import embeddings

    embeddings.follow_activation(ctx, model_id, who=actor)  # the corpus map of the new model, in the background
    return count


def _progress_of(progress: Callable[[Any], None] | None) -> Callable[[int, int], None]:
    """recompute_predictions' (done, total) reports as a job's Progress."""
    from app.services.jobs import Progress

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(Progress(min(done / max(total, 1), 0.99), f"{done:,}/{total:,} predictions", step=done > 0))

    return report


def run_predict_job(ctx: AppContext, request: Any, *, progress: Callable[[Any], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                    resume_set_id: int | None = None) -> Any:
    """The runner of a `predict` job: a version's predictions for every video, stored (compare reads them)."""
    from app.services.jobs import JobOutcome, Progress

    count = recompute_predictions(ctx, request.model, progress=_progress_of(progress))
    if progress is not None:
        progress(Progress(1.0, f"{count:,} predictions of model version {request.model} stored",
                          log_line=f"{count} predictions stored"))
    return JobOutcome()


def run_promote_job(ctx: AppContext, request: Any, *, progress: Callable[[Any], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                    resume_set_id: int | None = None) -> Any:
    """The runner of a `promote` job (app.services.jobs; the admin's "Promote" button, `promote --background`):
    checked and audited when submitted, so it activates; then the new model's embeddings as the job's account."""
    from app.services.jobs import JobOutcome, Progress

    count = activate(ctx, request.model, progress=_progress_of(progress))
    if progress is not None:
        progress(Progress(1.0, f"model version {request.model} is active; {count:,} predictions stored",
                          log_line=f"{count} predictions stored"))
    from app.services import embeddings

    embeddings.follow_job_activation(ctx, request.model, job_id)
    return JobOutcome(model_version_id=request.model)


def activate(ctx: AppContext, model_id: int, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every prediction with the version, then make it active (the checked paths call this: `promote`,
    and a train request with activate=True, checked and audited when it was submitted)."""
    count = recompute_predictions(ctx, model_id, progress=progress)
    with session_scope(ctx.engine) as session:
        repo.activate_model(session, model_id=model_id)
    return count


def features_for_model(ctx: AppContext, meta: dict[str, Any]) -> tuple[FeatureSet, np.ndarray]:
    """Every video with features of the model's extractor version, encoded with the model's own
    text vocabulary. Labels are -1 where the video's venue is not one of the model's classes."""
    from app.services import features as feature_service
    from core.data import build_feature_set
    from core.features.textual import TextEmbedder

    store = feature_service.store(ctx.settings)
    if meta["feature_version"] != store.version:
        raise TrainingError(
            f"model was trained on features {meta['feature_version']}, the store holds {store.version}"
        )
    embedder = TextEmbedder.from_state(meta["text_embedder_state"])
    with session_scope(ctx.engine) as session:
        pairs = repo.videos_with_features(session, features_version=store.version)
        labels = {r.video_id: r.venue_id for r in repo.labelled_videos(session, features_version=store.version)}
    index = {v: i for i, v in enumerate(meta["venue_ids"])}
    visual, acoustic, tokens = store.load([sha for _, sha in pairs])
    data = build_feature_set(
        visual, acoustic, tokens, embedder,
        labels=np.array([index.get(labels.get(vid, -1), -1) for vid, _ in pairs], dtype=np.int64),
        keys=[sha for _, sha in pairs], class_names=list(meta["class_names"]),
    )
    return data, np.array([vid for vid, _ in pairs], dtype=np.int64)


def recompute_predictions(ctx: AppContext, model_id: int, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Store the model's top-5 for every video and save its atom codes for the atom explorer."""
    from app.services import ood as ood_service
    from core.train import predict_intermediates

    model, _cfg, meta = load_model(ctx, model_id)
    data, video_ids = features_for_model(ctx, meta)
    if len(video_ids) == 0:
        return 0
    inter = predict_intermediates(model, data)
    probs = inter["probs"]
    ood_scores = ood_service.score_rows(ctx, model_id, data, video_ids, inter, meta["feature_version"])
    venue_ids = meta["venue_ids"]
    rows = []
    for i, vid in enumerate(video_ids):
        p = probs[i]
        top = np.argsort(-p)[:5]
        label = int(data.labels[i])
        rows.append({
            "video_id": int(vid), "venue_id": int(venue_ids[top[0]]), "confidence": float(p[top[0]]),
            "label_probability": float(p[label]) if label >= 0 else None,
            "entropy": float(-(p * np.log(np.clip(p, 1e-12, 1))).sum() / math.log(len(p))),
            "topk": [[int(venue_ids[j]), float(p[j])] for j in top], "ood_score": float(ood_scores[i]),
        })
        if progress and i % 500 == 0:
            progress(i, len(video_ids))
    with session_scope(ctx.engine) as session:
        repo.replace_predictions(session, model_version_id=model_id, rows=rows)
    if "atom_codes" in inter:
        save_atom_codes(ctx, model_id, video_ids, inter["atom_codes"])
    return len(rows)


def atoms_path(ctx: AppContext, model_id: int) -> Path:
    return ctx.settings.models_dir / f"atoms-{model_id}.npz"


def save_atom_codes(ctx: AppContext, model_id: int, video_ids: np.ndarray, codes: np.ndarray) -> None:
    codes = codes.astype(np.float16)
    atomic_write(atoms_path(ctx, model_id), lambda fh: np.savez(fh, video_ids=video_ids, codes=codes), private=False)


def load_atom_codes(ctx: AppContext, model_id: int) -> tuple[np.ndarray, np.ndarray] | None:
    path = atoms_path(ctx, model_id)
    if not path.exists():
        return None
    with np.load(path) as z:
        return z["video_ids"], z["codes"]


def predict_file(ctx: AppContext, path: Path, *, caption: str = "", model_id: int | None = None, k: int = 5) -> dict:
    """Top-k venues for a video file that need not be in the database."""
    from app.services import features as feature_service

    model_row = _model_to_predict(ctx, model_id)
    feats = feature_service.extractor(ctx.settings).extract(path, caption)
    return predict_features(ctx, feats, name=path.name, model_id=model_row.id, k=k)


def _model_to_predict(ctx: AppContext, model_id: int | None) -> repo.ModelRow:
    with session_scope(ctx.engine) as session:
        model_row = repo.get_model_version(session, model_id=model_id) if model_id else repo.active_model(session)
    if model_row is None:
        raise TrainingError("no trained model yet: run `python -m app train --activate` first")
    return model_row


def predict_features(ctx: AppContext, feats: VideoFeatures, *, name: str, model_id: int | None = None,
                     k: int = 5) -> dict:
    """Top-k venues (and the out-of-distribution score) of one video's extracted features, by the active model
    or `model_id`; as predict_file."""
    from app.services import ood as ood_service
    from core.data import build_feature_set
    from core.features.textual import TextEmbedder
    from core.train import predict_intermediates

    model_row = _model_to_predict(ctx, model_id)
    model, _cfg, meta = load_model(ctx, model_row.id)
    embedder = TextEmbedder.from_state(meta["text_embedder_state"])
    data = build_feature_set(
        feats.visual[None], feats.acoustic[None], [feats.tokens], embedder, labels=np.array([-1]),
        keys=["upload"], class_names=list(meta["class_names"]),
    )
    inter = predict_intermediates(model, data)
    p = inter["probs"][0]
    top = np.argsort(-p)[:k]
    return {
        "file": name, "model": {"id": model_row.id, "name": model_row.name},
        "top": [{"venue": meta["class_names"][j], "probability": round(float(p[j]), 4)} for j in top],
        "ood": ood_service.score_one(ctx, model_row.id, model, meta, data, inter).to_json(),
    }
