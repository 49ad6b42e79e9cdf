"""Fit one method on one split: the one place where training (app.services.training), cross-validation
(app.services.crossval) and the paper's protocol (core.protocol) size a model to the data and run its fit.

A deep method (an LSTM family model of core.models) is sized from the feature dimensions and trained by
core.train.train with early stopping on the validation rows; a shallow baseline (core.baselines) is fitted on
mean-pooled features, its hyperparameters chosen on the validation rows. What each caller does with the fitted
model (store a version, keep out-of-fold probabilities, score a protocol split) stays with the caller."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.models import ModelConfig

if TYPE_CHECKING:
    from core.data import FeatureSet
    from core.train import TrainConfig, TrainResult


def model_config(arch: str, modalities: Sequence[str], data: FeatureSet, num_classes: int | None = None,
                 **overrides: Any) -> ModelConfig:
    """Table 4's configuration of `arch` over these modalities, sized to the data's feature dimensions (and the
    data's classes unless `num_classes` is given); `overrides` replace configuration fields."""
    return ModelConfig(
        arch=arch, modalities=tuple(modalities), visual_dim=int(data.visual.shape[-1]),
        acoustic_dim=int(data.acoustic.shape[-1]), text_dim=int(data.text.shape[-1]),
        num_classes=int(num_classes if num_classes is not None else len(data.class_names)), **overrides,
    )


def fit_deep(arch: str, modalities: Sequence[str], data: FeatureSet, train_rows: np.ndarray, val_rows: np.ndarray,
             train_cfg: TrainConfig, *, num_classes: int | None = None, overrides: Mapping[str, Any] | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None, should_stop: Callable[[], bool] | None = None,
             checkpoint_path: Any = None, eval_sets: dict[str, np.ndarray] | None = None,
             ) -> tuple[ModelConfig, TrainResult]:
    """Size `arch` to the data and train it on `train_rows`, early-stopped on `val_rows`. Returns the
    configuration and core.train's result (its `cancelled` is True when should_stop asked)."""
    from core.train import train

    cfg = model_config(arch, modalities, data, num_classes, **dict(overrides or {}))
    result = train(cfg, train_cfg, data, train_rows, val_rows, progress=progress, should_stop=should_stop,
                   checkpoint_path=checkpoint_path, eval_sets=eval_sets)
    return cfg, result


def fit_shallow(arch: str, modalities: Sequence[str], pooled: Mapping[str, np.ndarray], labels: np.ndarray,
                train_rows: np.ndarray, val_rows: np.ndarray, *, class_names: Sequence[str], seed: int,
                params: Mapping[str, Any] | None = None) -> Any:
    """Fit the shallow baseline `arch` on these modalities' pooled features (core.baselines.pool_sequences) of
    `train_rows`, hyperparameters chosen on `val_rows`. Returns the fitted model (predict / predict_proba take a
    dict of modality -> rows of pooled features)."""
    from core.baselines import build_baseline

    X = {m: pooled[m] for m in modalities}
    model = build_baseline(arch, list(class_names), seed=seed, **dict(params or {}))
    model.fit({m: v[train_rows] for m, v in X.items()}, labels[train_rows],
              {m: v[val_rows] for m, v in X.items()}, labels[val_rows])
    return model
