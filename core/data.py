"""FeatureSet: every video's three sequences and label as arrays, and batches of it for torch.

Arrays may be float16 and memory-mapped (np.load(..., mmap_mode="r")); a batch reads only its rows and
converts them to float32 tensors, so a corpus larger than memory trains fine.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from core.fileio import atomic_savez
from core.modalities import MODALITIES


@dataclass
class FeatureSet:
    """N videos: visual (N,12,D_v), acoustic (N,6,D_a), text (N,T,D_t) zero-padded, text_lengths (N,)
    (0 = empty caption), labels (N,) int64 in 0..C-1 (-1 = no label), keys (N,) and class_names (C,)."""

    visual: np.ndarray
    acoustic: np.ndarray
    text: np.ndarray
    text_lengths: np.ndarray
    labels: np.ndarray
    keys: list[str]
    class_names: list[str]

    def __post_init__(self) -> None:
        n = len(self.labels)
        for name in ("visual", "acoustic", "text"):
            array = getattr(self, name)
            if array.ndim != 3:
                raise ValueError(f"FeatureSet.{name} must be (N, steps, features), got shape {array.shape}")
            if array.shape[0] != n:
                raise ValueError(f"FeatureSet.{name} has {array.shape[0]} rows, labels have {n}")
        self.text_lengths = np.asarray(self.text_lengths, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.keys = [str(k) for k in self.keys]
        self.class_names = [str(c) for c in self.class_names]
        if self.text_lengths.shape != (n,) or len(self.keys) != n:
            raise ValueError(f"text_lengths {self.text_lengths.shape} and keys ({len(self.keys)}) must have {n} rows")
        if n and (self.text_lengths.min() < 0 or self.text_lengths.max() > self.text.shape[1]):
            raise ValueError(f"text_lengths must lie in 0..{self.text.shape[1]}")
        if n and (self.labels.min() < -1 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in 0..{len(self.class_names) - 1} (or -1 for unlabelled), "
                             f"got {self.labels.min()}..{self.labels.max()}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, idx: Sequence[int] | np.ndarray) -> FeatureSet:
        """The rows `idx` (copied into memory), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return FeatureSet(self.visual[idx], self.acoustic[idx], self.text[idx], self.text_lengths[idx],
                          self.labels[idx], [self.keys[i] for i in idx], list(self.class_names))

    def save(self, path: str | Path) -> None:
        """Write one uncompressed .npz file, atomically (read back with FeatureSet.load)."""
        atomic_savez(path, visual=self.visual, acoustic=self.acoustic, text=self.text,
                     text_lengths=self.text_lengths, labels=self.labels,
                     keys=np.array(self.keys, dtype=str), class_names=np.array(self.class_names, dtype=str))

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        """Read a file written by save()."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"feature set not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["visual"], z["acoustic"], z["text"], z["text_lengths"], z["labels"],
                           z["keys"].tolist(), z["class_names"].tolist())
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a FeatureSet file ({exc})") from exc


def input_stats(data: FeatureSet, rows: np.ndarray, modalities: Sequence[str],
                chunk: int = 512) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-feature mean and std of each modality's steps over `rows` (text: real words only, never
    padding), accumulated in float64 chunk by chunk so memory-mapped float16 arrays stay on disk."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    arrays = {"visual": data.visual, "acoustic": data.acoustic, "textual": data.text}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in modalities:
        array = arrays[m]
        total = np.zeros(array.shape[-1])
        square = np.zeros(array.shape[-1])
        count = 0
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            block = np.asarray(array[part], dtype=np.float64)  # (b, T, D)
            if m == "textual":
                block = block[np.arange(block.shape[1])[None, :] < data.text_lengths[part][:, None]]  # (words, D)
            else:
                block = block.reshape(-1, block.shape[-1])
            total += block.sum(0)
            square += (block ** 2).sum(0)
            count += len(block)
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(square / max(count, 1) - mean ** 2, 0.0)) if count else np.ones_like(mean)
        out[m] = (mean.astype(np.float32), std.astype(np.float32))
    return out


def build_feature_set(
    visual: np.ndarray,
    acoustic: np.ndarray,
    token_lists: Sequence[Sequence[str]],
    embedder: Any,
    labels: np.ndarray | Sequence[int],
    keys: Sequence[str],
    class_names: Sequence[str],
    max_len: int = 30,
) -> FeatureSet:
    """A FeatureSet from FeatureStore output: tokens become word vectors (float16, zero-padded to max_len)
    through `embedder.encode_batch`; unknown words are dropped, so a caption may end up empty."""
    text, lengths = embedder.encode_batch(token_lists, max_len)  # (N, max_len, dim) float32, (N,)
    return FeatureSet(visual, acoustic, np.asarray(text, dtype=np.float16), lengths, np.asarray(labels),
                      list(keys), list(class_names))


class EpochBatches(Sampler[np.ndarray]):
    """Batches of positions 0..n-1: reshuffled every epoch from (seed, epoch), so a resumed run sees the
    same order; with world_size > 1 each rank takes its share (padded like DistributedSampler so every
    rank runs the same number of steps)."""

    def __init__(self, n: int, batch_size: int, shuffle: bool = False, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.rank, self.world_size, self.epoch = rank, world_size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _positions(self) -> np.ndarray:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        if self.world_size > 1:
            per_rank = -(-self.n // self.world_size)
            order = np.resize(order, per_rank * self.world_size)[self.rank::self.world_size]
        return order

    def __iter__(self) -> Iterator[np.ndarray]:
        order = self._positions()
        for start in range(0, len(order), self.batch_size):
            yield order[start:start + self.batch_size]

    def __len__(self) -> int:
        per_rank = -(-self.n // self.world_size)
        return -(-per_rank // self.batch_size)


class FeatureBatches(Dataset):
    """dataset[positions] -> (visual, acoustic, text, text_lengths, labels) float32/int64 tensors for the
    rows idx[positions]; the inputs of modalities not in `modalities` come back as None (never read)."""

    def __init__(self, data: FeatureSet, idx: np.ndarray, modalities: Sequence[str] = MODALITIES):
        self.data, self.idx, self.modalities = data, np.asarray(idx, dtype=np.int64), tuple(modalities)

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, positions: np.ndarray) -> tuple:
        rows = self.idx[np.asarray(positions, dtype=np.int64)]

        def floats(array: np.ndarray, modality: str) -> torch.Tensor | None:
            if modality not in self.modalities:
                return None
            return torch.from_numpy(np.asarray(array[rows], dtype=np.float32))

        return (floats(self.data.visual, "visual"), floats(self.data.acoustic, "acoustic"),
                floats(self.data.text, "textual"), torch.from_numpy(self.data.text_lengths[rows]),
                torch.from_numpy(self.data.labels[rows]))


def make_loader(
    data: FeatureSet,
    idx: Sequence[int] | np.ndarray | None,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    *,
    modalities: Sequence[str] = MODALITIES,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
) -> DataLoader:
    """Batches of the rows `idx` (all rows when None) in order, or shuffled per epoch: call
    `loader.sampler.set_epoch(epoch)` before each epoch. Each batch is a tuple
    (visual, acoustic, text, text_lengths, labels) of float32 / int64 tensors."""
    idx = np.arange(len(data)) if idx is None else np.asarray(idx, dtype=np.int64)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(data)):
        raise IndexError(f"row index out of range 0..{len(data) - 1}")
    batches = EpochBatches(len(idx), batch_size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
    return DataLoader(FeatureBatches(data, idx, modalities), sampler=batches, batch_size=None,
                      num_workers=num_workers, collate_fn=_keep)


def _keep(batch: tuple) -> tuple:
    """The dataset already returns tensors (and None for unread modalities): no collation."""
    return batch
