"""core/ood.py: kNN distance, calibration on held-out vectors, the 1.0 threshold, files, the fallback space."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import ood


def _blob(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 16)).astype(np.float32) + shift


def test_held_out_vectors_pass_and_far_ones_are_flagged() -> None:
    cal = ood.calibrate(_blob(400, 0), _blob(200, 1), space="common+input", feature_version="v-test")
    assert cal.calibration_kind == "validation" and cal.n_calibration == 200
    assert (ood.score(cal, _blob(300, 2)) > 1.0).mean() <= 0.05
    far = _blob(50, 3) + np.linspace(4, 8, 16, dtype=np.float32)  # shifted away from every training vector
    assert (ood.score(cal, far) > 1.0).all()
    wide = _blob(50, 5) * 3.0  # the same centre, a spread no training vector reaches
    assert (ood.score(cal, wide) > 1.0).mean() >= 0.9


def test_few_held_out_vectors_add_leave_one_out_scores() -> None:
    cal = ood.calibrate(_blob(30, 0), _blob(3, 1), space="input", feature_version="v-test")
    assert cal.calibration_kind == "validation+leave-one-out" and cal.n_calibration == 33
    assert ood.score(cal, _blob(5, 4)).shape == (5,)


def test_knn_distance_matches_brute_force_across_chunks() -> None:
    ref = _blob(50, 0)
    q = ref[:7]
    dist = np.linalg.norm(q[:, None, :] - ref[None, :, :], axis=2)
    expected = np.sort(dist, axis=1)[:, 1:4].mean(axis=1)  # itself excluded
    got = ood.knn_distance(q, ref, 3, chunk=2, exclude_self=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_large_reference_sets_are_subsampled_deterministically() -> None:
    config = ood.OodConfig(max_reference=100)
    a = ood.calibrate(_blob(500, 0), _blob(30, 1), space="common+input", feature_version="v", config=config)
    b = ood.calibrate(_blob(500, 0), _blob(30, 1), space="common+input", feature_version="v", config=config)
    assert len(a.reference) == 100 and np.array_equal(a.reference, b.reference) and a.threshold == b.threshold


def test_saved_calibration_scores_the_same(tmp_path: Path) -> None:
    cal = ood.calibrate(_blob(60, 0), _blob(25, 1), space="common+input", feature_version="v-test")
    ood.save(tmp_path / "ood.npz", cal)
    back = ood.load(tmp_path / "ood.npz")
    assert back.describe() == cal.describe()
    assert ood.description(tmp_path / "ood.npz")["space"] == "common+input"
    np.testing.assert_allclose(ood.score(back, _blob(4, 9)), ood.score(cal, _blob(4, 9)))
    (tmp_path / "bad.npz").write_bytes(b"not a calibration")
    with pytest.raises(ood.OodError, match="bad.npz"):
        ood.load(tmp_path / "bad.npz")


def test_representation_uses_the_common_space_else_pooled_inputs() -> None:
    common = {"visual": np.ones((2, 3)), "textual": np.zeros((2, 3))}
    pooled = {"visual": np.ones((2, 5)), "textual": np.ones((2, 4))}
    x, space, blocks = ood.representation(common, pooled, ["visual", "textual"])
    assert space == "common+input" and x.shape == (2, 15) and blocks == [3, 3, 5, 4]
    x, space, blocks = ood.representation({}, pooled, ["visual", "textual"])
    assert space == "input" and x.shape == (2, 9) and blocks == [5, 4]


def test_blocks_weigh_the_same_whatever_their_size() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(200, 104)).astype(np.float32)
    cal = ood.calibrate(ref, ref[:30] + 0.1, space="input", feature_version="v", blocks=[4, 100])
    small_block_off = rng.normal(size=(20, 104)).astype(np.float32)
    small_block_off[:, :4] += 10.0  # only the 4-dimension block is far: flagged although 100 others agree
    assert (ood.score(cal, small_block_off) > 1.0).all()
    with pytest.raises(ood.OodError, match="blocks"):
        ood.calibrate(ref, ref[:3], space="input", feature_version="v", blocks=[4, 4])


def test_too_few_training_vectors_is_a_clear_error() -> None:
    with pytest.raises(ood.OodError, match="at least 2"):
        ood.calibrate(_blob(1, 0), _blob(0, 1), space="common+input", feature_version="v")
