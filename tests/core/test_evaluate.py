"""Metrics against scikit-learn, the ten-split protocol, the paired t-test, the corrected resampled t-test, Holm."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ttest_rel
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from core.evaluate import (
    PAPER_TEST_SIZE,
    atom_sparsity,
    corrected_ttest,
    holm,
    mean_std,
    paired_ttest,
    random_splits,
    scores,
)


@pytest.mark.parametrize("seed", range(6))
def test_scores_equal_scikit_learn_including_missing_classes(seed):
    rng = np.random.default_rng(seed)
    n_classes = 22
    # long-tailed, some classes never true, some never predicted, some neither
    y_true = rng.choice(15, size=200, p=np.linspace(2, 0.1, 15) / np.linspace(2, 0.1, 15).sum())
    y_pred = np.where(rng.random(200) < 0.5, y_true, rng.integers(3, 18, 200))
    s = scores(y_true, y_pred, n_classes, [f"c{i}" for i in range(n_classes)])
    assert s["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro"), abs=1e-12)
    assert s["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)
    assert s["accuracy"] == pytest.approx(np.mean(y_true == y_pred))
    assert s["n_classes_in_macro"] == len(np.union1d(y_true, y_pred))
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=range(n_classes), zero_division=0)
    assert [c["precision"] for c in s["per_class"]] == pytest.approx(p)
    assert [c["recall"] for c in s["per_class"]] == pytest.approx(r)
    assert [c["f1"] for c in s["per_class"]] == pytest.approx(f)
    assert [c["support"] for c in s["per_class"]] == support.tolist()
    assert s["per_class"][4]["name"] == "c4"
    assert s["confusion"] == confusion_matrix(y_true, y_pred, labels=range(n_classes)).tolist()


def test_scores_edge_cases():
    perfect = scores([0, 1, 1], [0, 1, 1], 5)
    assert perfect["micro_f1"] == perfect["macro_f1"] == 1.0
    assert scores([], [], 3)["macro_f1"] == 0.0
    with pytest.raises(ValueError, match="outside"):
        scores([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="labels"):
        scores([0, 1], [0], 3)


def test_random_splits_follow_the_paper_and_repeat():
    splits = random_splits(20093)
    assert len(splits) == 10
    assert all(len(test) == 2093 and len(train) == 18000 for train, test in splits)
    assert PAPER_TEST_SIZE * 20093 == pytest.approx(2093)
    for (train, test), (train2, test2) in zip(splits, random_splits(20093), strict=True):
        assert np.array_equal(test, test2) and np.array_equal(train, train2)
        assert not np.intersect1d(train, test).size and len(np.union1d(train, test)) == 20093
    assert not np.array_equal(splits[0][1], splits[1][1])
    assert not np.array_equal(random_splits(20093, seed=1)[0][1], splits[0][1])


def test_stratified_splits_keep_class_shares():
    labels = np.repeat(np.arange(4), [500, 300, 150, 50])
    for train, test in random_splits(1000, test_size=200, n_splits=3, seed=0, stratify=labels):
        assert len(test) == 200
        assert np.bincount(labels[test], minlength=4).tolist() == [100, 60, 30, 10]
        assert set(labels[train]) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="test_size"):
        random_splits(10, test_size=10)


def test_paired_ttest():
    rng = np.random.default_rng(0)
    a, b = rng.random(10), rng.random(10)
    t, p = paired_ttest(a, b)
    ref = ttest_rel(a, b)
    assert t == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    assert paired_ttest(a, a) == (0.0, 1.0)  # not NaN
    t, p = paired_ttest(a + 0.1, a)
    assert t == np.inf and p == 0.0
    _, p_far = paired_ttest(a + 0.5 + rng.normal(0, 0.01, 10), a)
    assert p_far < 1e-6
    with pytest.raises(ValueError):
        paired_ttest([1.0], [2.0])


def test_mean_std_and_sparsity():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0)
    codes = np.zeros((2, 3, 4))
    codes[:, 0, :2] = 1.0
    s = atom_sparsity(codes)
    assert s["overall"] == pytest.approx(1 - 4 / 24) and s["per_modality"] == [0.5, 1.0, 1.0]


def test_corrected_ttest_by_hand_on_a_small_array():
    # differences 0.02, 0.04, 0.00, 0.06, 0.03: mean 0.03, sample variance 0.0005 (by hand: squares of
    # -0.01, 0.01, -0.03, 0.03, 0 sum to 0.002, / 4)
    a = np.array([0.62, 0.64, 0.60, 0.66, 0.63])
    b = np.array([0.60, 0.60, 0.60, 0.60, 0.60])
    t, p = corrected_ttest(a, b, n_train=900, n_test=100)
    t_hand = 0.03 / np.sqrt((1 / 5 + 100 / 900) * 0.0005)  # = 2.40535...
    assert t == pytest.approx(t_hand, rel=1e-9) and t == pytest.approx(2.40535, abs=1e-4)
    from scipy.stats import t as student_t

    assert p == pytest.approx(2 * student_t.sf(t_hand, df=4), rel=1e-9)
    # the plain test on the same numbers: t = 0.03 / sqrt(0.0005 / 5) = 3.0, a smaller p
    t_naive, p_naive = paired_ttest(a, b)
    assert t_naive == pytest.approx(3.0, rel=1e-9) and p_naive < p
    assert corrected_ttest(b, a, 900, 100)[0] == pytest.approx(-t_hand)  # antisymmetric, same p
    assert corrected_ttest(a, a, 900, 100) == (0.0, 1.0)


def test_corrected_ttest_is_the_plain_one_without_overlap_and_reproduces_the_issue_numbers():
    rng = np.random.default_rng(3)
    a, b = rng.random(10), rng.random(10)
    # n_test / n_train -> 0: the correction vanishes and the plain paired t-test comes back
    assert corrected_ttest(a, b, 1e12, 1)[1] == pytest.approx(ttest_rel(a, b).pvalue, rel=1e-6)
    # the committed 2,000-video report's V+T row: plain p 0.00996 over 10 splits of 1,792 train / 208 test
    # becomes about 0.054 (issue 14); rebuild differences with that plain p and check the corrected one
    from scipy.stats import t as student_t

    t_plain = student_t.isf(0.00996 / 2, 9)
    d = rng.normal(size=10)
    d = (d - d.mean()) / d.std(ddof=1) + t_plain / np.sqrt(10)  # mean / (sd / sqrt(10)) = t_plain
    assert paired_ttest(d, np.zeros(10))[1] == pytest.approx(0.00996, rel=1e-6)
    assert corrected_ttest(d, np.zeros(10), 1792, 208)[1] == pytest.approx(0.054, abs=0.001)
    with pytest.raises(ValueError):
        corrected_ttest([0.1, 0.2], [0.1, 0.3], 0, 10)


def test_holm_matches_statsmodels_and_the_step_down_by_hand():
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.20, None, 0.002]
    adjusted = holm(p)
    present = [x for x in p if x is not None]
    assert [x for x in adjusted if x is not None] == pytest.approx(multipletests(present, method="holm")[1])
    assert adjusted[4] is None  # not computable: left out of the family
    # by hand, m = 5: sorted 0.002, 0.01, 0.03, 0.04, 0.20 times 5, 4, 3, 2, 1, running maximum, capped at 1
    assert adjusted[5] == pytest.approx(0.010) and adjusted[0] == pytest.approx(0.040)
    assert adjusted[2] == pytest.approx(0.090) and adjusted[1] == pytest.approx(0.090)
    assert adjusted[3] == pytest.approx(0.200)
    assert holm([]) == [] and holm([None]) == [None]
