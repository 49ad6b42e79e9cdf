"""DMDL: data-driven (unsupervised) multimodal dictionary learning with joint sparsity.

Bahrampour, Nasrabadi, Ray, Jenkins, "Multimodal Task-Driven Dictionary Learning for Image
Classification", IEEE TIP 25(1):24-38, 2016, the unsupervised multimodal variant (ref [3] of EASTERN).

Model: one dictionary D_s (d_s x K, every atom in the unit ball) per modality s = 1..S. A sample's codes
A = [a_1; ...; a_S] (S x K) minimise

    l(x, D, A) = sum_s 1/2 ||x_s - D_s a_s||^2 + lam1 sum_k ||A[:, k]||_2 + lam2/2 ||A||_F^2

The l1/l2 mixed norm groups atom k across all modalities, so the support is shared: atom k is used by
every modality of a sample or by none (exact zeros). Training minimises the mean of l over the training
set by alternating

1. joint sparse coding: FISTA with group soft-thresholding, warm-started from the previous codes; per
   sample we keep the better of the warm start and the FISTA iterate, so this step never raises l;
2. dictionary update: exact block-coordinate descent over atoms with projection on the unit ball
   (Mairal, Bach, Ponce, Sapiro, JMLR 2010, Alg. 2). An unused atom is re-seeded from the residual of the
   worst-reconstructed sample; its codes are zero, so this leaves the objective unchanged.

A multinomial logistic regression on the concatenated codes (standardised) then predicts the class.
Features are standardised, reduced to ``n_components`` principal components per modality and scaled to
unit mean squared norm first (common.Preprocessor). Validation grid (``GRID``): the sparsity weight lam1
x the logistic regression's C; the dictionaries are unsupervised, learned once per lam1 (from the same
initial atoms) and shared by every C.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from core.baselines.common import Preprocessor, ShallowBaseline, check_labels, validation_slice

# Codes are held as (S, N, K) tensors internally (batched matmul over modalities); public codes are (N, S, K).


def coding_terms(Z: Sequence[torch.Tensor], D: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Gram matrices G (S, K, K) = D_s^T D_s and correlations C (S, N, K) = Z_s D_s."""
    G = torch.stack([d.T @ d for d in D])
    C = torch.stack([z @ d for z, d in zip(Z, D, strict=True)])
    return G, C


def group_norms(A: torch.Tensor) -> torch.Tensor:
    """l2 norm of each atom's codes across modalities: (S, N, K) -> (N, K)."""
    # clamp keeps the gradient finite at exact zeros (where the shrinkage below has zero slope anyway)
    return torch.sqrt((A * A).sum(dim=0).clamp_min(1e-24))


def group_shrink(V: torch.Tensor, threshold: float) -> torch.Tensor:
    """Proximal operator of threshold * sum_k ||V[:, n, k]||_2: rows below the threshold become exact zeros."""
    return V * (1.0 - threshold / group_norms(V)).clamp_min(0.0).unsqueeze(0)


def lipschitz(G: torch.Tensor, lam2: float) -> float:
    """Step-size constant of the smooth part: max_s lambda_max(D_s^T D_s) + lam2."""
    return float(torch.linalg.eigvalsh(G.detach()).max()) + lam2


def ista_step(A: torch.Tensor, G: torch.Tensor, C: torch.Tensor, lam1: float, lam2: float, L: float) -> torch.Tensor:
    """One proximal-gradient step on l(., D) from A (differentiable in G and C)."""
    grad = torch.bmm(A, G) - C + lam2 * A
    return group_shrink(A - grad / L, lam1 / L)


def coding_objective(
    A: torch.Tensor, G: torch.Tensor, C: torch.Tensor, xx: torch.Tensor, lam1: float, lam2: float
) -> torch.Tensor:
    """l(x, D, A) per sample (N,), with xx = sum_s ||x_s||^2 per sample."""
    quad = (torch.bmm(A, G) * A).sum(dim=(0, 2))
    lin = (A * C).sum(dim=(0, 2))
    return 0.5 * xx - lin + 0.5 * quad + lam1 * group_norms(A).sum(dim=1) + 0.5 * lam2 * (A * A).sum(dim=(0, 2))


