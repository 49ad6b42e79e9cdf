"""A fast probe of label quality: multinomial logistic regression on time-pooled features (each modality's mean
and maximum over its sequence, standardised), fitted per fold. On the demo corpora it ranks planted wrong labels
as well as 5-fold EASTERN does in a small fraction of the time (benchmarks/label_issues.py), so the correction
loop can re-rank after every batch of labels; EASTERN's folds refine it in the background."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.data import FeatureSet

PROBE = "probe"  # its name where an architecture is expected (cross-validation sets, the queue's source)
DEFAULT_C = 0.05  # inverse L2 strength: chosen on demo corpora with planted wrong labels (benchmarks/label_issues.py)
# L-BFGS stops at this tolerance (scikit-learn's default is 1e-4): on the 600-video corpora of seeds 1 and 2 the
# ranking found the same planted wrong labels (9 and 7 of 18) in a third of the time
TOL = 1e-3
MAX_ITER = 300


def pooled(data: FeatureSet, modalities: tuple[str, ...] = ("visual", "acoustic", "textual")) -> np.ndarray:
    """(N, D) float32: per modality the mean and the maximum over its steps (caption words: only the real ones)."""
    parts = []
    if "visual" in modalities:
        parts += [data.visual.mean(1), data.visual.max(1)]
    if "acoustic" in modalities:
        parts += [data.acoustic.mean(1), data.acoustic.max(1)]
    if "textual" in modalities:
        steps = data.text.shape[1]
        mask = (np.arange(steps)[None, :] < data.text_lengths[:, None])[..., None]
        count = np.maximum(data.text_lengths, 1)[:, None]
        mean = (data.text * mask).sum(1) / count
        peak = np.where(mask, data.text, -np.inf).max(1)
        peak[data.text_lengths == 0] = 0.0
        parts += [mean, peak]
    return np.concatenate(parts, axis=1).astype(np.float32)


def fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int, *,
                C: float = DEFAULT_C, seed: int = 0) -> np.ndarray:
    """Probabilities (len(X_test), n_classes) of a standardised multinomial logistic regression fitted on the
    training rows; classes absent from them get probability 0."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=MAX_ITER, tol=TOL, random_state=seed))
    # one BLAS thread: these products are small, and two threads fighting over two busy cores made the fit 3-4x
    # slower (5 folds of 600 videos: 8.0 s against 32.9 s while a corpus was being built)
    with threadpool_limits(limits=1):
        model.fit(X_train, y_train)
        probs = np.zeros((len(X_test), n_classes), dtype=np.float32)
        probs[:, model.classes_] = model.predict_proba(X_test)
    return probs
