"""Data loading, training, checkpoints and prediction on tiny synthetic FeatureSets (random arrays)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from core.data import FeatureSet, build_feature_set, make_loader
from core.models import ModelConfig, build_model
from core.train import (
    TrainConfig,
    load_checkpoint,
    predict_intermediates,
    predict_proba,
    save_checkpoint,
    split_train_val,
    train,
)

torch.set_num_threads(1)

TINY = ModelConfig(visual_dim=8, acoustic_dim=6, text_dim=5, visual_hidden=12, acoustic_hidden=8, text_hidden=6,
                   common_dim=10, atoms=8, num_classes=3, shared_lstm_input=10, shared_lstm_hidden=10)
FAST = TrainConfig(epochs=3, batch_size=8, lr=1e-2, patience=None, num_threads=1)


def make_data(n: int = 40, classes: int = 3, seed: int = 0, t_text: int = 5) -> FeatureSet:
    """Random float16 features, a class signal in the visual sequence, every 4th caption empty."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    visual = rng.normal(size=(n, 12, 8))
    visual[:, :, 0] += 2.0 * labels[:, None]
    lengths = rng.integers(1, t_text + 1, n)
    lengths[::4] = 0
    text = rng.normal(size=(n, t_text, 5)) * (np.arange(t_text)[None, :, None] < lengths[:, None, None])
    return FeatureSet(visual.astype(np.float16), rng.normal(size=(n, 6, 6)).astype(np.float16),
                      text.astype(np.float16), lengths, labels, [f"k{i}" for i in range(n)],
                      [f"class {c}" for c in range(classes)])


def state_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------------------ data


def test_loader_reads_memory_mapped_float16_as_float32_batches(tmp_path):
    data = make_data()
    np.save(tmp_path / "visual.npy", data.visual)
    mapped = replace(data, visual=np.load(tmp_path / "visual.npy", mmap_mode="r"))
    idx = np.array([5, 1, 30, 7, 2])
    batches = list(make_loader(mapped, idx, batch_size=2))
    assert [len(b[4]) for b in batches] == [2, 2, 1]
    visual = torch.cat([b[0] for b in batches])
    assert visual.dtype == torch.float32
    assert torch.equal(visual, torch.from_numpy(data.visual[idx].astype(np.float32)))
    assert torch.equal(torch.cat([b[4] for b in batches]), torch.from_numpy(data.labels[idx]))
    text_only = next(iter(make_loader(data, idx, 4, modalities=("textual",))))
    assert text_only[0] is None and text_only[1] is None and text_only[2].shape == (4, 5, 5)


