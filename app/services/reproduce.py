"""Reproduce the paper's tables on the current corpus or on imported features, and import features.

The protocol itself lives in core.protocol, the report in core.report; this module chooses the
methods and sizes, finds the data (database corpus or an imported bundle) and puts the report where the
dashboard looks for it (reports_dir/latest).
"""
from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.context import AppContext
from app.errors import UserError
from core.data import FeatureSet
from core.fileio import make_dirs, swap_dir
from core.h5import import FeatureImportError, load_bundle, read_venue188_h5, save_bundle
from core.models import registry
from core.protocol import (
    MAX_EPOCHS,
    MODALITY_SUBSETS,
    PATIENCE,
    MethodSpec,
    ProtocolError,
    ProtocolResult,
    deep,
    run_protocol,
    shallow,
)
from core.report import summary_markdown, write_report

# Every deep model trains to convergence on its validation slice: at most DEFAULT_EPOCHS epochs, stopping
# after PATIENCE epochs without a better validation Macro-F and keeping the best epoch. (A fixed count chosen
# by comparing test tables would be selection on the test set; the report lists the epochs each method used.)
DEFAULT_EPOCHS = MAX_EPOCHS
DEFAULT_PATIENCE = PATIENCE
DEFAULT_SPLITS = 10
# The sparsity ablation: EASTERN with code_l1 * mean(atom codes) added to its loss, the weight chosen per
# split on validation Macro-F from this grid (the default EASTERN keeps the paper's plain cross-entropy).
CODE_L1_GRID = (0.1, 1.0, 10.0)
# Table 1's methods: the built-in architectures of core.models.registry, deep then shallow.
DEEP_MODELS = registry.names("deep")
SHALLOW_MODELS = registry.names("shallow")
ALL_MODELS = DEEP_MODELS + SHALLOW_MODELS

# --quick: a smoke run of every table in well under a minute on a tiny corpus.
QUICK_SPLITS, QUICK_EPOCHS = 2, 2
QUICK_MODEL = {"visual_hidden": 16, "acoustic_hidden": 16, "text_hidden": 8, "common_dim": 16, "atoms": 12,
               "shared_lstm_input": 16, "shared_lstm_hidden": 16}
# No PCA in a quick run (n_components None): the baselines' preprocessor diagonalises the d x d
# covariance, which alone takes seconds per fit at d=1280 and minutes at the 4,096 columns of an
# imported VENUE-188 file, whatever the number of videos.
QUICK_SHALLOW: dict[str, dict[str, Any]] = {
    "tmdl": {"n_atoms": 12, "n_components": None, "init_iter": 2, "epochs": 2, "coding_iter": 10, "n_unroll": 3},
    "tmdl_cs": {"n_atoms": 3, "n_components": None, "n_iter": 2, "coding_iter": 10, "grid": {"C": (0.1,)}},
    "dmdl": {"n_atoms": 12, "n_components": None, "n_iter": 2, "coding_iter": 10, "grid": {"C": (0.1,)}},
    "trumann": {"n_latent": 8, "n_components": None, "max_iter": 10, "grid": {"lam2": (1e-2,), "lam3": (1e-3,)}},
}
QUICK_CODE_L1_GRID = (1.0,)


class ReproduceError(UserError):
    """Bad arguments for evaluate / reproduce / import-features."""


def imported_dir(ctx: AppContext) -> Path:
    """Where imported feature bundles live: EASTERN_HOME/imported/NAME/."""
    return ctx.settings.home / "imported"


# ----------------------------------------------------------------- data


@dataclass(frozen=True)
class LoadedFeatures:
    data: FeatureSet
    given_split: dict[str, np.ndarray] | None
    dataset: dict[str, Any]
    tokens: list[list[str]] | None = None  # caption words per video, when word2vec is refitted per split