@torch.no_grad()
def joint_sparse_code(
    G: torch.Tensor,
    C: torch.Tensor,
    xx: torch.Tensor,
    lam1: float,
    lam2: float,
    n_iter: int,
    init: torch.Tensor | None = None,
) -> torch.Tensor:
    """Joint sparse codes (S, N, K) by FISTA; never worse (per sample) than ``init`` (zeros if None)."""
    L = lipschitz(G, lam2)
    start = torch.zeros_like(C) if init is None else init.clone()
    A, Y, t = start, start, 1.0
    for _ in range(n_iter):
        A_next = ista_step(Y, G, C, lam1, lam2, L)
        t_next = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
        Y = A_next + ((t - 1.0) / t_next) * (A_next - A)
        A, t = A_next, t_next
    worse = coding_objective(A, G, C, xx, lam1, lam2) > coding_objective(start, G, C, xx, lam1, lam2)
    A[:, worse] = start[:, worse]
    return A


def update_dictionaries(
    Z: Sequence[np.ndarray], D: list[np.ndarray], A: np.ndarray, sweeps: int = 1
) -> list[np.ndarray]:
    """Block-coordinate descent over atoms, each kept in the unit ball; A is (S, N, K). Returns new D."""
    D = [d.copy() for d in D]
    for s, (z, d) in enumerate(zip(Z, D, strict=True)):
        E = A[s].T @ A[s]  # (K, K)
        F = z.T @ A[s]  # (d_s, K)
        for _ in range(sweeps):
            for k in range(d.shape[1]):
                if E[k, k] <= 1e-12:
                    continue
                u = d[:, k] + (F[:, k] - d @ E[:, k]) / E[k, k]
                d[:, k] = u / max(1.0, float(np.linalg.norm(u)))
    unused = np.flatnonzero(np.einsum("snk,snk->k", A, A) <= 1e-12)
    if unused.size:
        residual = [z - A[s] @ d.T for s, (z, d) in enumerate(zip(Z, D, strict=True))]
        worst = np.argsort(-sum((r**2).sum(axis=1) for r in residual), kind="stable")[: unused.size]
        for k, n in zip(unused, worst, strict=False):
            for s, r in enumerate(residual):
                norm = np.linalg.norm(r[n])
                if norm > 1e-12:
                    D[s][:, k] = r[n] / norm
    return D