def test_shuffled_loader_repeats_per_epoch_and_shards_cover_everything():
    data = make_data()
    loader = make_loader(data, np.arange(40), batch_size=8, shuffle=True, seed=3)
    loader.sampler.set_epoch(1)
    first = torch.cat([b[4] for b in loader])
    loader.sampler.set_epoch(2)
    other = [b[0] for b in loader]
    loader.sampler.set_epoch(1)
    assert torch.equal(torch.cat([b[4] for b in loader]), first)
    assert len(other) == 5
    shards = [make_loader(data, np.arange(37), 4, shuffle=True, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for s in shards:
        s.sampler.set_epoch(1)
    rows = [sorted(torch.cat([b[4] for b in s]).tolist()) for s in shards]
    assert len(shards[0]) == len(shards[1]) and len(rows[0]) == len(rows[1]) == 19  # padded to 38


def test_feature_set_validates_subsets_and_round_trips(tmp_path):
    data = make_data()
    sub = data.subset([3, 1])
    assert len(sub) == 2 and sub.keys == ["k3", "k1"] and np.array_equal(sub.visual, data.visual[[3, 1]])
    data.save(tmp_path / "fs.npz")
    back = FeatureSet.load(tmp_path / "fs.npz")
    assert np.array_equal(back.text, data.text) and back.keys == data.keys and back.class_names == data.class_names
    with pytest.raises(ValueError, match="labels"):
        replace(data, labels=np.full(40, 3))
    with pytest.raises(ValueError, match="rows"):
        replace(data, acoustic=data.acoustic[:5])
    with pytest.raises(FileNotFoundError):
        FeatureSet.load(tmp_path / "missing.npz")


def test_build_feature_set_encodes_tokens_with_the_embedder():
    class Embedder:  # the TextEmbedder.encode_batch contract, without core.features
        def encode_batch(self, token_lists, max_len):
            out = np.zeros((len(token_lists), max_len, 3), np.float32)
            lengths = np.array([min(len(t), max_len) for t in token_lists])
            for i, n in enumerate(lengths):
                out[i, :n] = 1.0
            return out, lengths

    data = build_feature_set(np.zeros((2, 12, 4), np.float16), np.zeros((2, 6, 512), np.float16),
                             [["cafe", "latte"], []], Embedder(), labels=[0, -1], keys=["a", "b"],
                             class_names=["Cafe", "Bar"], max_len=4)
    assert data.text.shape == (2, 4, 3) and data.text_lengths.tolist() == [2, 0] and data.labels.tolist() == [0, -1]


def test_split_train_val_is_stratified_and_deterministic():
    labels = np.array([0] * 30 + [1] * 10 + [2] * 2 + [3])
    idx = np.arange(len(labels))
    tr, va = split_train_val(labels, idx, 0.25, seed=7)
    tr2, va2 = split_train_val(labels, idx, 0.25, seed=7)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    assert not set(tr) & set(va) and sorted([*tr, *va]) == idx.tolist()
    assert len(va) == 11
    assert np.bincount(labels[va], minlength=4).tolist()[:2] == [8, 3]  # in proportion (largest remainder)
    assert 3 in labels[tr]  # a class of one stays in training
    assert not np.array_equal(split_train_val(labels, idx, 0.25, seed=8)[1], va)


# ------------------------------------------------------------------------------ training


def test_eastern_overfits_sixteen_videos():
    data = make_data(n=16, classes=4, seed=1)
    data = replace(data, visual=np.random.default_rng(2).normal(size=(16, 12, 8)).astype(np.float16))  # no signal
    cfg = replace(TINY, num_classes=4, visual_hidden=16)
    idx = np.arange(16)
    result = train(cfg, replace(FAST, epochs=40, batch_size=16, lr=2e-2, grad_clip=None), data, idx, idx)
    assert result.history[-1]["train_loss"] < 0.05
    assert (predict_proba(result.model, data).argmax(1) == data.labels).all()
    assert result.best_val_macro_f1 == 1.0


def test_progress_history_and_eval_sets():
    data = make_data()
    events = []
    result = train(TINY, FAST, data, np.arange(32), np.arange(32, 40), progress=events.append,
                   eval_sets={"test": np.arange(32, 40), "train": np.arange(32)})
    steps = [e for e in events if e["kind"] == "step"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert len(steps) == 3 * 4 and steps[0] == {**steps[0], "epoch": 1, "step": 1, "steps_per_epoch": 4}
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert len(result.history) == 3 and not result.cancelled
    entry = result.history[0]
    for key in ("train_loss", "val_loss", "val_micro_f1", "val_macro_f1", "val_accuracy", "seconds",
                "test_micro_f1", "test_macro_f1", "train_micro_f1", "train_macro_f1"):
        assert np.isfinite(entry[key]), key
    assert entry["test_macro_f1"] == entry["val_macro_f1"]  # same rows
    best = max(result.history, key=lambda e: e["val_macro_f1"])
    assert result.best_epoch == best["epoch"] and result.best_val_macro_f1 == best["val_macro_f1"]


def test_early_stopping_keeps_the_best_epoch():
    data = make_data()
    result = train(TINY, replace(FAST, epochs=10, lr=1e-9, patience=2), data, np.arange(32), np.arange(32, 40))
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


def test_default_train_config_is_unchanged_for_single_model_training():
    # the dashboard / CLI build TrainConfig(epochs=, batch_size=, lr=, seed=): early stopping after 5 epochs
    # without a better validation Macro-F, and the paper's plain cross-entropy (no penalty on the codes)
    cfg = TrainConfig(epochs=15, batch_size=64, lr=1e-3, seed=0)
    assert cfg.patience == 5 and cfg.code_l1 == 0.0
    with pytest.raises(ValueError, match="code_l1"):
        TrainConfig(code_l1=-1.0)


def test_l1_penalty_on_atom_codes_makes_them_sparser():
    data = make_data(n=48)
    rows, val = np.arange(40), np.arange(40, 48)
    zeros = {}
    for weight in (0.0, 5.0):
        result = train(TINY, replace(FAST, epochs=6, code_l1=weight), data, rows, val)
        codes = predict_intermediates(result.model, data, rows)["atom_codes"]
        zeros[weight] = float((codes == 0).mean())
    assert zeros[5.0] > zeros[0.0] + 0.1, zeros
    with pytest.raises(ValueError, match="no dictionary layer"):
        train(replace(TINY, arch="lstms"), replace(FAST, code_l1=1.0), data, rows, val)


def test_should_stop_cancels_cleanly():
    data = make_data()
    polls = []

    def stop() -> bool:
        polls.append(1)
        return len(polls) > 6  # during the second epoch (4 steps each)

    result = train(TINY, FAST, data, np.arange(32), np.arange(32, 40), should_stop=stop)
    assert result.cancelled and len(result.history) == 1 and result.best_epoch == 1
    assert np.isfinite(predict_proba(result.model, data)).all()


def test_bad_labels_are_refused():
    data = replace(make_data(), labels=np.where(np.arange(40) == 3, -1, np.arange(40) % 3))
    with pytest.raises(ValueError, match="labels"):
        train(TINY, FAST, data, np.arange(32), np.arange(32, 40))


def test_resume_continues_at_the_right_epoch_and_matches_an_uninterrupted_run(tmp_path):
    data = make_data()
    cfg = replace(TINY, dropout=0.2)  # the dropout RNG must be restored too
    straight = train(cfg, FAST, data, np.arange(32), np.arange(32, 40), checkpoint_path=tmp_path / "a.pt")
    train(cfg, replace(FAST, epochs=2), data, np.arange(32), np.arange(32, 40), checkpoint_path=tmp_path / "b.pt")
    events = []
    resumed = train(cfg, FAST, data, np.arange(32), np.arange(32, 40), progress=events.append,
                    checkpoint_path=tmp_path / "b.pt", resume_from=tmp_path / "b.pt")
    assert {e["epoch"] for e in events} == {3}
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert [e["train_loss"] for e in resumed.history] == [e["train_loss"] for e in straight.history]
    assert resumed.best_epoch == straight.best_epoch
    assert state_equal(resumed.model, straight.model)
    # a training checkpoint is also a loadable model (its last epoch's weights)
    model, model_cfg, meta = load_checkpoint(tmp_path / "b.pt")
    assert model_cfg == cfg and [e["epoch"] for e in meta["history"]] == [1, 2, 3]
    with pytest.raises(ValueError, match="trained with"):
        train(TINY, FAST, data, np.arange(32), np.arange(32, 40), resume_from=tmp_path / "b.pt")


def test_checkpoint_round_trip_gives_identical_logits(tmp_path):
    data = make_data()
    for arch in ("eastern", "lstms"):
        cfg = replace(TINY, arch=arch, modalities=("visual", "textual"))
        torch.manual_seed(0)
        model = build_model(cfg)
        meta = {"class_names": data.class_names, "feature_version": "v1-test-8", "metrics": {"f1": np.float64(0.5)},
                "text_embedder_state": {"vocab": ["a", "b"], "vectors": torch.ones(2, 5), "source": "test"},
                "history": [{"epoch": 1}], "counts": np.arange(3)}
        save_checkpoint(tmp_path / f"{arch}.pt", model, cfg, meta)
        loaded, loaded_cfg, loaded_meta = load_checkpoint(tmp_path / f"{arch}.pt")
        assert loaded_cfg == cfg and not loaded.training
        assert np.array_equal(predict_proba(loaded, data), predict_proba(model, data))
        assert loaded_meta["feature_version"] == "v1-test-8" and loaded_meta["metrics"]["f1"] == 0.5
        assert torch.equal(loaded_meta["text_embedder_state"]["vectors"], torch.ones(2, 5))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files


def test_predictions_follow_idx_order_and_intermediates_have_shapes():
    data = make_data()
    torch.manual_seed(0)
    model = build_model(TINY).eval()
    idx = np.array([7, 3, 39, 0])
    probs = predict_proba(model, data, idx, batch_size=3)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    singles = np.concatenate([predict_proba(model, data, [i]) for i in idx])
    assert np.allclose(probs, singles, atol=1e-6)
    inter = predict_intermediates(model, data, idx)
    assert inter["atom_codes"].shape == (4, 3, TINY.atoms) and (inter["atom_codes"] >= 0).all()
    assert inter["hidden"]["visual"].shape == (4, TINY.visual_hidden)
    assert inter["common"]["textual"].shape == (4, TINY.common_dim)
    assert np.allclose(inter["probs"], probs, atol=1e-6)
    lstms = build_model(replace(TINY, arch="lstms"))
    assert "atom_codes" not in predict_intermediates(lstms, data, idx)


def test_inputs_are_standardised_with_training_rows_only():
    """train() stores per-feature statistics of the training rows in the model (text: real words only)."""
    from core.data import input_stats

    rng = np.random.default_rng(0)
    n, T = 12, 5
    lengths = np.array([0, 1, 5, 2, 3, 4, 5, 1, 0, 2, 3, 4])
    text = np.zeros((n, T, 4), dtype=np.float16)
    for i, k in enumerate(lengths):
        text[i, :k] = rng.normal(3.0, 2.0, size=(k, 4))
    visual = rng.normal(50.0, 10.0, size=(n, 12, 6)).astype(np.float16)
    acoustic = rng.normal(-40.0, 5.0, size=(n, 6, 3)).astype(np.float16)
    data = FeatureSet(visual, acoustic, text, lengths, np.arange(n) % 2, [str(i) for i in range(n)], ["a", "b"])
    rows = np.arange(8)
    stats = input_stats(data, rows, ("visual", "acoustic", "textual"))
    words = np.concatenate([text[i, :lengths[i]] for i in rows]).astype(np.float64)
    np.testing.assert_allclose(stats["textual"][0], words.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["textual"][1], words.std(0), rtol=1e-4)
    np.testing.assert_allclose(stats["visual"][0], visual[rows].astype(np.float64).reshape(-1, 6).mean(0), rtol=1e-5)

    cfg = ModelConfig(visual_dim=6, acoustic_dim=3, text_dim=4, num_classes=2, visual_hidden=8, acoustic_hidden=8,
                      text_hidden=4, common_dim=8, atoms=6)
    result = train(cfg, TrainConfig(epochs=1, batch_size=4, seed=0), data, rows, None)
    norm = result.model.input_norm
    np.testing.assert_allclose(norm.acoustic_mean.numpy(), stats["acoustic"][0], rtol=1e-5)
    np.testing.assert_allclose(norm.textual_std.numpy(), stats["textual"][1], rtol=1e-5)
    # the statistics travel in the state dict, so a checkpoint carries them
    assert "input_norm.visual_mean" in result.model.state_dict()


def test_checkpoints_from_before_input_standardisation_still_load(tmp_path):
    """A checkpoint without input_norm buffers (written by an earlier version) loads with identity scaling."""
    cfg = ModelConfig(visual_dim=6, acoustic_dim=3, text_dim=4, num_classes=2, visual_hidden=8, acoustic_hidden=8,
                      text_hidden=4, common_dim=8, atoms=6)
    model = build_model(cfg)
    save_checkpoint(tmp_path / "old.pt", model, cfg, {"class_names": ["a", "b"]})
    payload = torch.load(tmp_path / "old.pt", weights_only=True)
    payload["state_dict"] = {k: v for k, v in payload["state_dict"].items() if not k.startswith("input_norm.")}
    torch.save(payload, tmp_path / "old.pt")
    loaded, _, _ = load_checkpoint(tmp_path / "old.pt")
    assert torch.equal(loaded.input_norm.visual_std, torch.ones(6))
    assert torch.equal(loaded.dictionary.atoms.weight, model.dictionary.atoms.weight)