def load_features(ctx: AppContext, features: str | None = None) -> LoadedFeatures:
    """The labelled corpus from the database (features=None) or an imported bundle by name
    ('NAME' or 'imported-NAME'), with the bundle's own split. For the corpus with word2vec trained on
    its own captions (no EASTERN_WORD_VECTORS) the caption words come too, so that the protocol refits
    word2vec on each split's training captions."""
    if not features:
        from app.services.features import store
        from app.services.training import load_dataset

        ds = load_dataset(ctx)
        tokens = None
        if not ctx.settings.word_vectors:
            tokens = [list(t) for t in store(ctx.settings).load(list(ds.data.keys))[2]]
        return LoadedFeatures(ds.data, None, {"name": "corpus", "source": "labelled videos in the database",
                                              "feature_version": ds.feature_version}, tokens)
    name = features
    root = imported_dir(ctx)
    if name.startswith("imported-") and not (root / name).is_dir():
        name = name[len("imported-"):]
    bundle = load_bundle(root, name)
    split = {"train": bundle.split.train, "val": bundle.split.valid, "test": bundle.split.test}
    return LoadedFeatures(bundle.data, split, {"name": f"imported-{name}", "source": bundle.source,
                                               "feature_version": "venue188-h5"})


def import_features(ctx: AppContext, file: Path, name: str | None = None) -> dict[str, Any]:
    """Read a VENUE-188 layout HDF5 file and save it as an imported bundle; returns a summary."""
    name = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(file).stem).strip("-.") or "features"
    imported = read_venue188_h5(file)
    folder = save_bundle(imported, imported_dir(ctx), name)
    data = imported.data
    return {"name": name, "folder": str(folder), "videos": len(data.keys), "classes": len(data.class_names),
            "train": int(len(imported.split.train)), "valid": int(len(imported.split.valid)),
            "test": int(len(imported.split.test)),
            "dims": {"visual": int(data.visual.shape[-1]), "acoustic": int(data.acoustic.shape[-1]),
                     "textual": int(data.text.shape[-1])},
            "use": f"python -m app reproduce --features {name}"}


# ----------------------------------------------------------------- methods


def parse_models(text: str | Sequence[str]) -> tuple[str, ...]:
    """'eastern,lstms,...' -> validated tuple (EASTERN is always run: every p-value compares with it)."""
    parts = [p.strip().lower().replace("+", "_").replace("-", "_") for p in
             (text.split(",") if isinstance(text, str) else text)]
    parts = [{"lstmdl": "lstm_dl"}.get(p, p) for p in parts if p]
    unknown = [p for p in parts if p not in ALL_MODELS]
    if unknown:
        raise ReproduceError(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(ALL_MODELS)}")
    chosen = set(parts) | {"eastern"}
    return tuple(m for m in ALL_MODELS if m in chosen)


def build_methods(models: Sequence[str] = ALL_MODELS, *, subsets: bool = True, quick: bool = False,
                  probes: bool = False) -> list[MethodSpec]:
    """EASTERN (all modalities) first, the other deep models, the EASTERN subsets of Table 3, then
    the shallow baselines. EASTERN-all is one method shared by Tables 1, 2 and 3. With ``probes`` (and
    subsets) also the order probe -- LSTMs V, EASTERN V and LSTMs V on shuffled frames, CONV V -- and the
    sparsity ablation (EASTERN with an L1 penalty on its atom codes)."""
    methods = [deep(arch) for arch in DEEP_MODELS if arch in models]
    if subsets:
        methods += [deep("eastern", mods) for mods in MODALITY_SUBSETS.values()]
    methods += [shallow(name, **(QUICK_SHALLOW.get(name, {}) if quick else {}))
                for name in SHALLOW_MODELS if name in models]
    if probes and subsets:
        visual = ("visual",)
        methods += [deep("lstms", visual, role="order probe"),
                    deep("eastern", visual, frames="shuffled", role="order probe"),
                    deep("lstms", visual, frames="shuffled", role="order probe"),
                    deep("conv", visual, role="order probe"),
                    deep("eastern", name="EASTERN L1", role="ablation",
                         train_grid={"code_l1": QUICK_CODE_L1_GRID if quick else CODE_L1_GRID})]
    return methods


# ----------------------------------------------------------------- running


