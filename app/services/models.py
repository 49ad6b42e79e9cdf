"""Model versions as the CLI and the pages show them: one typed summary per version."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.context import AppContext
from core.models import registry
from db import repo
from db.session import session_scope


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
