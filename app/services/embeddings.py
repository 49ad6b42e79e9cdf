"""The corpus map's artifact: a model version's embeddings of every video (core/embeddings.py), as a run.

A run is keyed by (model version, feature version, recipe version) and lives under EASTERN_HOME/embeddings/<id>/:
`video_ids.npy`, one `<space>.npy` per space (joint, visual, acoustic, textual), `index-<space>.faiss` (+ its
`.json` naming the vectors it was built from), `layout-<space>.npy` (UMAP, 2-D) and the data issues in the
database (app.services.dataissues). `stages_done` in its row names the finished stages, so a killed job resumes
where it stopped. It is a background job (`EmbeddingsRequest`) started when a model becomes active, and on demand
(`python -m app embeddings`).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.context import AppContext
from app.services.jobs import JobOutcome, Progress
from app.services.requests import EmbeddingsRequest, TrainingError
from core import embeddings as emb
from core.fileio import atomic_write, atomic_write_json, make_dirs
from db import maps, repo
from db.session import session_scope

ProgressFn = Callable[[Progress], None]
VECTORS = "vectors"
DATA_ISSUES = "data_issues"


def stages(spaces: list[str]) -> list[str]:
    """A run's stages in order: the vectors, an index per space, a layout per space (joint first), data issues."""
    return [VECTORS, *(f"index-{s}" for s in spaces), *(f"layout-{s}" for s in spaces), DATA_ISSUES]


@dataclass(frozen=True)
class Run:
    """An embedding run as pages and commands read it: its row, its folder, and what is ready."""

    row: maps.EmbeddingRunRow
    folder: Path

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def spaces(self) -> list[str]:
        return list(self.row.config.get("spaces", []))

    def has(self, stage: str) -> bool:
        return stage in self.row.stages_done

    @property
    def done(self) -> bool:
        return self.row.status == "done"

    def video_ids(self) -> np.ndarray:
        return np.load(self.folder / "video_ids.npy")

    def vectors(self, space: str) -> np.ndarray:
        return np.load(self.folder / f"{space}.npy", mmap_mode="r")

    def layout(self, space: str) -> np.ndarray | None:
        path = self.folder / f"layout-{space}.npy"
        return np.load(path) if self.has(f"layout-{space}") and path.exists() else None


def _folder(ctx: AppContext, row: maps.EmbeddingRunRow) -> Path:
    return ctx.settings.inside_home(Path(row.artifact_dir))


def current_run(ctx: AppContext, model_id: int | None = None) -> Run | None:
    """The newest run (finished or not) of a model version (default: the active one) on today's features."""
    from app.services import features as feature_service

    with session_scope(ctx.engine) as session:
        if model_id is None:
            active = repo.active_model(session)
            if active is None:
                return None
            model_id = active.id
        row = maps.latest_run(session, model_version_id=model_id,
                              features_version=feature_service.feature_version(ctx.settings), version=emb.VERSION)
    return Run(row, _folder(ctx, row)) if row is not None and row.artifact_dir else None


# ----------------------------------------------------------------- starting it


def start(ctx: AppContext, *, who: str, model_id: int = 0, rebuild: bool = False) -> int:
    """Start the embeddings job of a model version (0: the active one) as account `who`; its job id."""
    from app.services import jobs

    return jobs.submit(ctx, EmbeddingsRequest(model=model_id, rebuild=rebuild), who=who)


def follow_activation(ctx: AppContext, model_id: int, *, who: str) -> int | None:
    """After a model became active: its embeddings in the background (the Map fills in when they are done). Never
    fails the activation: a job that cannot start is said in the return value (None) and the Map offers it."""
    if not ctx.settings.map_on_activate:
        return None
    try:
        return start(ctx, who=who, model_id=model_id)
    except Exception:  # noqa: BLE001 - the activation stands; the Map page offers to start the job
        return None


