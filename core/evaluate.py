"""Metrics and protocol of the paper's section 5.1: Micro-F / Macro-F, ten random splits, significance.

Significance over repeated random splits: the plain paired t-test (``paired_ttest``) treats the splits
as independent, but their training sets overlap (about 90% in the paper's protocol), so it is
anti-conservative. ``corrected_ttest`` is Nadeau and Bengio's corrected resampled t-test (Machine
Learning 52, 2003), which scales the variance of the differences by 1/k + n_test/n_train instead of
1/k; ``holm`` adjusts a family of p-values for multiplicity (Holm's step-down, through statsmodels).

Macro-F label set: the classes present in y_true or y_pred, exactly scikit-learn's
f1_score(average="macro") with labels=None. A class that is never true and never predicted (possible in
a 2,093-video test split of a long-tailed corpus) is left out instead of counting as F = 0. Per-class
rows are reported for every one of the n_classes (support 0 where absent). For single-label data
Micro-F equals accuracy.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The random splits live in core.splits (every split of the project in one place); importable from here too.
from core.splits import PAPER_TEST_SIZE, random_splits, stratified_take  # noqa: F401


def scores(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int,
           class_names: Sequence[str] | None = None) -> dict:
    """micro_f1, macro_f1, accuracy, per_class [{class, name, precision, recall, f1, support}],
    confusion (n_classes x n_classes nested list, rows = true class, columns = predicted)."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {len(y_true)} labels, y_pred {len(y_pred)}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if len(y) and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} holds labels outside 0..{n_classes - 1}: {y.min()}..{y.max()}")
    if class_names is not None and len(class_names) != n_classes:
        raise ValueError(f"{len(class_names)} class names for {n_classes} classes")

    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)  # tp + fp
    support = confusion.sum(axis=1).astype(np.float64)  # tp + fn
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * tp, predicted + support, out=np.zeros_like(tp), where=(predicted + support) > 0)
    present = (predicted + support) > 0  # the label set of sklearn's macro average
    total = len(y_true)
    micro = float(tp.sum() / total) if total else 0.0
    return {
        "micro_f1": micro,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "accuracy": micro,
        "n_samples": int(total),
        "n_classes_in_macro": int(present.sum()),
        "per_class": [
            {"class": c, "name": class_names[c] if class_names is not None else str(c),
             "precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
             "support": int(support[c])}
            for c in range(n_classes)
        ],
        "confusion": confusion.tolist(),
    }


def atom_sparsity(atom_codes: np.ndarray) -> dict:
    """Fraction of exactly-zero atom activations (the "sparse" in the paper: ReLU codes), overall and
    per modality row, for codes of shape (N, |M|, K)."""
    codes = np.asarray(atom_codes)
    zeros = codes == 0
    return {"overall": float(zeros.mean()) if codes.size else 0.0,
            "per_modality": [float(zeros[:, m].mean()) for m in range(codes.shape[1])] if codes.ndim == 3 else []}


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Paired t-test (scipy.stats.ttest_rel) of two methods' scores on the same splits: (t, two-sided p).
    Identical scores give (0.0, 1.0); a constant non-zero difference gives (+-inf, 0.0)."""
    from scipy.stats import ttest_rel

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"paired t-test needs two equal-length score lists of 2 or more, got {a.shape}, {b.shape}")
    diff = a - b
    if np.allclose(diff, diff[0], rtol=0.0, atol=1e-12):  # zero variance of the differences
        return (0.0, 1.0) if abs(diff[0]) <= 1e-12 else (float(np.sign(diff[0]) * np.inf), 0.0)
    result = ttest_rel(a, b)
    return float(result.statistic), float(result.pvalue)


def corrected_ttest(a: Sequence[float], b: Sequence[float], n_train: float, n_test: float) -> tuple[float, float]:
    """Corrected resampled t-test (Nadeau & Bengio 2003) of two methods' scores on the same k random
    splits, each with ``n_train`` training and ``n_test`` test items: t = mean(d) / sqrt((1/k +
    n_test/n_train) var(d)), k-1 degrees of freedom; returns (t, two-sided p). Degenerate cases as
    ``paired_ttest``."""
    from scipy.stats import t as student_t

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"corrected t-test needs two equal-length score lists of 2 or more, got {a.shape}, {b.shape}")
    if not (n_train > 0 and n_test > 0):
        raise ValueError(f"n_train and n_test must be positive, got {n_train}, {n_test}")
    diff = a - b
    if np.allclose(diff, diff[0], rtol=0.0, atol=1e-12):
        return (0.0, 1.0) if abs(diff[0]) <= 1e-12 else (float(np.sign(diff[0]) * np.inf), 0.0)
    k = len(diff)
    t = float(diff.mean() / np.sqrt((1.0 / k + n_test / n_train) * diff.var(ddof=1)))
    return t, float(2.0 * student_t.sf(abs(t), k - 1))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values of one family of comparisons (statsmodels' multipletests, method 'holm');
    None entries (not computable) stay None and do not count in the family."""
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if present:
        adjusted = multipletests([float(p_values[i]) for i in present], method="holm")[1]
        for i, p in zip(present, adjusted, strict=True):
            out[i] = float(p)
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("mean_std of no values")
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0
