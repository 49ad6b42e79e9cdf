"""The shallow baselines of Table 1 (DMDL, TMDL, TMDL-CS, TRUMANN) on a tiny separable problem, plus their parts:
the joint sparse coder, the dictionary update, the venue tree and the model file."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from core.baselines import (
    DMDL,
    TMDL,
    TRUMANN,
    ClassTMDL,
    build_baseline,
    flat_tree,
    load_baseline,
    load_tree,
    pool_sequences,
    save_baseline,
)
from core.baselines.dmdl import coding_objective, coding_terms, joint_sparse_code, update_dictionaries
from core.baselines.trumann import tree_penalty
from core.venues import VENUE188_PATH

DIMS = {"visual": 24, "acoustic": 12, "textual": 8}
N_CLASSES = 3
CENTRES = {m: np.random.default_rng(100 + d).standard_normal((N_CLASSES, d)) for m, d in DIMS.items()}

# Small enough that the whole file runs in seconds; each class's defaults are the paper-scale ones.
FAST = {
    "dmdl": dict(n_atoms=12, n_components=8, lam1=0.3, n_iter=8, coding_iter=30, grid={"C": (0.1, 1.0)}),
    "tmdl": dict(n_atoms=12, n_components=8, lam1=0.3, init_iter=3, epochs=4, batch_size=32, coding_iter=30,
                 warm_iter=5, n_unroll=3),
    "trumann": dict(n_latent=6, max_iter=40, grid={"lam2": (1e-2,), "lam3": (1e-3, 1e-2)}),
}
CLASSES = {"dmdl": DMDL, "tmdl": TMDL, "trumann": TRUMANN}


def separable(n_per_class: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three classes, each modality a noisy copy of its class centre (shared by every split)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(N_CLASSES), n_per_class))
    X = {m: (1.5 * CENTRES[m][y] + rng.standard_normal((len(y), d))).astype(np.float32) for m, d in DIMS.items()}
    return X, y


TRAIN, VAL, TEST = separable(30, 0), separable(10, 1), separable(20, 2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These problems are tiny: thread start-up would cost more than the arithmetic on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(before)


def fit(name: str, seed: int = 0, **extra):
    return CLASSES[name](seed=seed, **{**FAST[name], **extra}).fit(*TRAIN, *VAL)


@pytest.fixture(scope="module")
def fitted() -> dict:
    return {name: fit(name) for name in CLASSES}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fits_and_predicts_far_above_chance(fitted, name):
    model = fitted[name]
    proba = model.predict_proba(TEST[0])
    assert proba.shape == (len(TEST[1]), N_CLASSES)
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(TEST[0]) == TEST[1]).mean() >= 0.9  # chance is 1/3
    # hyperparameters were chosen on the validation slice, among the grid's points
    if model.grid:
        assert len(model.val_scores_) == np.prod([len(v) for v in model.grid.values()])
        assert all(model.best_params_[k] in model.grid[k] for k in model.grid)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_deterministic_per_seed(fitted, name):
    again = fit(name)
    np.testing.assert_array_equal(fitted[name].predict_proba(TEST[0]), again.predict_proba(TEST[0]))
    assert fitted[name].objective_history_ == again.objective_history_


def test_dmdl_chooses_its_sparsity_on_validation_data():
    model = fit("dmdl", grid={"lam1": (0.05, 0.3), "C": (1.0,)})
    assert [p["lam1"] for p, _ in model.val_scores_] == [0.05, 0.3]
    assert model.lam1_ == model.best_params_["lam1"]
    dense, sparse = (fit("dmdl", grid={}, lam1=v).codes(TEST[0]) for v in (0.05, 0.3))
    assert (sparse == 0).mean() > (dense == 0).mean()


def test_other_seed_gives_other_dictionaries(fitted):
    other = fit("dmdl", seed=1)
    assert not np.allclose(fitted["dmdl"].dictionaries_[0], other.dictionaries_[0])


@pytest.mark.parametrize("name", ["dmdl", "trumann"])
def test_objective_never_increases(fitted, name):
    """Block-coordinate descent with exact (DMDL: non-increasing) steps: the objective only falls."""
    history = np.array(fitted[name].objective_history_)
    assert len(history) >= 3
    assert np.all(np.diff(history) <= 1e-6 * np.abs(history[:-1])), history
    assert history[-1] < history[0]


def test_tmdl_training_lowers_its_objective(fitted):
    """Stochastic training: the full-data objective after the last epoch is below the DMDL start's."""
    history = fitted["tmdl"].objective_history_
    assert len(history) == FAST["tmdl"]["epochs"] + 1  # the start, then every epoch
    assert history[-1] < history[0]