def follow_job_activation(ctx: AppContext, model_id: int, job_id: int | None) -> None:
    """follow_activation for a job that activated its model, as the account that asked for the job (the foreground
    paths, which have no job row, are followed by their callers: `train --activate`, `promote`, `bootstrap`)."""
    if job_id is None:
        return
    with session_scope(ctx.engine) as session:
        job = repo.get_job(session, job_id=job_id)
    if job is not None and job.created_by:
        follow_activation(ctx, model_id, who=job.created_by)


# ----------------------------------------------------------------- the job


def run_embeddings_job(ctx: AppContext, request: EmbeddingsRequest, *, progress: ProgressFn | None = None,
                       should_stop: Callable[[], bool] | None = None, job_id: int | None = None,
                       resume_set_id: int | None = None) -> JobOutcome:
    """The runner of an `embeddings` job (app.services.jobs)."""
    run_id = compute(ctx, request, progress=progress, should_stop=should_stop, job_id=job_id)
    return JobOutcome(cancelled=run_id is None, run_id=run_id)


def compute(ctx: AppContext, request: EmbeddingsRequest, *, progress: ProgressFn | None = None,
            should_stop: Callable[[], bool] | None = None, job_id: int | None = None) -> int | None:
    """Compute (or resume) the run of the request's model; its id, or None when stopped (resumable)."""
    from app.services import features as feature_service
    from app.services.models import load_model

    model_id = request.model or _active_id(ctx)
    model, _cfg, meta = load_model(ctx, model_id)
    version = feature_service.feature_version(ctx.settings)
    if meta["feature_version"] != version:
        raise TrainingError(f"model version {model_id} was trained on features {meta['feature_version']}, the "
                            f"store holds {version}: train a model on today's features first")
    spaces = [emb.JOINT, *model.cfg.modalities]
    run = None if request.rebuild else current_run(ctx, model_id)
    if run is not None and run.done:
        _report(progress, 1.0, f"embeddings of model {model_id} are complete (run {run.id})")
        return run.id
    if run is None:
        run = _new_run(ctx, model_id, version, spaces, request, job_id)
    else:
        with session_scope(ctx.engine) as session:
            maps.update_run(session, run_id=run.id, status="running", job_id=job_id, finished_at=None,
                            message=f"resumed after {', '.join(run.row.stages_done) or 'nothing'}")
    todo = [s for s in stages(spaces) if not run.has(s)]
    total = len(stages(spaces))
    started = time.perf_counter()
    try:
        for stage in todo:
            if should_stop is not None and should_stop():
                return _stopped(ctx, run.id, f"stopped before {stage}")
            base = (total - len(todo) + todo.index(stage)) / total
            _report(progress, base, f"{stage} of run {run.id}")
            _do_stage(ctx, run, stage, model, meta, request, progress, base, 1 / total)
            run = _mark(ctx, run, stage)
    except BaseException as exc:
        with session_scope(ctx.engine) as session:
            status = "cancelled" if type(exc).__name__ == "JobCancelled" else "failed"
            maps.update_run(session, run_id=run.id, status=status, message=f"{type(exc).__name__}: {exc}",
                            finished_at=datetime.now(UTC))
        raise
    seconds = round(time.perf_counter() - started, 1)
    with session_scope(ctx.engine) as session:
        maps.update_run(session, run_id=run.id, status="done", finished_at=datetime.now(UTC),
                        message=f"{run.row.n_videos} videos, {len(spaces)} spaces, {seconds:g} s")
    _report(progress, 1.0, f"done: embeddings, indexes and layouts of {run.row.n_videos} videos (run {run.id})")
    return run.id


def _active_id(ctx: AppContext) -> int:
    with session_scope(ctx.engine) as session:
        active = repo.active_model(session)
    if active is None:
        raise TrainingError("no active model yet: train one with `python -m app train --activate` first")
    return active.id


