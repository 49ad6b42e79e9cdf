"""core/embeddings.py: the vectors a model's intermediates give, the UMAP layout, and the faiss index against
exact search."""
from __future__ import annotations

import numpy as np

from core import embeddings as emb


def _clustered(n: int, d: int, seed: int = 0, *, with_labels: bool = False):  # noqa: ANN202
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(20, d))
    labels = rng.integers(0, 20, n)
    X = (centres[labels] + rng.normal(size=(n, d))).astype(np.float32)
    return (X, labels) if with_labels else X


def test_joint_vector_is_the_mean_of_the_common_space_vectors() -> None:
    rng = np.random.default_rng(1)
    common = {m: rng.normal(size=(5, 8)).astype(np.float32) for m in ("visual", "acoustic", "textual")}
    out = emb.vectors({"modalities": ["visual", "acoustic", "textual"], "common": common, "hidden": {}})
    assert set(out) == {"joint", "visual", "acoustic", "textual"}
    np.testing.assert_allclose(out["joint"], (common["visual"] + common["acoustic"] + common["textual"]) / 3,
                               rtol=1e-6)
    np.testing.assert_array_equal(out["acoustic"], common["acoustic"])


def test_without_a_common_space_the_joint_vector_joins_the_scaled_hidden_states() -> None:
    hidden = {"visual": np.full((3, 4), 2.0, np.float32), "textual": np.ones((3, 2), np.float32)}
    out = emb.vectors({"modalities": ["visual", "textual"], "hidden": hidden})
    assert out["joint"].shape == (3, 6)
    # each block scaled to unit mean norm: no modality outweighs another by its raw scale
    np.testing.assert_allclose(np.linalg.norm(out["joint"][:, :4], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out["joint"][:, 4:], axis=1), 1.0, rtol=1e-6)


def test_hnsw_index_agrees_with_exact_search() -> None:
    X = _clustered(3000, 150)
    index = emb.build_index(X, emb.IndexConfig(exact_below=100))  # force the approximate index
    assert type(index).__name__ == "IndexHNSWFlat"
    queries = X[::30]
    _, found = emb.search(index, queries, 10)
    exact = np.concatenate(list(emb.exact_neighbours(X, queries, 10)))
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.95, recall


def test_exact_index_below_the_threshold_and_distances_are_l2(tmp_path) -> None:  # noqa: ANN001
    X = _clustered(200, 16)
    index = emb.build_index(X)
    assert type(index).__name__ == "IndexFlatL2"
    emb.save_index(index, tmp_path / "i.faiss")
    loaded = emb.load_index(tmp_path / "i.faiss")
    distances, rows = emb.search(loaded, X[:3], 4)
    for q in range(3):
        np.testing.assert_allclose(distances[q], np.linalg.norm(X[rows[q]] - X[q], axis=1), rtol=1e-4, atol=1e-4)
        assert rows[q][0] == q and distances[q][0] < 1e-3


def test_layout_fits_a_sample_and_places_the_rest() -> None:
    X, labels = _clustered(600, 12, with_labels=True)
    seen: list[tuple[int, int]] = []
    out = emb.layout(X, emb.LayoutConfig(max_fit=200, chunk=150), progress=lambda d, t: seen.append((d, t)))
    assert out.shape == (600, 2) and np.isfinite(out).all()
    assert seen[0] == (200, 600) and seen[-1] == (600, 600) and len(seen) == 4  # fit, then 3 transform chunks
    # placed points (fitted or transformed) land nearer their own cluster than the others
    d = np.linalg.norm(out[:, None] - out[None], axis=2)
    same = labels[:, None] == labels[None]
    assert d[same].mean() < 0.5 * d[~same].mean()
