"""Every split of the project in one place.

- The stable evaluation split: each video is put in train or test once, from its content hash and a
  salt (`split_score`), balanced per label as far as the counts allow (`assign_stable_splits`). A later
  label correction never moves it.
- Stratified holdout and k-fold splits of row indices (`holdout_split`, `kfold_assignment`), seeded.
- The paper's protocol (section 5.1): `random_splits` train/test splits of range(n), each a pure function of
  its arguments, with `stratified_take` per class; `random_train_val_test` adds the validation slice that
  core/protocol.py uses (`make_splits`), `split_train_val` the one of a plain training run (core.train, core.ddp).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

TRAIN = "train"
TEST = "test"
SPLITS = (TRAIN, TEST)
PAPER_TEST_SIZE = 2093 / 20093  # 2,093 test videos of 20,093 (18,000 train)


def split_score(salt: str, sha256: str) -> float:
    """A uniform number in [0, 1) fixed by the salt and the video's content hash."""
    digest = hashlib.sha256(f"{salt}:{sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class SplitCandidate:
    key: Hashable  # what the caller uses to find the video again (its database id)
    sha256: str
    label: Hashable | None  # current label; None for an unlabelled video


def assign_stable_splits(
    new: Iterable[SplitCandidate], *, salt: str, test_share: float,
    existing: Mapping[Hashable | None, tuple[int, int]] | None = None,
) -> dict[Hashable, str]:
    """Splits for videos that have none yet, leaving every assigned video where it is.

    Per label, the test count is brought towards round(test_share * n) over old and new videos together
    (never the label's last training video); the new videos of a label go to test in the order of their
    split_score, so the choice depends only on content hashes, the salt and the counts. Unlabelled videos go
    to test when their score is below test_share. `existing` maps a label to its (n_train, n_test) already
    assigned. If the whole corpus would end up without a test video, the lowest-scored new video of the
    largest label that has two or more goes to test (a tiny corpus still gets one held-out video)."""
    if not 0.0 <= test_share < 1.0:
        raise ValueError(f"test share must be in [0, 1), got {test_share}")
    existing = dict(existing or {})
    by_label: dict[Hashable | None, list[tuple[float, SplitCandidate]]] = defaultdict(list)
    for cand in new:
        by_label[cand.label].append((split_score(salt, cand.sha256), cand))
    out: dict[Hashable, str] = {}
    for label, members in by_label.items():
        members.sort(key=lambda pair: (pair[0], pair[1].sha256))
        if label is None:
            out.update({c.key: TEST if u < test_share else TRAIN for u, c in members})
            continue
        n_train, n_test = existing.get(label, (0, 0))
        total = n_train + n_test + len(members)
        target = min(int(np.floor(test_share * total + 0.5)), total - 1)
        need = max(0, min(target - n_test, len(members)))
        out.update({c.key: TEST if i < need else TRAIN for i, (_u, c) in enumerate(members)})
    already_test = sum(t for label, (_n, t) in existing.items() if label is not None)
    if test_share > 0 and already_test == 0 and not any(s == TEST for s in out.values()):
        sizes = {label: len(m) + sum(existing.get(label, (0, 0))) for label, m in by_label.items()
                 if label is not None}
        eligible = [label for label, n in sizes.items() if n >= 2]
        if eligible:
            biggest = max(eligible, key=lambda label: (sizes[label], str(label)))
            out[by_label[biggest][0][1].key] = TEST
    return out


def holdout_split(labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified train/test split of row indices (every class keeps at least one training row)."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = min(len(members) - 1, int(round(len(members) * test_fraction)))
        test_idx.extend(members[:n_test])
        train_idx.extend(members[n_test:])
    if not test_idx and test_fraction > 0:  # tiny corpora: hold out one row of the largest class, never none
        classes, counts = np.unique(labels, return_counts=True)
        if counts.max() >= 2:
            donor = rng.permutation(np.flatnonzero(labels == classes[counts.argmax()]))[0]
            train_idx.remove(donor)
            test_idx.append(donor)
    return np.sort(np.array(train_idx, dtype=np.int64)), np.sort(np.array(test_idx, dtype=np.int64))


def kfold_assignment(labels: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of every row, stratified by label (scikit-learn's StratifiedKFold, shuffled with
    the seed). A label with fewer rows than folds is spread over as many folds as it has rows."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    if len(labels) < folds:
        raise ValueError(f"{len(labels)} labelled videos cannot fill {folds} folds")
    assignment = np.full(len(labels), -1, dtype=np.int64)
    import warnings

    with warnings.catch_warnings():  # "least populated class has only n members": handled as documented
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for fold, (_train, test) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
            assignment[test] = fold
    return assignment


# ----------------------------------------------------------------- the paper's random splits


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes in proportion to `counts` (largest remainder), at most count-1 each
    (a class keeps at least one member on the other side) when that is possible."""
    cap = np.maximum(counts - 1, 0)
    if total > cap.sum():  # not possible while keeping one of each: allow taking whole classes
        cap = counts.copy()
    quota = counts * total / max(counts.sum(), 1)
    take = np.minimum(np.floor(quota).astype(np.int64), cap)
    remainder = quota - np.floor(quota)
    for c in np.argsort(-remainder, kind="stable"):
        if take.sum() >= total:
            break
        if take[c] < cap[c]:
            take[c] += 1
    while take.sum() < total:  # rounding left some over: give them to classes with room
        room = np.flatnonzero(take < cap)
        take[room[np.argmax(cap[room] - take[room])]] += 1
    return take


def stratified_take(labels: np.ndarray, n_take: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of `n_take` items drawn per class in proportion to class size (sorted)."""
    labels = np.asarray(labels)
    if not 0 <= n_take <= len(labels):
        raise ValueError(f"cannot take {n_take} of {len(labels)} items")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    take = _allocate(counts, n_take)
    chosen = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(take)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def random_splits(n: int, test_size: float | int = PAPER_TEST_SIZE, n_splits: int = 10, seed: int = 0,
                  stratify: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The paper's protocol: `n_splits` random train/test splits of range(n), test share `test_size`
    (a fraction, or a count), each a pure function of (n, test_size, seed, split number, stratify),
    so recording those arguments records the splits. Indices sorted int64."""
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"test_size {test_size} leaves {n_test} of {n} items for testing")
    if stratify is not None and len(stratify) != n:
        raise ValueError(f"stratify has {len(stratify)} labels for {n} items")
    splits = []
    for split in range(n_splits):
        rng = np.random.default_rng([seed, split])
        if stratify is None:
            test = np.sort(rng.permutation(n)[:n_test])
        else:
            test = stratified_take(np.asarray(stratify), n_test, rng)
        mask = np.zeros(n, dtype=bool)
        mask[test] = True
        splits.append((np.flatnonzero(~mask).astype(np.int64), test.astype(np.int64)))
    return splits


def random_train_val_test(labels: np.ndarray, n_splits: int, test_size: float, seed: int,
                          val_fraction: float) -> list[dict[str, np.ndarray]]:
    """`n_splits` random train/val/test splits (``random_splits``, stratified by class), each with a stratified
    validation slice of ``val_fraction`` carved from its training part. ValueError when the labels are too few."""
    labels = np.asarray(labels)
    try:
        pairs = random_splits(len(labels), test_size, n_splits, seed, stratify=labels)
    except ValueError as exc:
        raise ValueError(f"cannot split {len(labels)} videos: {exc}") from exc
    splits = []
    for s, (train, test) in enumerate(pairs):
        n_val = int(round(val_fraction * len(train)))
        if n_val < 1 or n_val >= len(train):
            raise ValueError(f"{len(labels)} videos are too few to carve a validation slice from training")
        pos = stratified_take(labels[train], n_val, np.random.default_rng([seed, s, 1]))
        mask = np.zeros(len(train), dtype=bool)
        mask[pos] = True
        splits.append({"train": train[~mask], "val": train[mask], "test": test})
    return splits


def split_train_val(labels: np.ndarray, idx: np.ndarray, val_fraction: float = 0.1,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split the rows `idx` into (train, val), stratified by label: each class gives its share to
    validation while keeping at least one training row where it can. Sorted int64 row indices."""
    idx = np.asarray(idx, dtype=np.int64)
    n_val = int(round(len(idx) * val_fraction))
    if val_fraction > 0 and len(idx) >= 2:
        n_val = min(max(n_val, 1), len(idx) - 1)
    picked = stratified_take(np.asarray(labels)[idx], n_val, np.random.default_rng([seed, 1]))
    mask = np.zeros(len(idx), dtype=bool)
    mask[picked] = True
    return np.sort(idx[~mask]), np.sort(idx[mask])