def learn_dictionaries(
    Z: Sequence[np.ndarray],
    n_atoms: int,
    lam1: float,
    lam2: float,
    n_iter: int,
    coding_iter: int,
    tol: float,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    """Alternate joint sparse coding and dictionary updates; returns D, codes (S, N, K), objective history.

    Coding runs in float32 (2-3x faster, converged codes agree to ~1e-7); dictionaries and the recorded
    objective are float64.
    """
    n = Z[0].shape[0]
    seeds = rng.choice(n, size=n_atoms, replace=n_atoms > n)
    D = []
    for z in Z:  # atoms start as the same training samples in every modality, normalised
        d = z[seeds].T + 1e-3 * rng.standard_normal((z.shape[1], n_atoms))
        D.append(d / np.linalg.norm(d, axis=0, keepdims=True))
    Z64 = [torch.from_numpy(z) for z in Z]
    Z32 = [z.float() for z in Z64]
    xx64 = sum((z * z).sum(dim=1) for z in Z64)
    xx32 = xx64.float()
    A = None
    history: list[float] = []
    for _ in range(n_iter):
        G, C = coding_terms(Z32, [torch.from_numpy(d).float() for d in D])
        A = joint_sparse_code(G, C, xx32, lam1, lam2, coding_iter, init=A)
        D = update_dictionaries(Z, D, A.double().numpy())
        G, C = coding_terms(Z64, [torch.from_numpy(d) for d in D])
        history.append(float(coding_objective(A.double(), G, C, xx64, lam1, lam2).mean()))
        if len(history) > 1 and abs(history[-2] - history[-1]) <= tol * abs(history[-2]):
            break
    return D, A.double().numpy(), history


def encode(Z: Sequence[np.ndarray], D: Sequence[np.ndarray], lam1: float, lam2: float, n_iter: int) -> np.ndarray:
    """Cold-start joint sparse codes (S, N, K) of preprocessed modalities Z under dictionaries D."""
    Zt = [torch.from_numpy(z).float() for z in Z]
    G, C = coding_terms(Zt, [torch.from_numpy(d).float() for d in D])
    xx = sum((z * z).sum(dim=1) for z in Zt)
    return joint_sparse_code(G, C, xx, lam1, lam2, n_iter).double().numpy()


def flat_codes(A: np.ndarray) -> np.ndarray:
    """Codes (S, N, K) -> classifier inputs (N, S*K), the modalities' blocks side by side (also for N = 0)."""
    return A.transpose(1, 0, 2).reshape(A.shape[1], A.shape[0] * A.shape[2])


class DMDL(ShallowBaseline):
    """Unsupervised joint-sparse multimodal dictionaries + logistic regression on the codes."""

    GRID = {"lam1": (0.05, 0.1, 0.2), "C": (0.01, 0.1, 1.0)}
    TUNABLE = ("lam1", "C")

    def __init__(
        self,
        n_atoms: int = 100,
        lam1: float = 0.1,
        lam2: float = 1e-3,
        C: float = 0.1,
        n_components: int | None = 128,
        n_iter: int = 20,
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

    def fit(self, X, y, X_val=None, y_val=None) -> DMDL:
        y, self.n_classes_ = check_labels(y, self.n_classes)
        X_val, y_val = validation_slice(X_val, y_val)
        self.prep_ = Preprocessor(self.n_components).fit(X)
        self.modalities_ = self.prep_.modalities_
        Z = self.prep_.transform(X)
        Z_val = None if X_val is None else self.prep_.transform(X_val)
        learned: dict[float, dict] = {}  # lam1 -> the unsupervised part, learned once whatever C

        def unsupervised(lam1: float) -> dict:
            if lam1 not in learned:  # every lam1 starts from the same atoms (same seed)
                D, _, history = learn_dictionaries(
                    Z, self.n_atoms, lam1, self.lam2, self.n_iter, self.coding_iter, self.tol,
                    np.random.default_rng(self.seed),
                )
                # train and test codes come from the same cold-start coder, so the classifier sees alike inputs
                F = flat_codes(encode(Z, D, lam1, self.lam2, self.coding_iter))
                scaler = StandardScaler().fit(F)
                F_val = None if Z_val is None else scaler.transform(
                    flat_codes(encode(Z_val, D, lam1, self.lam2, self.coding_iter))
                )
                learned[lam1] = {"lam1": lam1, "D": D, "history": history, "scaler": scaler,
                                 "F": scaler.transform(F), "F_val": F_val}
            return learned[lam1]

        def fit_one(params):
            part = unsupervised(params.get("lam1", self.lam1))
            return part, LogisticRegression(C=params.get("C", self.C), max_iter=500).fit(part["F"], y)

        def predict_one(state, _Z_val):
            part, clf = state
            return clf.predict(part["F_val"])

        part, self.classifier_ = self._select(fit_one, predict_one, Z_val, y_val)
        self.lam1_, self.dictionaries_, self.scaler_ = part["lam1"], part["D"], part["scaler"]
        self.objective_history_ = part["history"]
        return self

    def _encode(self, Z: Sequence[np.ndarray]) -> np.ndarray:
        return encode(Z, self.dictionaries_, self.lam1_, self.lam2, self.coding_iter)

    def codes(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        """Joint sparse codes (N, S, K) in ``modalities_`` order; zero rows are shared across modalities."""
        return self._encode(self.prep_.transform(X)).transpose(1, 0, 2)

    def predict_proba(self, X: Mapping[str, np.ndarray]) -> np.ndarray:
        F = self.scaler_.transform(flat_codes(self._encode(self.prep_.transform(X))))
        proba = np.zeros((F.shape[0], self.n_classes_))
        proba[:, self.classifier_.classes_] = self.classifier_.predict_proba(F)  # absent classes get 0
        return proba
