"""Model versions as the CLI and the Models page show them."""
from __future__ import annotations

from typing import Any

from app.context import AppContext
from db import repo
from db.session import session_scope


def _brief(row: repo.ModelRow) -> dict[str, Any]:
    test = row.metrics.get("test", {})
    return {
        "id": row.id, "name": row.name, "architecture": row.architecture, "active": row.is_active,
        "modalities": row.config.get("modalities"), "epochs": row.config.get("epochs"),
        "micro_f1": test.get("micro_f1"), "macro_f1": test.get("macro_f1"),
        "best_val_macro_f1": row.metrics.get("best_val_macro_f1"), "n_test": row.metrics.get("n_test"),
        "created_at": row.created_at.isoformat(timespec="seconds"),
    }


def list_models(ctx: AppContext) -> list[dict[str, Any]]:
    with session_scope(ctx.engine) as session:
        return [_brief(r) for r in repo.list_model_versions(session)]


def summary(ctx: AppContext, model_id: int) -> dict[str, Any]:
    with session_scope(ctx.engine) as session:
        row = repo.get_model_version(session, model_id=model_id)
    if row is None:
        raise repo.RepoError(f"no model version {model_id}")
    return _brief(row)


def get(ctx: AppContext, model_id: int) -> repo.ModelRow | None:
    with session_scope(ctx.engine) as session:
        return repo.get_model_version(session, model_id=model_id)


def active(ctx: AppContext) -> repo.ModelRow | None:
    with session_scope(ctx.engine) as session:
        return repo.active_model(session)


# Per-class scores and version comparison: app.services.dashboard.per_class / compare.


def test_videos_in_cell(row: repo.ModelRow, true_index: int, pred_index: int) -> list[int]:
    """The held-out test videos of one confusion-matrix cell (label i predicted as j)."""
    ids = row.metrics.get("test_video_ids", [])
    predicted = row.metrics.get("test_predicted", [])
    labels = row.metrics.get("test_labels", [])
    return [v for v, t, p in zip(ids, labels, predicted, strict=False) if t == true_index and p == pred_index]
