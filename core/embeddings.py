"""Embeddings of a model (its common space), their 2-D layout and a nearest-neighbour index.

    per-modality vector  v_m = x_m = W_m h_m + b_m     the model's common-space vector of modality m    (N, n)
    joint vector         j   = mean over m of x_m      one point per video in the shared space           (N, n)

EASTERN projects every modality into one common space (eq. 4) before its shared dictionary, so the per-modality
vectors are comparable and their mean is the video's place in that space. A model without a common space (LSTMs)
has its last hidden states instead: v_m = h_m, and j = [h_v; h_a; h_t], each block scaled to unit mean norm.

The layout is UMAP (umap-learn); above `max_fit` points it is fitted on a seeded sample and the rest are placed
with `transform`, in chunks, so a 200k corpus costs a 50k fit. The index is faiss: exact (flat L2) below
`exact_below` vectors, HNSW above.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.modalities import MODALITIES

JOINT = "joint"
SPACES: tuple[str, ...] = (JOINT, *MODALITIES)  # the spaces a map or a search is drawn in
VERSION = "emb-v1"  # bump when the recipe of the vectors changes: artifacts of another version are rebuilt


def vectors(inter: dict[str, Any]) -> dict[str, np.ndarray]:
    """space -> (N, D) float32 from core.train.predict_intermediates' output (the model's modalities only)."""
    modalities = list(inter["modalities"])
    common = inter.get("common") or {}
    if all(m in common for m in modalities):
        per = {m: np.asarray(common[m], np.float32) for m in modalities}
        joint = np.mean(np.stack([per[m] for m in modalities]), axis=0)
    else:
        per = {m: np.asarray(inter["hidden"][m], np.float32) for m in modalities}
        blocks = [per[m] / max(float(np.linalg.norm(per[m], axis=1).mean()), 1e-12) for m in modalities]
        joint = np.concatenate(blocks, axis=1)
    return {JOINT: joint.astype(np.float32), **per}


@dataclass(frozen=True)
class LayoutConfig:
    n_neighbors: int = 15
    min_dist: float = 0.1
    max_fit: int = 50_000  # above: fit on a sample of this many, transform the rest
    chunk: int = 20_000  # rows placed per transform call (one progress report each)
    seed: int = 0


def layout(X: np.ndarray, cfg: LayoutConfig = LayoutConfig(), *,
           progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """2-D coordinates (N, 2) float32 of the rows of X (UMAP; a sample fit above cfg.max_fit rows)."""
    import umap

    n = len(X)
    if n < 4:  # UMAP needs a few neighbours; a handful of points sit on a line
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, np.float32)])
    rng = np.random.default_rng(cfg.seed)
    fit_rows = np.sort(rng.choice(n, cfg.max_fit, replace=False)) if n > cfg.max_fit else np.arange(n)
    reducer = umap.UMAP(n_neighbors=min(cfg.n_neighbors, n - 1), min_dist=cfg.min_dist, random_state=cfg.seed,
                        n_jobs=1, init="spectral" if n > cfg.n_neighbors + 2 else "random")
    out = np.zeros((n, 2), np.float32)
    out[fit_rows] = reducer.fit_transform(X[fit_rows])
    done = len(fit_rows)
    if progress:
        progress(done, n)
    rest = np.setdiff1d(np.arange(n), fit_rows)
    for start in range(0, len(rest), cfg.chunk):
        part = rest[start:start + cfg.chunk]
        out[part] = reducer.transform(X[part])
        done += len(part)
        if progress:
            progress(done, n)
    return out


# ----------------------------------------------------------------- nearest neighbours


@dataclass(frozen=True)
class IndexConfig:
    exact_below: int = 5_000  # flat (exact) L2 below this many vectors, HNSW above
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 96


def build_index(X: np.ndarray, cfg: IndexConfig = IndexConfig()) -> Any:
    """A faiss index over the rows of X (L2): exact below cfg.exact_below rows, HNSW above."""
    import faiss

    X = np.ascontiguousarray(X, dtype=np.float32)
    if len(X) < cfg.exact_below:
        index = faiss.IndexFlatL2(X.shape[1])
    else:
        index = faiss.IndexHNSWFlat(X.shape[1], cfg.hnsw_m)
        index.hnsw.efConstruction = cfg.ef_construction
        index.hnsw.efSearch = cfg.ef_search
    index.add(X)
    return index


def save_index(index: Any, path: Path) -> None:
    """Write an index atomically (faiss writes to a path: a temporary one beside it, then renamed)."""
    import faiss

    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    tmp.replace(path)


def load_index(path: Path, cfg: IndexConfig = IndexConfig()) -> Any:
    import faiss

    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = cfg.ef_search
    return index


def search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(distances (Q, k) L2, row indices (Q, k); -1 where fewer than k rows exist)."""
    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    squared, rows = index.search(q, min(k, index.ntotal))
    return np.sqrt(np.maximum(squared, 0.0)), rows


def exact_neighbours(X: np.ndarray, queries: np.ndarray, k: int, chunk: int = 1024) -> Iterator[np.ndarray]:
    """The exact k nearest rows of X (L2) for each chunk of queries (the reference a faiss index is checked
    against)."""
    Xf = X.astype(np.float64)
    norms = (Xf ** 2).sum(1)
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk].astype(np.float64)
        d = norms[None, :] - 2 * q @ Xf.T + (q ** 2).sum(1)[:, None]
        yield np.argsort(d, axis=1, kind="stable")[:, :k]