def _new_run(ctx: AppContext, model_id: int, version: str, spaces: list[str], request: EmbeddingsRequest,
             job_id: int | None) -> Run:
    config = {"spaces": spaces, "layout": vars(emb.LayoutConfig(max_fit=request.max_fit)),
              "index": vars(emb.IndexConfig()), "recipe": emb.VERSION}
    with session_scope(ctx.engine) as session:
        run_id = maps.create_run(session, model_version_id=model_id, features_version=version, version=emb.VERSION,
                                 config=config, job_id=job_id)
        maps.update_run(session, run_id=run_id, artifact_dir=f"embeddings/{run_id}")
        row = maps.get_run(session, run_id=run_id)
    folder = _folder(ctx, row)
    make_dirs(folder)
    atomic_write_json(folder / "config.json", {**config, "model_version_id": model_id, "features_version": version,
                                               "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return Run(row, folder)


def _mark(ctx: AppContext, run: Run, stage: str) -> Run:
    with session_scope(ctx.engine) as session:
        maps.update_run(session, run_id=run.id, stages_done=[*run.row.stages_done, stage],
                        message=f"{stage} done")
        row = maps.get_run(session, run_id=run.id)
    return Run(row, run.folder)


def _stopped(ctx: AppContext, run_id: int, message: str) -> None:
    with session_scope(ctx.engine) as session:
        maps.update_run(session, run_id=run_id, status="cancelled", message=message + " (resumable)",
                        finished_at=datetime.now(UTC))
    return None


def _report(progress: ProgressFn | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(Progress(fraction, message, log_line=message))


def _save(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda fh: np.save(fh, array), private=False)


def _do_stage(ctx: AppContext, run: Run, stage: str, model, meta, request, progress, base, share) -> None:  # noqa: ANN001
    if stage == VECTORS:
        from app.services.models import features_for_model
        from core.train import predict_intermediates

        data, video_ids = features_for_model(ctx, meta)
        if len(video_ids) == 0:
            raise TrainingError("no video has features yet: run `python -m app features` first")
        for space, X in emb.vectors(predict_intermediates(model, data)).items():
            _save(run.folder / f"{space}.npy", X)
        _save(run.folder / "video_ids.npy", video_ids)
        with session_scope(ctx.engine) as session:
            maps.update_run(session, run_id=run.id, n_videos=int(len(video_ids)))
    elif stage.startswith("index-"):
        build_index(run, stage.removeprefix("index-"))
    elif stage.startswith("layout-"):
        space = stage.removeprefix("layout-")
        cfg = emb.LayoutConfig(**run.row.config.get("layout", {}))

        def placed(done: int, total: int) -> None:
            if progress is not None:
                progress(Progress(base + share * done / max(total, 1), f"layout of {space}: {done:,}/{total:,} "
                                                                       "videos placed"))

        _save(run.folder / f"layout-{space}.npy", emb.layout(np.asarray(run.vectors(space)), cfg, progress=placed))
    elif stage == DATA_ISSUES:
        from app.services import dataissues

        dataissues.compute(ctx, run)
    else:
        raise ValueError(f"unknown stage {stage!r}")


# ----------------------------------------------------------------- the index


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def build_index(run: Run, space: str) -> object:
    """Build and persist the faiss index of one space, with the fingerprint of the vectors it was built from."""
    vectors = run.folder / f"{space}.npy"
    cfg = emb.IndexConfig(**run.row.config.get("index", {}))
    index = emb.build_index(np.asarray(run.vectors(space)), cfg)
    emb.save_index(index, run.folder / f"index-{space}.faiss")
    atomic_write_json(run.folder / f"index-{space}.json", {"vectors": _fingerprint(vectors),
                                                            "kind": type(index).__name__})
    return index


def load_index(run: Run, space: str) -> object:
    """The persisted index of a space, rebuilt first when its vectors changed since (or it is missing)."""
    meta = run.folder / f"index-{space}.json"
    path = run.folder / f"index-{space}.faiss"
    vectors = run.folder / f"{space}.npy"
    try:
        fresh = json.loads(meta.read_text())["vectors"] == _fingerprint(vectors) and path.exists()
    except (OSError, ValueError, KeyError):
        fresh = False
    if not fresh:
        return build_index(run, space)
    return emb.load_index(path, emb.IndexConfig(**run.row.config.get("index", {})))