@pytest.mark.parametrize("name", ["dmdl", "tmdl"])
def test_codes_are_jointly_sparse(fitted, name):
    """Exact zeros, and an atom is used by all modalities of a video or by none (l1/l2 joint sparsity)."""
    codes = fitted[name].codes(TEST[0])  # (N, S, K)
    assert codes.shape == (len(TEST[1]), 3, 12)
    used = codes != 0
    assert 0.2 < 1 - used.mean() < 1.0
    np.testing.assert_array_equal(used.any(axis=1), used.all(axis=1))


def test_trumann_tree_penalty_shrinks_the_regressors():
    weak = fit("trumann", grid={}, lam3=1e-4)
    strong = fit("trumann", grid={}, lam3=1.0)
    assert np.linalg.norm(strong.W_) < 0.5 * np.linalg.norm(weak.W_)
    assert strong.common_space(TEST[0]).shape == (len(TEST[1]), FAST["trumann"]["n_latent"])


def test_joint_sparse_code_meets_the_optimality_conditions():
    """KKT of min 1/2 sum_s ||x_s - D_s a_s||^2 + lam1 sum_k ||A[:, k]|| + lam2/2 ||A||^2 per sample."""
    rng = np.random.default_rng(0)
    Z = [torch.from_numpy(rng.standard_normal((20, d))) for d in (10, 6)]
    D = [torch.from_numpy(rng.standard_normal((d, 8))) for d in (10, 6)]
    D = [d / d.norm(dim=0, keepdim=True) for d in D]
    lam1, lam2 = 0.5, 1e-3
    G, C = coding_terms(Z, D)
    xx = sum((z * z).sum(dim=1) for z in Z)
    A = joint_sparse_code(G, C, xx, lam1, lam2, n_iter=3000)  # (S, N, K)
    grad = torch.bmm(A, G) - C + lam2 * A
    norms = A.norm(dim=0)  # (N, K)
    active = norms > 0
    assert 0 < active.float().mean() < 1
    on = grad + lam1 * A / norms.clamp_min(1e-30)
    assert on[:, active].abs().max() < 1e-5
    assert grad.norm(dim=0)[~active].max() <= lam1 + 1e-6
    # warm-started from a worse point, the coder never returns something worse than it
    start = torch.from_numpy(rng.standard_normal(A.shape))
    again = joint_sparse_code(G, C, xx, lam1, lam2, n_iter=1, init=start)
    assert torch.all(coding_objective(again, G, C, xx, lam1, lam2) <= coding_objective(start, G, C, xx, lam1, lam2))


def test_dictionary_update_keeps_atoms_in_the_unit_ball_and_lowers_the_error():
    rng = np.random.default_rng(1)
    Z = [rng.standard_normal((30, d)) for d in (9, 5)]
    D = [rng.standard_normal((d, 6)) for d in (9, 5)]
    D = [d / np.linalg.norm(d, axis=0) for d in D]
    A = rng.standard_normal((2, 30, 6)) * (rng.random((1, 30, 6)) < 0.5)  # shared support
    A[:, :, 5] = 0.0  # an unused atom gets re-seeded, which changes nothing for these codes

    def error(dicts):
        return sum(((z - a @ d.T) ** 2).sum() for z, a, d in zip(Z, A, dicts, strict=True))

    new = update_dictionaries(Z, D, A)
    assert error(new) < error(D)
    for d in new:
        assert np.all(np.linalg.norm(d, axis=0) <= 1 + 1e-12)


def test_load_tree_restricts_to_a_venue_subset():
    """Restricted groups index the subset, and the penalty equals the full tree's with absent venues at 0."""
    data = json.loads(VENUE188_PATH.read_text(encoding="utf-8"))
    ids = {v["name"]: int(v["id"]) for v in data["venues"]}
    subset = ["University", "Garden", "Art Museum", "Zoo", "Beach", "Coffee Shop", "Bar"]
    groups, weights = load_tree(VENUE188_PATH, [n.upper() for n in subset])  # names match case-insensitively
    assert len(groups) == len(weights) == len({tuple(g) for g in groups})  # duplicates merged
    assert all(0 <= t < len(subset) for g in groups for t in g)
    assert all([t] in groups for t in range(len(subset)))  # every leaf keeps its own node
    assert any(len(g) > 1 for g in groups)  # parent categories group siblings (Art Museum and Zoo, ...)

    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, len(subset)))
    W_full = np.zeros((5, len(data["venues"])))
    W_full[:, [ids[n] - 1 for n in subset]] = W
    full_groups = [np.array(g) - 1 for g in data["tree_groups"]]
    full = tree_penalty(W_full, full_groups, np.array(data["tree_group_weights"]), eps=1e-300)
    restricted = tree_penalty(W, [np.array(g) for g in groups], np.array(weights), eps=1e-300)
    assert restricted == pytest.approx(full, rel=1e-12)