def run_evaluation(
    ctx: AppContext, *, models: Sequence[str] = ALL_MODELS, n_splits: int | None = None, epochs: int | None = None,
    features: str | None = None, quick: bool = False, subsets: bool = True, probes: bool = False, seed: int = 0,
    patience: int | None = DEFAULT_PATIENCE, progress: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = True,
) -> ProtocolResult:
    """Run the protocol for these models on the corpus or an imported bundle (``epochs`` at most,
    early stopping after ``patience`` epochs without a better validation Macro-F). Each finished training is
    checkpointed under checkpoint_dir(ctx): an interrupted run with the same inputs resumes where it
    stopped (``resume=False``: start again); call ``finish(result)`` once the result is written."""
    n_splits = n_splits if n_splits is not None else (QUICK_SPLITS if quick else DEFAULT_SPLITS)
    epochs = epochs if epochs is not None else (QUICK_EPOCHS if quick else DEFAULT_EPOCHS)
    if n_splits < 1 or epochs < 1:
        raise ReproduceError(f"--splits and --epochs must be at least 1 (got {n_splits}, {epochs})")
    if patience is not None and patience < 1:
        raise ReproduceError(f"--patience must be at least 1 (got {patience})")
    loaded = load_features(ctx, features)
    methods = build_methods(models, subsets=subsets, quick=quick, probes=probes)
    dataset = dict(loaded.dataset)
    if quick:
        dataset["note"] = "Quick run (--quick): tiny model sizes and few epochs; a smoke test, not a measurement."
    return run_protocol(
        loaded.data, methods, n_splits=n_splits, seed=seed, epochs=epochs, patience=patience, progress=progress,
        given_split=loaded.given_split, model_overrides=QUICK_MODEL if quick else None,
        train_overrides={"batch_size": 16} if quick else None, dataset=dataset, tokens=loaded.tokens,
        text_seed=ctx.settings.demo_seed, checkpoint_dir=checkpoint_dir(ctx), resume=resume,
    )


def checkpoint_dir(ctx: AppContext) -> Path:
    """Where unfinished evaluations keep their runs so far (one file per set of inputs)."""
    return ctx.settings.reports_dir / ".unfinished"


def finish(result: ProtocolResult) -> None:
    """The result is written: its checkpoint is no longer needed."""
    if result.checkpoint is not None:
        result.checkpoint.unlink(missing_ok=True)


@dataclass(frozen=True)
class ReproduceOutcome:
    result: ProtocolResult
    paths: dict[str, Path]
    latest: Path
    summary: str


def reproduce(
    ctx: AppContext, out_dir: Path | None = None, *, quick: bool = False, n_splits: int | None = None,
    epochs: int | None = None, features: str | None = None, models: Sequence[str] = ALL_MODELS, seed: int = 0,
    patience: int | None = DEFAULT_PATIENCE, progress: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = True,
) -> ReproduceOutcome:
    """Everything of the paper's section 5 that we can measure, with the order probe and the sparsity
    ablation: run, write the report into out_dir (default reports_dir/<time>) and copy it to
    reports_dir/latest for the dashboard."""
    result = run_evaluation(ctx, models=models, n_splits=n_splits, epochs=epochs, features=features, quick=quick,
                            subsets=True, probes=True, seed=seed, patience=patience, progress=progress,
                            resume=resume)
    out = Path(out_dir) if out_dir else ctx.settings.reports_dir / time.strftime("%Y%m%d-%H%M%S")
    paths = write_report(result, out)
    latest = publish_latest(ctx, paths)
    finish(result)
    return ReproduceOutcome(result, paths, latest, summary_markdown(result))


def publish_latest(ctx: AppContext, paths: dict[str, Path]) -> Path:
    """Copy the report files to reports_dir/latest, replacing the previous one in one rename."""
    reports = ctx.settings.reports_dir
    make_dirs(reports)
    tmp = reports / f".latest.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    for path in paths.values():
        shutil.copy2(path, tmp / path.name)
    return swap_dir(tmp, reports / "latest")


USER_ERRORS = (ReproduceError, ProtocolError, FeatureImportError)
