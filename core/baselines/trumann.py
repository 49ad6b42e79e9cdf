"""TRUMANN: tree-guided multi-task multimodal learning.

Zhang, Nie, Wang, He, Huang, Chua, "Shorter-is-Better: Venue Category Estimation from Micro-Video",
ACM MM 2016 (ref [50] of EASTERN); the updates follow the authors' public code (trumman.py in
github.com/lengyuexiang/Venue-Category-Estimation-from-Micro-videos).

Each modality s (features Z_s, N x d_s) is mapped by A_s into a common representation B (N x K) that it
should reconstruct; one-vs-rest venue regressors W (K x T, one column per task = venue) on B fit the
one-hot labels Y; W carries a tree-guided group lasso over the Foursquare category tree (groups G_v of
tasks, node weights e_v; Kim & Xing, ICML 2010):

    F(A, B, W) = 1/(2N) ||Y - B W||^2 + lam1/(2N) sum_s ||Z_s A_s - B||^2 + lam2/2 sum_s ||A_s||^2
                 + lam3 * Omega(W),        Omega(W) = sum_k sum_v e_v ||W[k, G_v]||_2

(data terms divided by N so the lambdas don't depend on the training-set size). Omega is handled by its
variational form e ||u|| = min_{eta > 0} (e^2 ||u||^2 / eta + eta) / 2, so with eta fixed the penalty on
column w_t is lam3/2 w_t^T D_t w_t, D_t = diag_k( sum_{v: t in G_v} e_v^2 / eta_{k,v} ). Block-coordinate
descent, every step an exact minimisation:

    A_s   = (lam1/N Z_s^T Z_s + lam2 I)^-1 lam1/N Z_s^T B                     (ridge regression onto B)
    B     = (Y W^T + lam1 sum_s Z_s A_s) (W W^T + lam1 S I)^-1                (label fit + reconstructions)
    eta   = max(e_v ||W[k, G_v]||, eps)
    w_t   = (B^T B / N + lam3 D_t)^-1 B^T y_t / N                             (reweighted ridge per task)

so the objective (with eta >= eps, i.e. Omega smoothed below eps) never increases; we stop when its
relative change is below ``tol`` or after ``max_iter`` iterations. The authors' code uses the squared
penalty (sum e_v ||.||)^2 of Kim & Xing with eta on the simplex; the plain sum here is the standard
tree-guided group lasso and gives the same reweighted-ridge updates up to the scale of lam3.
Test time (no labels): B = mean_s Z_s A_s, the minimiser of the reconstruction terms, as in the authors'
code; scores = B W, and ``predict_proba`` is their softmax (normalised scores, not calibrated).
Features are standardised and scaled to unit mean squared norm per modality (common.Preprocessor).
Validation grid (``GRID``): lam2 (ridge on A_s) x lam3 (tree penalty).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.baselines.common import (
    Preprocessor,
    ShallowBaseline,
    check_labels,
    one_hot,
    softmax,
    validation_slice,
)
from core.baselines.tree import flat_tree


def tree_penalty(W: np.ndarray, groups: Sequence[np.ndarray], weights: np.ndarray, eps: float) -> float:
    """sum_k sum_v e_v ||W[k, G_v]||, each term smoothed below eps as (a^2/eps + eps)/2."""
    total = 0.0
    for g, e in zip(groups, weights, strict=True):
        a = e * np.linalg.norm(W[:, g], axis=1)
        total += float(np.where(a >= eps, a, 0.5 * (a * a / eps + eps)).sum())
    return total


def fit_trumann(
    U: Sequence[np.ndarray],
    sv: Sequence[np.ndarray],
    Y: np.ndarray,
    groups: Sequence[np.ndarray],
    weights: np.ndarray,
    n_latent: int,
    lam1: float,
    lam2: float,
    lam3: float,
    max_iter: int,
    tol: float,
    eps: float,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    """Alternating updates in the SVD basis of each modality, Z_s = U_s diag(sqrt(sv_s)) V_s^T.

    A_s is held as its coefficients M_s = diag(sqrt(sv_s)) V_s^T A_s, so that Z_s A_s = U_s M_s and
    ||A_s||^2 = sum_i M_s[i]^2 / sv_s[i]. Returns M_s per modality, W and the objective per iteration.
    """
    n, n_tasks = Y.shape
    n_views = len(U)
    # ridge regression onto B shrinks each singular direction: M_s = f_s * (U_s^T B)
    shrink = [(lam1 * s / n) / (lam1 * s / n + lam2) for s in sv]
    inv_sv = [np.where(s > 0, 1.0 / np.maximum(s, 1e-300), 0.0) for s in sv]
    B = rng.standard_normal((n, n_latent))
    W = rng.standard_normal((n_latent, n_tasks)) / np.sqrt(n_latent)
    task_nodes = [np.array([v for v, g in enumerate(groups) if t in g]) for t in range(n_tasks)]
    history: list[float] = []
    for _ in range(max_iter):
        M = [f[:, None] * (u.T @ B) for u, f in zip(U, shrink, strict=True)]  # A-step
        recon = [u @ m for u, m in zip(U, M, strict=True)]  # Z_s A_s, (N, K)
        rhs = Y @ W.T + lam1 * sum(recon)  # B-step: B (W W^T + lam1 S I) = rhs
        B = np.linalg.solve(W @ W.T + lam1 * n_views * np.eye(n_latent), rhs.T).T
        eta = np.stack(
            [np.maximum(e * np.linalg.norm(W[:, g], axis=1), eps) for g, e in zip(groups, weights, strict=True)],
            axis=1,
        )  # (K, n_nodes)
        BtB, BtY = B.T @ B / n, B.T @ Y / n
        for t, nodes in enumerate(task_nodes):  # W-step: reweighted ridge per task
            d = (weights[nodes] ** 2 / eta[:, nodes]).sum(axis=1)
            W[:, t] = np.linalg.solve(BtB + lam3 * np.diag(d), BtY[:, t])
        objective = (
            0.5 / n * float(((Y - B @ W) ** 2).sum())
            + 0.5 * lam1 / n * sum(float(((r - B) ** 2).sum()) for r in recon)
            + 0.5 * lam2 * sum(float((s[:, None] * m * m).sum()) for s, m in zip(inv_sv, M, strict=True))
            + lam3 * tree_penalty(W, groups, weights, eps)
        )
        history.append(objective)
        if len(history) > 1 and abs(history[-2] - objective) <= tol * abs(history[-2]):
            break
    return M, W, history


class TRUMANN(ShallowBaseline):
    """Common space B shared by the modalities + tree-regularised one-vs-rest regressors on B."""

    # Centred on the scale the preprocessing sets (unit mean squared norm: per-direction variance ~ 1/d_s).
    GRID = {"lam2": (1e-4, 1e-3, 1e-2), "lam3": (1e-5, 1e-4, 1e-3)}
    TUNABLE = ("lam2", "lam3")

    def __init__(
        self,
        n_latent: int = 64,
        lam1: float = 1.0,
        lam2: float = 1e-3,
        lam3: float = 1e-4,
        groups: Sequence[Sequence[int]] | None = None,
        group_weights: Sequence[float] | None = None,
        n_components: int | None = None,
        max_iter: int = 100,
        tol: float = 1e-5,
        eps: float = 1e-6,
        n_classes: int | None = None,
        select_metric: str = "macro_f1",
        grid: Mapping[str, Sequence] | None = None,
        seed: int = 0,
    ):
        super().__init__(n_classes=n_classes, select_metric=select_metric, grid=grid, seed=seed)
        self.n_latent, self.lam1, self.lam2, self.lam3 = n_latent, lam1, lam2, lam3
        self.groups, self.group_weights = groups, group_weights
        self.n_components, self.max_iter, self.tol, self.eps = n_components, max_iter, tol, eps

    def fit(self, X, y, X_val=None, y_val=None) -> TRUMANN:
        y, self.n_classes_ = check_labels(y, self.n_classes)
        X_val, y_val = validation_slice(X_val, y_val)
        if self.groups is None:
            groups, weights = flat_tree(self.n_classes_)
        else:
            groups, weights = self.groups, self.group_weights
            if weights is None or len(weights) != len(groups):
                raise ValueError("group_weights must give one weight per group")
            bad = [g for g in groups if not g or min(g) < 0 or max(g) >= self.n_classes_]
            if bad:
                raise ValueError(f"tree groups must hold class indices in 0..{self.n_classes_ - 1}, got {bad[:3]}")
        self.groups_ = [np.asarray(sorted(set(g)), dtype=np.int64) for g in groups]
        self.group_weights_ = np.asarray(weights, dtype=np.float64)
        self.prep_ = Preprocessor(self.n_components).fit(X)
        self.modalities_ = self.prep_.modalities_
        Z = self.prep_.transform(X)
        svds = [np.linalg.svd(z, full_matrices=False) for z in Z]  # shared by every grid point
        U = [u for u, _, _ in svds]
        sv = [s**2 for _, s, _ in svds]
        Y = one_hot(y, self.n_classes_)
        Z_val = None if X_val is None else self.prep_.transform(X_val)

        def fit_one(params):
            lam2, lam3 = params.get("lam2", self.lam2), params.get("lam3", self.lam3)
            M, W, history = fit_trumann(
                U, sv, Y, self.groups_, self.group_weights_, self.n_latent, self.lam1, lam2, lam3,
                self.max_iter, self.tol, self.eps, np.random.default_rng(self.seed),
            )
            # back to feature space: A_s = V_s diag(1/sqrt(sv_s)) M_s (zero along null directions)
            maps = []
            for (_, s, vt), m in zip(svds, M, strict=True):
                inv = np.where(s > 1e-10 * s.max(), 1.0 / np.maximum(s, 1e-300), 0.0)
                maps.append(vt.T @ (inv[:, None] * m))
            return maps, W, history

        def predict_one(state, Z_eval):
            maps, W, _ = state
            return self._scores(Z_eval, maps, W).argmax(axis=1)

        self.maps_, self.W_, self.objective_history_ = self._select(fit_one, predict_one, Z_val, y_val)
        return self

    @staticmethod
    def _scores(Z: Sequence[np.ndarray], maps: Sequence[np.ndarray], W: np.ndarray) -> np.ndarray:
        common = sum(z @ a for z, a in zip(Z, maps, strict=True)) / len(maps)  # B = mean_s Z_s A_s
        return common @ W

    def common_space(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        """Test-time common representation B = mean_s Z_s A_s, (N, n_latent)."""
        Z = self.prep_.transform(X)
        return sum(z @ a for z, a in zip(Z, self.maps_, strict=True)) / len(self.maps_)

    def decision_function(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        """Regression scores B W, (N, C)."""
        return self._scores(self.prep_.transform(X), self.maps_, self.W_)

    def predict_proba(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        return softmax(self.decision_function(X))