def test_unknown_venue_falls_back_to_a_flat_tree():
    with pytest.warns(UserWarning, match="flat tree"):
        groups, weights = load_tree(VENUE188_PATH, ["University", "Somewhere Else"])
    assert (groups, weights) == flat_tree(2)
    model = build_baseline("trumann", ["University", "Somewhere Else"])
    assert model.tree_source == "flat" and model.groups == [[0], [1], [0, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build_baseline("trumann", ["University", "Garden"]).tree_source == "venue188"


def test_pool_sequences_masks_padding_words():
    visual = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    text = np.ones((2, 4, 3), dtype=np.float32)
    text[0, 2:] = 100.0  # padding after 2 words
    pooled = pool_sequences(visual, None, text, np.array([2, 0]))
    assert set(pooled) == {"visual", "textual"}
    np.testing.assert_allclose(pooled["visual"], visual.mean(axis=1))
    np.testing.assert_allclose(pooled["textual"], [[1, 1, 1], [0, 0, 0]])  # empty caption -> zeros


def test_model_file_round_trip(fitted, tmp_path):
    path = tmp_path / "run" / "model.pkl"
    save_baseline(path, fitted["tmdl"], {"class_names": ["a", "b", "c"]})
    model, meta = load_baseline(path)
    assert meta == {"class_names": ["a", "b", "c"]}
    np.testing.assert_array_equal(model.predict_proba(TEST[0]), fitted["tmdl"].predict_proba(TEST[0]))
    (tmp_path / "foreign.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="foreign.pkl"):
        load_baseline(tmp_path / "foreign.pkl")


def test_empty_validation_slice_uses_the_given_hyperparameters():
    """A tiny corpus can leave no validation videos: no selection then, and nothing breaks."""
    empty = {m: v[:0] for m, v in VAL[0].items()}
    model = TRUMANN(seed=0, **FAST["trumann"]).fit(*TRAIN, empty, VAL[1][:0])
    assert model.best_params_ == {} and model.val_scores_ == []
    assert model.predict(empty).shape == (0,)


def test_grid_may_only_search_tunable_hyperparameters():
    with pytest.raises(ValueError, match="lam1"):
        TMDL(grid={"lam1": (0.1, 0.2)})
    with pytest.raises(ValueError, match="metric"):
        TRUMANN(select_metric="accuracy")


def test_missing_modality_is_named(fitted):
    with pytest.raises(KeyError, match="textual"):
        fitted["trumann"].predict({m: v for m, v in TEST[0].items() if m != "textual"})


# ----------------------------------------------------------------- TMDL with class-specific dictionaries

CS_FAST = dict(n_atoms=4, n_components=8, lam1=0.1, n_iter=6, coding_iter=30,
               grid={"lam1": (0.05, 0.1), "C": (0.1, 1.0)})


def test_class_specific_tmdl_learns_one_dictionary_per_class_and_predicts_far_above_chance():
    model = ClassTMDL(seed=0, **CS_FAST).fit(*TRAIN, *VAL)
    assert sorted(model.dictionaries_) == list(range(N_CLASSES))
    assert all(d.shape == (8, 4) for c in model.dictionaries_.values() for d in c["D"])
    proba = model.predict_proba(TEST[0])
    assert proba.shape == (len(TEST[1]), N_CLASSES) and np.allclose(proba.sum(axis=1), 1.0)
    assert f1_score(TEST[1], model.predict(TEST[0]), average="macro") > 0.9
    assert model.best_params_["lam1"] in (0.05, 0.1) and model.best_params_["C"] in (0.1, 1.0)
    assert len(model.val_scores_) == 4 and model.select_metric == "macro_f1"
    # each class's dictionaries describe that class's videos best (the point of class-specific dictionaries)
    errors = model.reconstruction_errors(TEST[0])
    assert (errors.argmin(axis=1) == TEST[1]).mean() > 0.9
    again = ClassTMDL(seed=0, **CS_FAST).fit(*TRAIN, *VAL)
    assert np.array_equal(again.predict_proba(TEST[0]), proba)


def test_class_specific_tmdl_is_a_registered_baseline():
    model = build_baseline("tmdl_cs", ["a", "b", "c"], seed=1, **CS_FAST)
    assert isinstance(model, ClassTMDL) and model.n_classes == 3
