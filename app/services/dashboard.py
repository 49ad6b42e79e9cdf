"""Dashboard services that are not about one video: readiness, model views, training
jobs as the Retrain page shows them, the latest reproduction report and uploads."""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.services import models

# Readiness and totals live in app.services.status (names kept here for the pages that still import them).
from app.services.status import SETUP_HINT, NotReady, Status, status  # noqa: E402,F401
from db import queries, repo
from db.session import session_scope

# ---------------------------------------------------------------- models


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

    summary: models.ModelSummary
    class_names: list[str]
    per_class: list[ClassScore]
    confusion: list[list[int]]  # [label][predicted] counts on the test split; [] for a shallow baseline
    history: list[dict[str, Any]]  # one dict per epoch (core.train's history)
    row: repo.ModelRow


def model_view(ctx: AppContext, model_id: int) -> ModelView:
    """Summary, per-class scores, confusion matrix and training curve of a version. Raises repo.RepoError for
    an unknown id."""
    row = models.get(ctx, model_id)
    if row is None:
        raise repo.RepoError(f"no model version {model_id}")
    return ModelView(summary=models.ModelSummary.of(row), class_names=list(row.config.get("class_names", [])),
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


def videos_by_id(ctx: AppContext, video_ids: tuple[int, ...] | list[int]) -> list[queries.BrowseRow]:
    """These videos with their label and the active model's prediction, in id order."""
    if not video_ids:
        return []
    with session_scope(ctx.engine) as session:
        rows, _ = queries.browse(session, model_version_id=queries.active_model_id(session),
                                 filters=queries.VideoFilter(video_ids=tuple(video_ids)), limit=len(video_ids))
    return rows


# ---------------------------------------------------------------- training jobs


def jobs_view(ctx: AppContext, *, limit: int = 10) -> list:  # list[app.services.jobs.JobView]
    """Recent background jobs, newest first, as they are now (a dead worker's job reads as failed; nothing is
    written)."""
    from app.services import jobs

    return jobs.list_jobs(ctx, limit=limit)


# ---------------------------------------------------------------- reproduction report


@dataclass(frozen=True)
class ReportView:
    """The newest reproduction report: its folder, its Markdown, Figure 6's curves and the run's config and
    dataset from results.json, the HTML file (None if absent) and when it was written (epoch seconds)."""

    folder: str
    markdown: str
    curves: dict[str, Any]
    config: dict[str, Any]
    dataset: dict[str, Any]
    html: str | None
    modified: float


def latest_report(ctx: AppContext) -> ReportView | None:
    """The newest reproduction report (reports_dir/latest, written by `python -m app reproduce`): its
    markdown (Tables 1-3, 5), Figure 6's curves from results.json, and the html file. None if absent."""
    folder = ctx.settings.reports_dir / "latest"
    md_path, json_path, html_path = folder / "report.md", folder / "results.json", folder / "report.html"
    if not md_path.is_file():
        return None
    results: dict[str, Any] = {}
    if json_path.is_file():
        try:
            results = json.loads(json_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            results = {}
    return ReportView(
        folder=str(folder), markdown=md_path.read_text(encoding="utf-8", errors="replace"),
        curves=results.get("curves", {}), config=results.get("config", {}), dataset=results.get("dataset", {}),
        html=str(html_path) if html_path.is_file() else None, modified=md_path.stat().st_mtime,
    )


# ---------------------------------------------------------------- uploads


@dataclass
class UploadResult:
    video_id: int | None = None
    existing_id: int | None = None  # the video already stored with the same content
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prediction: dict[str, Any] | None = None
    prediction_error: str | None = None


def ingest_upload(
    ctx: AppContext, *, filename: str, data: bytes, caption: str = "", venue: str | None = None, who: str = "upload",
) -> UploadResult:
    """Ingest an uploaded file like the CLI does (same checks, same messages), extract its features
    and predict its venue with the active model. The bytes go to a temporary folder inside
    EASTERN_HOME (never a path the user chose) that is removed afterwards."""
    from app.services import features, training
    from app.services.ingest import IngestError, IngestItem, IngestReport, ingest_item, safe_name, sha256_of

    result = UploadResult()
    limit = ctx.settings.upload_max_mb
    if len(data) > limit * 1024 * 1024:
        result.errors.append(f"{filename}: {len(data) / 2**20:.1f} MB is over the upload limit of {limit} MB")
        return result
    try:
        name = safe_name(Path(filename).name)
    except IngestError as exc:
        result.errors.append(str(exc))
        return result
    uploads = ctx.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=uploads, prefix="upload-"))
    try:
        tmp = tmp_dir / name
        tmp.write_bytes(data)
        report = IngestReport()
        video_id = ingest_item(ctx, IngestItem(tmp, name, caption, venue or None), who=who, source="upload",
                               report=report)
        result.errors += [str(e) for e in report.errors]
        result.notes += report.notes + report.duplicates
        if video_id is None:
            if report.duplicates:
                with session_scope(ctx.engine) as session:
                    existing = repo.find_video_by_sha(session, sha256=sha256_of(tmp))
                result.existing_id = existing.id if existing else None
            return result
        result.video_id = video_id
        from app.services.splits import ensure_splits

        ensure_splits(ctx)
        extracted = features.extract_pending(ctx)
        result.errors += extracted.failed
        if extracted.failed:
            return result
        with session_scope(ctx.engine) as session:
            stored = repo.get_video(session, video_id=video_id)
        try:
            result.prediction = training.predict_file(ctx, ctx.settings.inside_home(Path(stored.path)),
                                                      caption=stored.caption)
        except training.TrainingError as exc:
            result.prediction_error = str(exc)
        return result
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
