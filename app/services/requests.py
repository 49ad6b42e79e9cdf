"""The requests of the job room (app.services.jobs): what a training or a cross-validation is asked to do, with
its defaults, help and choices. Light on purpose (no torch): every CLI command builds its parser from them, and the
Retrain form and the job list read them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from app.errors import UserError
from app.services.jobs import JobRequest
from core.label_probe import PROBE
from core.modalities import MODALITIES
from core.modalities import parse as _parse_modalities
from core.models import registry

if TYPE_CHECKING:
    from app.context import AppContext


class TrainingError(UserError):
    """Training cannot start or finish (too few labels, no features, ...)."""


def parse_modalities(text: str | None) -> tuple[str, ...]:
    """'v,a,t' or 'visual,textual' -> canonical ordered tuple (core.modalities.parse, as a TrainingError)."""
    try:
        return _parse_modalities(text)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None


@dataclass(frozen=True)
class TrainRequest(JobRequest):
    """Train one model on the current labels (the `train` command, the Retrain page, the first run)."""

    kind: ClassVar[str] = "train"
    permission: ClassVar[str] = "retrain"
    audit_action: ClassVar[str] = "retrain"
    runner: ClassVar[str] = "app.services.training:run_train_job"

    architecture: str = field(default="eastern", metadata={
        "help": "a deep model, or a shallow baseline of Table 1 (stored and compared, not activatable)",
        "choices": lambda: registry.names()})
    modalities: tuple[str, ...] = field(default=MODALITIES, metadata={"help": "v,a,t or a subset"})
    epochs: int = field(default=15, metadata={"help": "at most this many epochs (early stopping on validation)"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation, batches and validation slice"})
    batch_size: int = field(default=64, metadata={"help": "videos per batch", "advanced": True})
    lr: float = field(default=1e-3, metadata={"help": "Adam's learning rate", "advanced": True})
    activate: bool = field(default=False, metadata={"help": "make it the active model when it is done"})
    name: str = field(default="", metadata={"help": "a name for the version (default: architecture, "
                                                    "modalities and seed)", "advanced": True})


@dataclass(frozen=True)
class CrossvalRequest(JobRequest):
    """K fold models on the current labels; every labelled video scored by the one that never saw it."""

    kind: ClassVar[str] = "crossval"
    permission: ClassVar[str] = "crossval"
    audit_action: ClassVar[str] = "crossval"
    runner: ClassVar[str] = "app.services.crossval:run_crossval_job"

    architecture: str = field(default="eastern", metadata={
        "help": f"the deep model each fold trains, or {PROBE!r}: logistic regression on pooled features (seconds)",
        "choices": lambda: (*registry.names("deep"), PROBE)})
    modalities: tuple[str, ...] = field(default=MODALITIES, metadata={"help": "v,a,t or a subset"})
    folds: int = field(default=5, metadata={"help": "number of folds (K)"})
    epochs: int = field(default=15, metadata={"help": "epochs per fold model"})
    seed: int = field(default=0, metadata={"help": "seed of the folds and of each fold's training"})
    batch_size: int = field(default=64, metadata={"help": "videos per batch", "advanced": True})
    lr: float = field(default=1e-3, metadata={"help": "Adam's learning rate", "advanced": True})
    with_probe: bool = field(default=True, metadata={
        "help": "rank by the deep folds' probabilities averaged with the fast probe's, fitted on the same folds "
                "(found more planted wrong labels than either alone: docs/label-issues.md); the probe's own "
                "ranking is published first, within a minute"})

    def needs(self) -> str:
        return "rerank" if self.architecture == PROBE else self.permission

    def check(self) -> None:
        if self.architecture != PROBE and not registry.is_registered(self.architecture, "deep"):
            raise TrainingError(f"cross-validation trains deep models ({', '.join(registry.names('deep'))}) or the "
                                f"fast {PROBE!r}, not {self.architecture!r}")
        if self.folds < 2:
            raise TrainingError(f"cross-validation needs at least 2 folds, got {self.folds}")
        if self.epochs < 1:
            raise TrainingError(f"epochs must be at least 1, got {self.epochs}")


def start_crossval(ctx: AppContext, *, who: str, folds: int = 5, epochs: int | None = None,
                   architecture: str = "eastern") -> int:
    """Start out-of-sample label issues in the background as account `who` (the admin's buttons on Annotate and
    Models; `epochs` defaults to the home's demo setting): the job room checks the permission and audits."""
    from app.services import jobs

    request = CrossvalRequest(architecture=architecture, folds=folds, epochs=epochs or ctx.settings.demo_epochs)
    return jobs.submit(ctx, request, who=who)


@dataclass(frozen=True)
class _VersionRequest(JobRequest):
    """A job about one stored model version (`model`, its id)."""

    model: int = field(default=0, metadata={"help": "the model version"})

    def check(self) -> None:
        if self.model < 1:
            raise TrainingError(f"model must be a model version id, got {self.model}")


@dataclass(frozen=True)
class PromoteRequest(_VersionRequest):
    """Make a model version active: every video's prediction (top-5, atom codes, out-of-distribution score)
    recomputed with it first, then the switch (minutes at 200,000 videos: a job, never a page run). The corpus map
    of the new model follows in its own job."""

    kind: ClassVar[str] = "promote"
    permission: ClassVar[str] = "promote"
    audit_action: ClassVar[str] = "promote"
    runner: ClassVar[str] = "app.services.models:run_promote_job"


@dataclass(frozen=True)
class PredictRequest(_VersionRequest):
    """Store a model version's predictions for every video without activating it (what comparing two versions
    reads; minutes at 200,000 videos: a job, never a page run). Anyone signed in may ask, as comparing may."""

    kind: ClassVar[str] = "predict"
    permission: ClassVar[str] = "browse"
    audit_action: ClassVar[str] = "predict"
    runner: ClassVar[str] = "app.services.models:run_predict_job"


def start_promote(ctx: AppContext, *, who: str, model_id: int) -> int:
    """Make a model version active in the background as account `who` (the admin's "Promote" button on Models):
    the job room checks the permission and audits."""
    from app.services import jobs

    return jobs.submit(ctx, PromoteRequest(model=model_id), who=who)


@dataclass(frozen=True)
class IngestRequest(JobRequest):
    """Ingest videos in a worker: an upload staged in the home (the Upload page), or a file, folder, manifest or
    export (`ingest PATH --background`). Each file is all or nothing (app.services.ingest_job)."""

    kind: ClassVar[str] = "ingest"
    permission: ClassVar[str] = "upload"
    audit_action: ClassVar[str] = "ingest"
    runner: ClassVar[str] = "app.services.ingest_job:run_ingest_job"

    path: str = field(default="", metadata={"help": "a file, folder, manifest or export; for an upload, its staged "
                                                    "copy under EASTERN_HOME/uploads/staging"})
    caption: str = field(default="", metadata={"help": "the caption of a single file"})
    venue: str = field(default="", metadata={"help": "the venue label of a single file"})
    features: bool = field(default=True, metadata={"help": "extract features before a file is stored"})
    predict: bool = field(default=False, metadata={"help": "predict each stored file's venue (active model)"})
    new_venues: bool = field(default=False, metadata={"help": "create the venue categories the labels name"})
    staged: bool = field(default=False, metadata={"help": "path is an upload's staged copy, removed at the end"})

    def check(self) -> None:
        if not self.path:
            raise TrainingError("an ingest job needs a path")

    def abandoned(self, ctx: AppContext, job_id: int) -> None:
        """A worker died under this job: remove its work folder and staged upload (nothing was stored)."""
        from app.services.ingest_job import clean_after

        clean_after(ctx, self, job_id)


@dataclass(frozen=True)
class EmbeddingsRequest(JobRequest):
    """A model version's embeddings of every video (joint and per modality), their nearest-neighbour indexes, 2-D
    layouts (UMAP) and data issues (cleanlab Datalab): the corpus map. Resumes an unfinished run of the same model
    and features; a finished one is kept unless `rebuild`."""

    kind: ClassVar[str] = "embeddings"
    permission: ClassVar[str] = "promote"
    audit_action: ClassVar[str] = "embeddings"
    runner: ClassVar[str] = "app.services.embeddings:run_embeddings_job"

    model: int = field(default=0, metadata={"help": "the model version (0: the active one)"})
    rebuild: bool = field(default=False, metadata={"help": "compute a new run even when a finished one exists",
                                                   "advanced": True})
    max_fit: int = field(default=50_000, metadata={"help": "UMAP is fitted on a sample of this many videos and "
                                                           "places the others with transform", "advanced": True})

    def check(self) -> None:
        if self.model < 0:
            raise TrainingError(f"model must be a model version id or 0 (the active one), got {self.model}")
        if self.max_fit < 100:
            raise TrainingError(f"max_fit must be at least 100, got {self.max_fit}")
