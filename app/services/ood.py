"""Out-of-distribution scores of a model's predictions (core/ood.py): the calibration lives beside the model's
checkpoint (`ood.npz`), built when predictions are recomputed (train --activate, promote) or on first use."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.context import AppContext
from core import ood
from db import repo
from db.queries import OOD_THRESHOLD
from db.session import session_scope

if TYPE_CHECKING:  # torch: the pages that only show a score import this module without it
    from core.data import FeatureSet

CALIBRATION_FILE = "ood.npz"
WARNING = (f"This video is unlike the model's training videos (further from them than "
           f"{ood.OodConfig().percentile:g}% of held-out training videos): treat the prediction with caution.")


@dataclass(frozen=True)
class OodVerdict:
    """A video's score (1.0 = threshold), whether it is flagged, and the space it was measured in."""

    score: float | None
    space: str | None = None

    @property
    def flag(self) -> bool | None:
        return None if self.score is None else self.score > OOD_THRESHOLD

    def to_json(self) -> dict[str, Any]:
        return {"score": None if self.score is None else round(self.score, 4), "flag": self.flag,
                "space": self.space}


def vectors(data: FeatureSet, inter: dict[str, Any]) -> tuple[np.ndarray, str, list[int]]:
    """The rows' representation (N, D), its space and block sizes, from predict_intermediates' output."""
    from core.baselines.common import pool_sequences

    pooled = pool_sequences(data.visual, data.acoustic, data.text, data.text_lengths)
    return ood.representation(inter.get("common", {}), pooled, inter["modalities"])


def calibration_path(ctx: AppContext, model_id: int) -> Path:
    with session_scope(ctx.engine) as session:
        row = repo.get_model_version(session, model_id=model_id)
    if row is None:
        raise ood.OodError(f"no model version {model_id}")
    return ctx.settings.inside_home(Path(row.checkpoint_path)).parent / CALIBRATION_FILE


def calibrate(ctx: AppContext, model_id: int, data: FeatureSet, video_ids: np.ndarray,
              inter: dict[str, Any], feature_version: str) -> ood.Calibration:
    """Calibrate on the version's fit videos (reference) and its validation videos (held out); save it."""
    with session_scope(ctx.engine) as session:
        split = (repo.get_model_version(session, model_id=model_id).config or {}).get("split") or {}
    X, space, blocks = vectors(data, inter)
    row_of = {int(v): i for i, v in enumerate(video_ids)}
    fit = [row_of[v] for v in split.get("train", []) if v in row_of]
    held = [row_of[v] for v in split.get("val", []) if v in row_of]
    if not fit:  # a version without a recorded split: every labelled video, scored leave-one-out
        fit, held = np.flatnonzero(data.labels >= 0).tolist(), []
    cal = ood.calibrate(X[fit], X[held], space=space, feature_version=feature_version, blocks=blocks)
    ood.save(calibration_path(ctx, model_id), cal)
    return cal


def stored(ctx: AppContext, model_id: int, feature_version: str) -> ood.Calibration | None:
    """The saved calibration when it is of this recipe and feature version (else None: rebuild it)."""
    path = calibration_path(ctx, model_id)
    if not path.exists():
        return None
    try:
        cal = ood.load(path)
    except ood.OodError:
        return None
    return cal if cal.version == ood.VERSION and cal.feature_version == feature_version else None


def calibration(ctx: AppContext, model_id: int, model: Any, meta: dict[str, Any]) -> ood.Calibration:
    """The model's calibration, computed now (one pass over the stored features) if it lacks one."""
    cal = stored(ctx, model_id, meta["feature_version"])
    if cal is not None:
        return cal
    from app.services.models import features_for_model
    from core.train import predict_intermediates

    data, video_ids = features_for_model(ctx, meta)
    return calibrate(ctx, model_id, data, video_ids, predict_intermediates(model, data), meta["feature_version"])


def score_rows(ctx: AppContext, model_id: int, data: FeatureSet, video_ids: np.ndarray, inter: dict[str, Any],
               feature_version: str) -> np.ndarray:
    """Scores (N,) of every row, calibrating afresh (the recompute after training or a promotion)."""
    cal = calibrate(ctx, model_id, data, video_ids, inter, feature_version)
    return ood.score(cal, vectors(data, inter)[0])


def score_one(ctx: AppContext, model_id: int, model: Any, meta: dict[str, Any], data: FeatureSet,
              inter: dict[str, Any]) -> OodVerdict:
    """The verdict for a video outside the database (predict FILE, Upload)."""
    cal = calibration(ctx, model_id, model, meta)
    return OodVerdict(score=float(ood.score(cal, vectors(data, inter)[0])[0]), space=cal.space)


def stored_verdict(ctx: AppContext, video_id: int, model_id: int) -> OodVerdict:
    """The score stored with this model's prediction of the video (None when it has none)."""
    with session_scope(ctx.engine) as session:
        mine = [p for p in repo.predictions_for_video(session, video_id=video_id) if p.model_version_id == model_id]
    if not mine or mine[0].ood_score is None:
        return OodVerdict(score=None)
    try:
        space = ood.description(calibration_path(ctx, model_id)).get("space")
    except ood.OodError:
        space = None
    return OodVerdict(score=float(mine[0].ood_score), space=space)
