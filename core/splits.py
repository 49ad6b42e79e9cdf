"""Every split of the project in one place.

- The stable evaluation split: each video is put in train or test once, from its content hash and a
  salt (`split_score`), balanced per label as far as the counts allow (`assign_stable_splits`). A later
  label correction never moves it.
- Stratified holdout and k-fold splits of row indices (`holdout_split`, `kfold_assignment`), seeded.

The paper's random-splits protocol (core/protocol.py) draws its own 10 splits with `holdout_split`.
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
