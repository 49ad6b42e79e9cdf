"""TMDL with class-specific dictionaries: the variant EASTERN's Table 1 describes for its ref [8].

EASTERN's text: "a task-driven multi-modal dictionary learning method which ensures that samples in each
class share a class-specific dictionary and combines a linear classifier into a model". Our reading: one
joint-sparse multimodal dictionary per class (core.baselines.dmdl's objective, learned on that class's
training samples only), and a linear classifier on what the dictionaries say about a sample: for every
class c and modality s the reconstruction error 1/2 ||x_s - D^c_s a^c_s||^2 of the sample's codes under
class c's dictionaries, and the codes themselves. A sample of class c is expected to be described best
by D^c (the sparse-representation-classification idea); the softmax regression learns how much to trust
each class's and modality's fit. The dictionaries are learned without the classifier (not end to end as
in core.baselines.tmdl): the "task-driven" part is that each dictionary only sees its own class.

Validation (``GRID``): the sparsity weight lam1 x the logistic regression's C, chosen on validation
Macro-F; the dictionaries are learned once per lam1 and shared by every C.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from core.baselines.common import Preprocessor, ShallowBaseline, check_labels, validation_slice
from core.baselines.dmdl import encode, flat_codes, learn_dictionaries


class ClassTMDL(ShallowBaseline):
    """One joint-sparse multimodal dictionary per class + softmax regression on per-class fits and codes."""

    GRID = {"lam1": (0.05, 0.1), "C": (0.01, 0.1, 1.0)}
    TUNABLE = ("lam1", "C")

    def __init__(
        self,
        n_atoms: int = 10,  # per class: 22 classes x 10 = 220 atoms in all
        lam1: float = 0.1,
        lam2: float = 1e-3,
        C: float = 0.1,
        n_components: int | None = 128,
        n_iter: int = 15,
        coding_iter: int = 50,
        tol: float = 1e-4,
        n_classes: int | None = None,
        select_metric: str = "macro_f1",
        grid: Mapping[str, Sequence] | None = None,
        seed: int = 0,
    ):
        super().__init__(n_classes=n_classes, select_metric=select_metric, grid=grid, seed=seed)
        self.n_atoms, self.lam1, self.lam2, self.C = n_atoms, lam1, lam2, C
        self.n_components, self.n_iter, self.coding_iter, self.tol = n_components, n_iter, coding_iter, tol

    def fit(self, X, y, X_val=None, y_val=None) -> ClassTMDL:
        y, self.n_classes_ = check_labels(y, self.n_classes)
        X_val, y_val = validation_slice(X_val, y_val)
        self.prep_ = Preprocessor(self.n_components).fit(X)
        self.modalities_ = self.prep_.modalities_
        Z = self.prep_.transform(X)
        Z_val = None if X_val is None else self.prep_.transform(X_val)
        learned: dict[float, dict] = {}

        def dictionaries(lam1: float) -> dict:
            if lam1 not in learned:
                D = self._learn(Z, y, lam1)
                F = self._features(Z, D, lam1)
                scaler = StandardScaler().fit(F)
                F_val = None if Z_val is None else scaler.transform(self._features(Z_val, D, lam1))
                learned[lam1] = {"lam1": lam1, "D": D, "scaler": scaler, "F": scaler.transform(F), "F_val": F_val}
            return learned[lam1]

        def fit_one(params):
            part = dictionaries(params.get("lam1", self.lam1))
            return part, LogisticRegression(C=params.get("C", self.C), max_iter=500).fit(part["F"], y)

        def predict_one(state, _Z_val):
            part, clf = state
            return clf.predict(part["F_val"])

        part, self.classifier_ = self._select(fit_one, predict_one, Z_val, y_val)
        self.lam1_, self.dictionaries_, self.scaler_ = part["lam1"], part["D"], part["scaler"]
        self.objective_history_ = [d["history"] for d in part["D"].values()]
        return self

    def _learn(self, Z: list[np.ndarray], y: np.ndarray, lam1: float) -> dict[int, dict]:
        """Class -> {'D': per-modality dictionaries, 'history'}, each learned on that class's samples only."""
        out = {}
        for c in np.unique(y):
            rows = np.flatnonzero(y == c)
            D, _, history = learn_dictionaries([z[rows] for z in Z], self.n_atoms, lam1, self.lam2, self.n_iter,
                                               self.coding_iter, self.tol, np.random.default_rng([self.seed, int(c)]))
            out[int(c)] = {"D": D, "history": history}
        return out

    def _features(self, Z: Sequence[np.ndarray], D: dict[int, dict], lam1: float) -> np.ndarray:
        """(N, n_learned_classes * S * (1 + K)): per class, each modality's reconstruction error, then the codes."""
        blocks = []
        for c in sorted(D):
            A = encode(Z, D[c]["D"], lam1, self.lam2, self.coding_iter)  # (S, N, K)
            errors = [0.5 * ((z - a @ d.T) ** 2).sum(axis=1) for z, a, d in zip(Z, A, D[c]["D"], strict=True)]
            blocks += [np.stack(errors, axis=1), flat_codes(A)]
        return np.concatenate(blocks, axis=1)

    def reconstruction_errors(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N, n_learned_classes): each sample's total reconstruction error under every class's dictionaries."""
        Z = self.prep_.transform(X)
        out = []
        for c in sorted(self.dictionaries_):
            A = encode(Z, self.dictionaries_[c]["D"], self.lam1_, self.lam2, self.coding_iter)
            out.append(sum(0.5 * ((z - a @ d.T) ** 2).sum(axis=1)
                           for z, a, d in zip(Z, A, self.dictionaries_[c]["D"], strict=True)))
        return np.stack(out, axis=1)

    def predict_proba(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        F = self.scaler_.transform(self._features(self.prep_.transform(X), self.dictionaries_, self.lam1_))
        proba = np.zeros((F.shape[0], self.n_classes_))
        proba[:, self.classifier_.classes_] = self.classifier_.predict_proba(F)  # absent classes get 0
        return proba
