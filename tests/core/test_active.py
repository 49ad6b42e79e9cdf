"""core.active: k-center greedy covers every cluster before repeating one, starts from the labelled set, and the
uncertainty blend puts what the model cannot decide first among comparable videos."""
from __future__ import annotations

import numpy as np

from core.active import embed, margin_uncertainty, min_distances, rank


def _clusters(n_per: int = 20, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=20.0, size=(k, 8))
    points = np.concatenate([c + rng.normal(size=(n_per, 8)) for c in centres]).astype(np.float32)
    return points, np.repeat(np.arange(k), n_per)


def test_kcenter_covers_every_cluster_first() -> None:
    points, cluster = _clusters()
    r = rank(points, np.arange(len(points)), np.zeros(0, dtype=np.int64), seed=3)
    assert sorted(r.order.tolist()) == list(range(len(points)))  # every candidate once
    assert len(set(cluster[r.order[:5]])) == 5
    assert r.distance[1] >= r.distance[5]  # farther picks first


def test_kcenter_starts_from_the_labelled_set_and_is_deterministic() -> None:
    points, cluster = _clusters()
    labelled = np.flatnonzero(cluster < 2)
    candidates = np.flatnonzero(cluster >= 2)
    a = rank(points, candidates, labelled, picks=10)
    b = rank(points, candidates, labelled, picks=10)
    assert np.array_equal(a.order, b.order)
    assert set(cluster[a.order[:3]]) == {2, 3, 4}  # the clusters nobody labelled come first


def test_uncertainty_blend_puts_the_undecided_first_among_equals() -> None:
    points, cluster = _clusters()
    labelled = np.flatnonzero(np.isin(np.arange(len(points)) % 20, [0, 1]))  # two labels in every cluster
    candidates = np.setdiff1d(np.arange(len(points)), labelled)
    u = np.full(len(candidates), 0.1)
    unsure = candidates[cluster[candidates] == 3][:2]
    u[np.isin(candidates, unsure)] = 0.95
    r = rank(points, candidates, labelled, uncertainty=u, picks=20)
    assert set(r.order[:2].tolist()) == set(unsure.tolist())
    assert r.uncertainty is not None and r.uncertainty[0] == 0.95
    assert 3 not in cluster[r.order[2:7]]  # then coverage again: cluster 3 was just covered by those two


def test_margin_and_distances() -> None:
    probs = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.7, 0.1]])
    assert np.allclose(margin_uncertainty(probs), [1.0, 0.0, 0.5])
    pts = np.array([[0.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    assert np.allclose(min_distances(pts, pts[:1]), [0.0, 5.0])


def test_embed_projects_deterministically() -> None:
    rng = np.random.default_rng(0)
    visual, acoustic, text = rng.normal(size=(30, 12, 300)), rng.normal(size=(30, 6, 512)), rng.normal(size=(30, 100))
    out = embed(visual, acoustic, text, dims=64)
    assert out.shape == (30, 64) and np.isfinite(out).all()
    assert np.array_equal(out, embed(visual, acoustic, text, dims=64))
