"""Every split function of core.splits pinned on one small seeded input: a change that moves a video from one
split to another fails here (the recorded reports and cross-validation sets depend on these partitions)."""
from __future__ import annotations

import numpy as np
import pytest

from core import evaluate, protocol, train
from core.splits import (
    holdout_split,
    kfold_assignment,
    random_splits,
    random_train_val_test,
    split_train_val,
    stratified_take,
)

LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 0, 1, 2, 0])


def _lists(arrays):
    return [a.tolist() for a in arrays]


def test_split_train_val_partition():
    train_rows, val_rows = split_train_val(LABELS, np.arange(2, 16), 0.25, seed=3)
    assert train_rows.tolist() == [3, 4, 6, 8, 9, 10, 12, 13, 14, 15]
    assert val_rows.tolist() == [2, 5, 7, 11]
    assert train_rows.dtype == val_rows.dtype == np.int64


def test_random_splits_partitions():
    assert [_lists(p) for p in random_splits(16, 0.25, 2, seed=5, stratify=LABELS)] == [
        [[0, 2, 3, 5, 6, 8, 9, 10, 11, 13, 14, 15], [1, 4, 7, 12]],
        [[1, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15], [0, 2, 5, 7]],
    ]
    assert [_lists(p) for p in random_splits(10, 3, 2, seed=1)] == [
        [[0, 1, 2, 3, 5, 6, 9], [4, 7, 8]],
        [[0, 1, 3, 5, 6, 8, 9], [2, 4, 7]],
    ]


def test_stratified_take_positions():
    assert stratified_take(LABELS, 5, np.random.default_rng(9)).tolist() == [3, 8, 9, 13, 15]


def test_random_train_val_test_partition_and_make_splits_delegates():
    want = [
        {"train": [0, 5, 6, 7, 9, 10, 11, 12, 13, 15], "val": [3, 8], "test": [1, 2, 4, 14]},
        {"train": [0, 2, 4, 5, 8, 9, 10, 11, 13, 15], "val": [3, 14], "test": [1, 6, 7, 12]},
    ]
    got = random_train_val_test(LABELS, 2, 0.25, 4, 0.2)
    assert [{k: v.tolist() for k, v in s.items()} for s in got] == want
    via_protocol = protocol.make_splits(LABELS, 2, 0.25, 4, val_fraction=0.2)
    assert [{k: v.tolist() for k, v in s.items()} for s in via_protocol] == want


def test_make_splits_keeps_its_errors():
    with pytest.raises(protocol.ProtocolError, match="cannot split 6 videos: test_size 0.01 leaves 0 of 6") as err:
        protocol.make_splits(np.array([0, 1] * 3), 2, 0.01, 0)
    assert isinstance(err.value.__cause__, ValueError)
    with pytest.raises(protocol.ProtocolError, match="^6 videos are too few to carve a validation slice"):
        protocol.make_splits(np.array([0, 1] * 3), 2, 0.3, 0)


def test_holdout_split_partition():
    train_rows, test_rows = holdout_split(LABELS, test_fraction=0.25, seed=2)
    assert train_rows.tolist() == [0, 1, 2, 5, 6, 8, 10, 11, 12, 13, 14]
    assert test_rows.tolist() == [3, 4, 7, 9, 15]


def test_kfold_assignment_folds():
    assert kfold_assignment(LABELS, folds=3, seed=0).tolist() == [2, 1, 0, 1, 2, 0, 1, 1, 0, 1, 2, 2, 0, 0, 0, 2]


def test_old_import_paths_are_the_same_functions():
    assert train.split_train_val is split_train_val
    assert evaluate.random_splits is random_splits and evaluate.stratified_take is stratified_take
