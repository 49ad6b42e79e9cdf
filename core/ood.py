"""Out-of-distribution score: how far a video's representation lies from the model's training videos.

    z        = (x - mean_ref) / std_ref                                standardised               (N, D)
    d(x)     = mean L2 distance of z to its k nearest reference vectors (k = 10)                 (N,)
    score(x) = d(x) / threshold,  threshold = 99th percentile of d over held-out training videos

So 1.0 is the threshold: above it a video is further from the training videos than 99% of held-out ones.
L2 rather than cosine: a video far out along the training data's own directions (a magnitude no training
video reaches) is as unlike them as one pointing elsewhere. Exact kNN in chunks; reference sets above
`max_reference` vectors are subsampled (deterministically).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.fileio import atomic_savez

VERSION = "ood-v3"  # bump when the score's recipe changes: stored calibrations of another version are rebuilt
SPACES = ("common+input", "input")  # common space + pooled inputs, or pooled inputs alone (no common space)


class OodError(ValueError):
    """A calibration that cannot be built or read (too few vectors, a damaged file)."""


@dataclass(frozen=True)
class OodConfig:
    k: int = 10
    percentile: float = 99.0
    max_reference: int = 10_000  # 200k videos x 10k references x 450 dims: minutes on 2 cores (50k: 5x that)
    min_calibration: int = 20  # fewer held-out videos: add leave-one-out scores of the reference videos
    chunk: int = 256
    seed: int = 0


@dataclass(frozen=True)
class Calibration:
    """Reference vectors (already standardised), their standardisation and the threshold."""

    reference: np.ndarray  # (R, D) float32
    mean: np.ndarray  # (D,)
    std: np.ndarray  # (D,)
    threshold: float
    space: str
    feature_version: str
    n_calibration: int
    calibration_kind: str  # "validation" | "validation+leave-one-out"
    config: OodConfig = field(default_factory=OodConfig)
    version: str = VERSION

    def describe(self) -> dict:
        """What made this calibration (the run's record), without the arrays."""
        return {"version": self.version, "space": self.space, "feature_version": self.feature_version,
                "threshold": self.threshold, "n_reference": int(len(self.reference)),
                "n_calibration": self.n_calibration, "calibration_kind": self.calibration_kind,
                "config": asdict(self.config)}


def representation(common: dict[str, np.ndarray], pooled: dict[str, np.ndarray],
                   modalities: list[str] | tuple[str, ...]) -> tuple[np.ndarray, str, list[int]]:
    """(vectors (N, D), space, block sizes): the model's common-space vectors of its modalities followed by the
    mean-pooled input features; inputs alone for a model without a common space (lstms). What the model reads
    catches footage its barely trained common space maps near the training videos; each block weighs the same."""
    blocks = [pooled[m] for m in modalities]
    space = "input"
    if all(m in common for m in modalities):
        blocks = [common[m] for m in modalities] + blocks
        space = "common+input"
    return (np.concatenate(blocks, axis=1).astype(np.float32), space, [int(b.shape[1]) for b in blocks])


def _standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (np.asarray(x, np.float32) - mean) / std


def knn_distance(queries: np.ndarray, reference: np.ndarray, k: int, *, chunk: int = 256,
                 exclude_self: bool = False) -> np.ndarray:
    """Mean L2 distance (N,) of the queries to their k nearest reference rows; with exclude_self
    the queries are the reference itself and each row skips its own match."""
    skip = 1 if exclude_self else 0
    k = max(1, min(k, len(reference) - skip))
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    out = np.empty(len(queries), np.float32)
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        sq = q @ reference.T  # (c, R), then |q|^2 + |r|^2 - 2 q.r in place (one c x R buffer)
        sq *= -2.0
        sq += ref_sq[None, :]
        sq += np.einsum("ij,ij->i", q, q)[:, None]
        if exclude_self:
            rows = np.arange(sq.shape[0])
            sq[rows, start + rows] = np.inf
        nearest = np.partition(sq, k - 1, axis=1)[:, :k]
        out[start:start + chunk] = np.sqrt(np.maximum(nearest, 0.0)).mean(axis=1)
    return out


def calibrate(reference: np.ndarray, held_out: np.ndarray, *, space: str, feature_version: str,
              blocks: list[int] | None = None, config: OodConfig = OodConfig()) -> Calibration:
    """Calibrate on training vectors (N_r, D) and held-out training-distribution vectors (N_h, D); `blocks` (sizes
    summing to D) weigh each block of dimensions the same in the distance, whatever its size."""
    if space not in SPACES:
        raise OodError(f"unknown representation space {space!r}; choose from {', '.join(SPACES)}")
    reference = np.asarray(reference, np.float32)
    if len(reference) < 2:
        raise OodError(f"{len(reference)} training vectors: an out-of-distribution score needs at least 2")
    if len(reference) > config.max_reference:
        keep = np.sort(np.random.default_rng(config.seed).choice(len(reference), config.max_reference, replace=False))
        reference = reference[keep]
    mean = reference.mean(axis=0)
    blocks = blocks or [reference.shape[1]]
    if sum(blocks) != reference.shape[1]:
        raise OodError(f"blocks {blocks} do not cover the {reference.shape[1]} dimensions")
    std = reference.std(axis=0)
    # a dimension (nearly) constant over few training videos (a ReLU feature always 0) would turn any change
    # into an enormous distance: floor each std at a tenth of its block's mean std
    floors = [max(0.1 * float(part.mean()), 1e-6) for part in np.split(std, np.cumsum(blocks)[:-1])]
    std = np.maximum(std, np.repeat(np.asarray(floors, np.float32), blocks))
    std = std * np.repeat(np.sqrt(np.asarray(blocks, np.float32)), blocks)  # each block weighs the same
    ref = _standardise(reference, mean, std)
    scores = [knn_distance(_standardise(held_out, mean, std), ref, config.k, chunk=config.chunk)] if len(held_out) \
        else []
    kind = "validation"
    if len(held_out) < config.min_calibration:
        scores.append(knn_distance(ref, ref, config.k, chunk=config.chunk, exclude_self=True))
        kind = "validation+leave-one-out"
    calibration = np.concatenate(scores)
    threshold = max(float(np.percentile(calibration, config.percentile)), 1e-6)
    return Calibration(reference=ref, mean=mean, std=std, threshold=threshold, space=space,
                       feature_version=feature_version, n_calibration=int(len(calibration)),
                       calibration_kind=kind, config=config)


def score(cal: Calibration, vectors: np.ndarray) -> np.ndarray:
    """Scores (N,) float32: kNN distance over the threshold (1.0 = as far as the 99th held-out percentile)."""
    queries = _standardise(vectors, cal.mean, cal.std)
    return knn_distance(queries, cal.reference, cal.config.k, chunk=cal.config.chunk) / np.float32(cal.threshold)


def save(path: Path, cal: Calibration) -> None:
    """Write the calibration (arrays + its description as JSON) atomically."""
    atomic_savez(path, reference=cal.reference.astype(np.float32), mean=cal.mean, std=cal.std,
                 describe=np.array(json.dumps(cal.describe())))


def description(path: Path) -> dict:
    """A saved calibration's description alone (space, threshold, sizes), without reading its vectors."""
    try:
        with np.load(path) as z:
            return json.loads(str(z["describe"]))
    except (OSError, ValueError, KeyError) as exc:
        raise OodError(f"{path}: unreadable out-of-distribution calibration ({exc})") from None


def load(path: Path) -> Calibration:
    """Read a calibration written by `save` (OodError when damaged)."""
    try:
        with np.load(path) as z:
            info = json.loads(str(z["describe"]))
            return Calibration(reference=z["reference"], mean=z["mean"], std=z["std"], threshold=info["threshold"],
                               space=info["space"], feature_version=info["feature_version"],
                               n_calibration=info["n_calibration"], calibration_kind=info["calibration_kind"],
                               config=OodConfig(**info["config"]), version=info["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OodError(f"{path}: unreadable out-of-distribution calibration ({exc})") from None
