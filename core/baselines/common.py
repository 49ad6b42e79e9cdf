"""Shared parts of the shallow baselines: pooling, per-modality preprocessing, the common interface.

Every baseline is used the same way (scikit-learn-like, deterministic per seed)::

    model = TRUMANN(seed=0).fit(X_train, y_train, X_val, y_val)
    proba = model.predict_proba(X_test)          # (N, C), rows sum to 1
    model.objective_history_                     # training objective per iteration

X maps modality name ('visual', 'acoustic', 'textual') -> pooled features (N, D_m); labels are ints in
0..C-1 (C = ``n_classes`` when given, else max label + 1). With validation data a small grid (the
module's ``GRID``, overridable by ``grid=``) is searched inside ``fit`` and the best model on the
validation slice is kept (``best_params_``, ``val_scores_``); without it the constructor values are used.
"""
from __future__ import annotations

import hashlib
import itertools
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from core.fileio import atomic_write
from core.modalities import MODALITIES

BASELINE_FORMAT = "eastern-shallow-baseline"
BASELINE_VERSION = 1


def pool_sequences(
    visual: np.ndarray | None,
    acoustic: np.ndarray | None,
    text: np.ndarray | None,
    text_lengths: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Mean-pool each modality's sequence (N, T, D) -> (N, D) float32; a None modality is left out.

    Text uses a masked mean over the first ``text_lengths[i]`` words; an empty caption pools to zeros.
    """
    pooled: dict[str, np.ndarray] = {}
    if visual is not None:
        pooled["visual"] = np.asarray(visual, dtype=np.float32).mean(axis=1)
    if acoustic is not None:
        pooled["acoustic"] = np.asarray(acoustic, dtype=np.float32).mean(axis=1)
    if text is not None:
        text = np.asarray(text, dtype=np.float32)
        n, t = text.shape[:2]
        lengths = np.full(n, t) if text_lengths is None else np.clip(np.asarray(text_lengths), 0, t)
        mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.float32)  # (N, T)
        total = np.einsum("nt,ntd->nd", mask, text)
        pooled["textual"] = total / np.maximum(lengths, 1)[:, None].astype(np.float32)
    return pooled


def modality_order(X: Mapping[str, np.ndarray]) -> tuple[str, ...]:
    """The modalities present in X: visual, acoustic, textual first (in that order), then others sorted."""
    known = [m for m in MODALITIES if m in X]
    return tuple(known + sorted(m for m in X if m not in MODALITIES))


class Preprocessor:
    """Per modality: standardise, project on the top principal components, scale to unit mean norm².

    All statistics come from the training data. The last step gives every modality the same weight in
    reconstruction objectives whatever its dimension (visual 1280-d would otherwise swamp text 100-d).
    ``n_components=None`` keeps every dimension.
    """

    def __init__(self, n_components: int | None = 128):
        self.n_components = n_components

    def fit(self, X: Mapping[str, np.ndarray]) -> Preprocessor:
        self.modalities_ = modality_order(X)
        self.stats_: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None, float]] = {}
        for m in self.modalities_:
            x = np.asarray(X[m], dtype=np.float64)
            mean = x.mean(axis=0)
            std = x.std(axis=0)
            std = np.where(std > 1e-8, std, 1.0)  # constant features stay at zero
            z = (x - mean) / std
            proj = None
            if self.n_components is not None and self.n_components < z.shape[1]:
                evals, evecs = np.linalg.eigh(z.T @ z)
                proj = evecs[:, ::-1][:, : self.n_components]  # top components, largest first
                z = z @ proj
            scale = float(np.sqrt(max((z**2).sum(axis=1).mean(), 1e-12)))
            self.stats_[m] = (mean, std, proj, scale)
        return self

    def transform(self, X: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Preprocessed modalities as a list in ``modalities_`` order, float64 (N, d_m)."""
        missing = [m for m in self.modalities_ if m not in X]
        if missing:
            raise KeyError(f"missing modalities {missing}; the model was fit on {list(self.modalities_)}")
        out = []
        for m in self.modalities_:
            mean, std, proj, scale = self.stats_[m]
            z = (np.asarray(X[m], dtype=np.float64) - mean) / std
            if proj is not None:
                z = z @ proj
            out.append(z / scale)
        return out


def check_labels(y: np.ndarray, n_classes: int | None) -> tuple[np.ndarray, int]:
    """Labels as int64 and the number of classes C (labels must lie in 0..C-1)."""
    y = np.asarray(y).astype(np.int64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-d array, got shape {y.shape}")
    c = int(n_classes) if n_classes is not None else int(y.max()) + 1
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"labels must lie in 0..{c - 1}, got {y.min()}..{y.max()}")
    return y, c


def validation_slice(
    X_val: Mapping[str, np.ndarray] | None, y_val: np.ndarray | None
) -> tuple[Mapping[str, np.ndarray] | None, np.ndarray | None]:
    """(X_val, y_val), or (None, None) when either is missing or empty: a tiny corpus can leave no
    validation videos, and then the constructor's hyperparameters are used as they are."""
    if X_val is None or y_val is None or len(y_val) == 0:
        return None, None
    return X_val, np.asarray(y_val).astype(np.int64)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(y), n_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def score(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> float:
    """Validation score used for model selection: 'macro_f1' (the default, as for the deep models) or 'micro_f1'."""
    if metric not in ("micro_f1", "macro_f1"):
        raise ValueError(f"unknown selection metric {metric!r}; use 'micro_f1' or 'macro_f1'")
    return float(f1_score(y_true, y_pred, average=metric.split("_")[0], zero_division=0))


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of a {name: values} grid, in a fixed order."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


class ShallowBaseline:
    """Common interface: ``fit``, ``predict_proba``, ``predict``, ``objective_history_``, ``best_params_``."""

    GRID: dict[str, tuple] = {}
    TUNABLE: tuple[str, ...] = ()  # the hyperparameters a grid may search

    def __init__(self, *, n_classes: int | None, select_metric: str, grid: Mapping[str, Sequence] | None, seed: int):
        self.n_classes = n_classes
        self.select_metric = select_metric
        self.grid = dict(self.GRID if grid is None else grid)
        self.seed = seed
        unknown = sorted(set(self.grid) - set(self.TUNABLE))
        if unknown:
            raise ValueError(f"{type(self).__name__} cannot search {unknown}; its grid may hold {list(self.TUNABLE)}")
        score(np.zeros(1), np.zeros(1), select_metric)  # fail now on an unknown selection metric

    def predict_proba(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def _select(
        self,
        fit_one: Callable[[dict[str, Any]], Any],
        predict_one: Callable[[Any, list[np.ndarray]], np.ndarray],
        Z_val: list[np.ndarray] | None,
        y_val: np.ndarray | None,
    ) -> Any:
        """Fit one candidate per grid point (or just the defaults) and keep the best on validation data.

        ``fit_one(params)`` returns a fitted state; ``predict_one(state, Z)`` returns predicted labels.
        """
        self.val_scores_: list[tuple[dict[str, Any], float]] = []
        if Z_val is None or y_val is None or not self.grid:
            self.best_params_: dict[str, Any] = {}
            return fit_one({})
        best, best_score = None, -np.inf
        for params in grid_points(self.grid):
            state = fit_one(params)
            s = score(y_val, predict_one(state, Z_val), self.select_metric)
            self.val_scores_.append((params, s))
            if s > best_score:  # ties keep the earlier (simpler / default-ordered) candidate
                best, best_score, self.best_params_ = state, s, params
        return best


def save_baseline(path: str | Path, model: ShallowBaseline, meta: Mapping[str, Any]) -> str:
    """Write a fitted baseline and its meta (class names, feature version, metrics...) to one pickle, atomically;
    returns the file's SHA-256, to be recorded elsewhere (the model's database row) and given to load_baseline.

    The file describes itself: ``load_baseline`` needs nothing else. Pickles run code when loaded, so
    only load files this application wrote, with the checksum recorded when they were written.
    """
    payload = {"format": BASELINE_FORMAT, "version": BASELINE_VERSION, "arch": type(model).__name__.lower(),
               "model": model, "meta": dict(meta)}
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write(path, lambda f: f.write(data), private=False)
    return hashlib.sha256(data).hexdigest()


def load_baseline(path: str | Path, *, sha256: str | None = None) -> tuple[ShallowBaseline, dict[str, Any]]:
    """(fitted baseline, meta) from a file written by ``save_baseline``; with `sha256`, the file is unpickled
    only when its bytes have that SHA-256 (ValueError otherwise: a replaced file never runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"baseline file not found: {path}")
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{path}: its SHA-256 differs from the one recorded when it was saved: not loading it")
    try:
        payload = pickle.loads(data)
    except Exception as exc:  # truncated or foreign file: say which one
        raise ValueError(f"{path}: not a readable baseline file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != BASELINE_FORMAT:
        raise ValueError(f"{path}: not an EASTERN shallow-baseline file")
    if payload.get("version", 0) > BASELINE_VERSION:
        raise ValueError(f"{path}: baseline file version {payload['version']} is newer than this code")
    return payload["model"], dict(payload["meta"])
