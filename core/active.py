"""Which unlabelled video to label next: k-center greedy (farthest-first) coverage of the corpus before any
model, then the model's uncertainty (margin) blended with that coverage. Arrays in, an order out."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

EMBED_DIMS = 128  # random projection size: distances keep their ranks (Johnson-Lindenstrauss), 20k x 128 is cheap
GREEDY_PICKS = 500  # picks made one at a time; the rest follow by their score after these (cost O(picks * N * d))
UNCERTAINTY_WEIGHT = 0.7  # share of the blended score that is the model's uncertainty (the rest: distance)
CHUNK = 1024  # labelled videos per block of the distance computation ((N, CHUNK) float32 at a time)


@dataclass(frozen=True)
class Ranking:
    """Candidate row indices in queue order, with each pick's score, distance and uncertainty at its pick."""

    order: np.ndarray  # (M,) int64 indices into the candidate rows
    score: np.ndarray  # (M,) float64, what ranked it (distance, or the blend)
    distance: np.ndarray  # (M,) float64, standardised distance to the nearest labelled or earlier pick
    uncertainty: np.ndarray | None  # (M,) float64 in [0, 1], None before any model


def embed(visual: np.ndarray, acoustic: np.ndarray, text: np.ndarray, *, dims: int = EMBED_DIMS,
          seed: int = 0) -> np.ndarray:
    """Time-pooled visual (N,Tv,Dv), acoustic (N,Ta,Da) and per-video text means (N,Dt), each column standardised,
    each modality scaled to equal weight, then projected to `dims` with a seeded Gaussian matrix: (N, dims)."""
    blocks = []
    for block in (_pool(visual), _pool(acoustic), np.asarray(text, dtype=np.float32)):
        std = block.std(axis=0)
        z = (block - block.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)
        blocks.append(z / np.sqrt(max(block.shape[1], 1)))
    joined = np.concatenate(blocks, axis=1).astype(np.float32)
    if joined.shape[1] <= dims:
        return joined
    rng = np.random.default_rng(seed)
    projection = rng.standard_normal((joined.shape[1], dims)).astype(np.float32) / np.sqrt(dims)
    return joined @ projection


def _pool(seq: np.ndarray) -> np.ndarray:
    """Mean over time, in float32, one block of videos at a time (a memory-mapped float16 store stays on disk)."""
    seq = np.asarray(seq) if not isinstance(seq, np.ndarray) else seq
    out = np.empty((seq.shape[0], seq.shape[-1]), dtype=np.float32)
    for start in range(0, seq.shape[0], CHUNK):
        out[start:start + CHUNK] = np.asarray(seq[start:start + CHUNK], dtype=np.float32).mean(axis=1)
    return out


def min_distances(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance of each point to its nearest center, in blocks of CHUNK centers (inf without centers)."""
    best = np.full(len(points), np.inf, dtype=np.float32)
    points = np.asarray(points, dtype=np.float32)
    sq_points = (points ** 2).sum(axis=1)
    for start in range(0, len(centers), CHUNK):
        block = np.asarray(centers[start:start + CHUNK], dtype=np.float32)
        d2 = points @ block.T  # (N, chunk) in float32: a ranking needs no more
        d2 *= -2.0
        d2 += sq_points[:, None]
        d2 += (block ** 2).sum(axis=1)[None, :]
        np.minimum(best, d2.min(axis=1), out=best)
    return np.sqrt(np.maximum(best.astype(np.float64), 0.0))


def margin_uncertainty(probs: np.ndarray) -> np.ndarray:
    """1 - (p_top1 - p_top2) per row of probabilities (or of their top-k, sorted or not): 1 = a coin toss."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape[1] < 2:
        return np.zeros(len(probs))
    top2 = -np.partition(-probs, 1, axis=1)[:, :2]
    return np.clip(1.0 - (top2[:, 0] - top2[:, 1]), 0.0, 1.0)


def rank(points: np.ndarray, candidates: np.ndarray, labelled: np.ndarray, *, uncertainty: np.ndarray | None = None,
         weight: float = UNCERTAINTY_WEIGHT, picks: int = GREEDY_PICKS, seed: int = 0) -> Ranking:
    """Queue order of `candidates` (row indices of `points`) given the `labelled` rows. Without `uncertainty`
    (one value per candidate): k-center greedy, each pick the candidate farthest from every labelled video and
    earlier pick (the first, without labels, a seeded random one). With it: each pick maximises
    weight * uncertainty + (1 - weight) * distance / largest distance. After `picks` picks the rest follow by
    that score against the picks so far."""
    candidates = np.asarray(candidates, dtype=np.int64)
    n = len(candidates)
    if n == 0:
        empty = np.zeros(0)
        return Ranking(np.zeros(0, dtype=np.int64), empty, empty, None if uncertainty is None else empty)
    cand = points[candidates].astype(np.float32)
    dist = min_distances(cand, points[np.asarray(labelled, dtype=np.int64)])
    u = None if uncertainty is None else np.clip(np.asarray(uncertainty, dtype=np.float64), 0.0, 1.0)
    if np.isinf(dist).all():  # nothing labelled: the distance to the corpus centre stands in for coverage
        dist = np.linalg.norm(cand - cand.mean(axis=0), axis=1).astype(np.float64)
        if u is None:  # farthest-first needs a first center: a seeded random one
            dist[np.random.default_rng(seed).integers(n)] = np.inf
    taken = np.zeros(n, dtype=bool)
    sq = (cand.astype(np.float64) ** 2).sum(axis=1)
    order, score, at_pick = [], [], []
    with threadpool_limits(1):  # one small matrix-vector product per pick: BLAS threads only wait for each other
        _greedy(cand, sq, dist, u, weight, taken, min(picks, n), order, score, at_pick)
    rest = np.flatnonzero(~taken)
    if len(rest):
        s = _score(dist, u, weight)[rest]
        tail = rest[np.lexsort((rest, -s))]
        order += tail.tolist()
        score += _score(dist, u, weight)[tail].tolist()
        at_pick += dist[tail].tolist()
    idx = np.asarray(order, dtype=np.int64)
    distance = np.asarray(at_pick, dtype=np.float64)
    distance[~np.isfinite(distance)] = 0.0
    return Ranking(candidates[idx], np.asarray(score, dtype=np.float64), distance, None if u is None else u[idx])


def _greedy(cand: np.ndarray, sq: np.ndarray, dist: np.ndarray, u: np.ndarray | None, weight: float,
            taken: np.ndarray, picks: int, order: list, score: list, at_pick: list) -> None:
    """Make `picks` picks in place: `dist` (min distances) and `taken` are updated, the lists appended."""
    for _ in range(picks):
        s = _score(dist, u, weight)
        s[taken] = -np.inf
        i = int(np.argmax(s))
        order.append(i)
        score.append(float(s[i]) if np.isfinite(s[i]) else float(np.nanmax(np.where(np.isfinite(dist), dist, 0))))
        at_pick.append(dist[i])
        taken[i] = True
        step = np.sqrt(np.maximum(sq - 2.0 * (cand @ cand[i]) + sq[i], 0.0))  # one matrix-vector product
        np.minimum(dist, step, out=dist)


def _score(dist: np.ndarray, u: np.ndarray | None, weight: float) -> np.ndarray:
    if u is None:
        return dist.copy()
    finite = dist[np.isfinite(dist)]
    scale = finite.max() if len(finite) and finite.max() > 0 else 1.0
    return weight * u + (1.0 - weight) * np.minimum(dist / scale, 1.0)
