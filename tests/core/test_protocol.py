"""The protocol's statistics, order probe, per-split word2vec and validation-chosen training options."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import t as student_t
from scipy.stats import ttest_rel
from sklearn.metrics import f1_score
from statsmodels.stats.multitest import multipletests

from core.data import FeatureSet
from core.protocol import (
    ProtocolResult,
    deep,
    order_only_pairs,
    run_protocol,
    shallow,
    shuffle_frames,
    split_text,
)

torch.set_num_threads(1)

TINY = {"visual_hidden": 8, "acoustic_hidden": 8, "text_hidden": 4, "common_dim": 8, "atoms": 6,
        "shared_lstm_input": 8, "shared_lstm_hidden": 8}
NAMES = ["Park", "Zoo", "Mall", "Miscellaneous Shop", "Gym", "Bar"]


def synthetic(macro: dict[str, list[float]], n_train: int = 90, n_val: int = 10, n_test: int = 25) -> ProtocolResult:
    methods = [deep("eastern"), deep("lstms"), deep("conv"), shallow("tmdl")]
    runs = {m.name: [{"micro_f1": v, "macro_f1": v, "split": s} for s, v in enumerate(macro[m.name])] for m in methods}
    split = {"train": list(range(n_train)), "val": list(range(n_train, n_train + n_val)),
             "test": list(range(n_train + n_val, n_train + n_val + n_test))}
    return ProtocolResult(methods=methods, config={"n_splits": 5}, dataset={}, splits=[split] * 5, runs=runs)


def test_compare_gives_naive_corrected_and_holm_p_values_checked_independently():
    rng = np.random.default_rng(0)
    eastern = 0.6 + rng.normal(0, 0.02, 5)
    macro = {"EASTERN": eastern, "LSTMs": eastern - 0.01 + rng.normal(0, 0.02, 5),
             "CONV": eastern - 0.08 + rng.normal(0, 0.02, 5), "TMDL": eastern - 0.2 + rng.normal(0, 0.02, 5)}
    result = synthetic({k: list(v) for k, v in macro.items()})
    assert result.split_sizes() == (100.0, 25.0)  # n_train = the whole training part, fit + validation
    rows = result.compare([("LSTMs", "EASTERN"), ("CONV", "EASTERN"), ("TMDL", "EASTERN"), ("LSTM+DL", "EASTERN")],
                          "Table 1")
    assert [r["method"] for r in rows] == ["LSTMs", "CONV", "TMDL"]  # LSTM+DL was not run: left out
    for row in rows:
        a, b = macro["EASTERN"], macro[row["method"]]
        assert row["p_naive"] == pytest.approx(ttest_rel(a, b).pvalue, rel=1e-9)
        d = a - b
        t_hand = d.mean() / np.sqrt((1 / 5 + 25 / 100) * d.var(ddof=1))
        assert row["p_corrected"] == pytest.approx(2 * student_t.sf(abs(t_hand), 4), rel=1e-9)
        assert row["p_corrected"] > row["p_naive"]  # overlap makes the plain test optimistic
        assert row["macro_f1_diff"] == pytest.approx(d.mean())
        assert row["family"] == "Table 1"
    holm = multipletests([r["p_corrected"] for r in rows], method="holm")[1]
    assert [r["p_holm"] for r in rows] == pytest.approx(list(holm))
    summary = result.summary("CONV")
    assert summary["p_value"] == summary["p_corrected"] == rows[1]["p_corrected"]
    assert summary["p_naive"] == rows[1]["p_naive"]
    assert result.summary("EASTERN")["p_value"] is None


def test_shuffle_frames_permutes_each_video_the_same_way_every_time():
    visual = np.random.default_rng(1).normal(size=(50, 12, 3)).astype(np.float16)
    shuffled = shuffle_frames(visual, seed=4)
    assert shuffled.shape == visual.shape and shuffled.dtype == visual.dtype
    for i in range(50):  # the same frames, in another order
        assert sorted(map(tuple, shuffled[i].tolist())) == sorted(map(tuple, visual[i].tolist()))
    moved = [not np.array_equal(shuffled[i], visual[i]) for i in range(50)]
    assert all(moved)
    assert np.array_equal(shuffle_frames(visual, seed=4), shuffled)
    assert not np.array_equal(shuffle_frames(visual, seed=5), shuffled)


def test_order_only_pairs_come_from_the_generator_recipes():
    from core.corpus.profiles import DEMO_VENUES, PROFILES

    pairs = order_only_pairs(DEMO_VENUES)
    assert {frozenset(p) for p in pairs} == {frozenset(p) for p in (
        ("Train Station", "Airport"), ("Mall", "Miscellaneous Shop"), ("Park", "Zoo"), ("Nightclub", "Concert Hall"))}
    for a, b in pairs:
        assert PROFILES[a].shots != PROFILES[b].shots and sorted(PROFILES[a].shots) == sorted(PROFILES[b].shots)
    assert order_only_pairs(["Park", "Gym"]) == [] and order_only_pairs(["venue 1", "venue 2"]) == []


def tiny_data(n: int = 96) -> tuple[FeatureSet, list[list[str]]]:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % len(NAMES)
    visual = rng.normal(size=(n, 12, 8))
    visual[:, :, 0] += labels[:, None]
    tokens = [[f"word{labels[i]}", f"other{i % 5}"] if i % 4 else [] for i in range(n)]
    tokens[3] = ["onlyhere"]  # a caption whose only word nobody else uses
    text = np.zeros((n, 30, 100), np.float16)
    data = FeatureSet(visual.astype(np.float16), rng.normal(size=(n, 6, 4)).astype(np.float16), text,
                      np.zeros(n, dtype=np.int64), labels, [f"k{i}" for i in range(n)], list(NAMES))
    return data, tokens


def test_split_text_fits_word2vec_on_the_training_captions_only():
    data, tokens = tiny_data()
    train = np.array([i for i in range(len(tokens)) if i != 3])
    with_it, vocab_all = split_text(data, tokens, np.arange(len(tokens)), seed=0)
    without, vocab_train = split_text(data, tokens, train, seed=0)
    assert vocab_all == vocab_train + 1
    assert with_it.text_lengths[3] == 1 and without.text_lengths[3] == 0  # unseen word: dropped
    assert without.text.shape == (len(tokens), 30, 100) and without.text.dtype == np.float16
    assert np.array_equal(without.visual, data.visual)


def test_run_protocol_records_confusion_probe_grid_and_per_split_vocabulary():
    data, tokens = tiny_data()
    methods = [deep("eastern"), deep("eastern", ("visual",)),
               deep("eastern", ("visual",), frames="shuffled", role="order probe"),
               deep("eastern", name="EASTERN L1", role="ablation", train_grid={"code_l1": (0.1, 5.0)})]
    result = run_protocol(data, methods, n_splits=2, test_size=0.25, epochs=2, patience=1, model_overrides=TINY,
                          train_overrides={"batch_size": 16, "num_threads": 1}, tokens=tokens)
    assert result.config["word2vec"]["per_split"] and len(result.config["word2vec"]["vocab_sizes"]) == 2
    assert result.config["select_metric"] == "macro_f1" and result.config["patience"] == 1
    assert [m.name for m in result.methods][2] == "EASTERN V shuffled"
    truth = np.array(result.predictions["truth"])
    for name, runs in result.runs.items():
        assert len(runs) == 2
        for run, split in zip(runs, result.splits, strict=True):
            confusion = np.array(run["confusion"])
            assert confusion.sum() == len(split["test"]) and confusion.shape == (6, 6)
            assert 1 <= run["best_epoch"] <= run["epochs_run"] <= 2
        pred = np.array(result.predictions["methods"][name])
        assert runs[0]["macro_f1"] == pytest.approx(f1_score(truth, pred, average="macro"))
    for run in result.runs["EASTERN L1"]:
        assert run["best_params"]["code_l1"] in (0.1, 5.0)
        chosen = max(run["val_scores"], key=lambda v: v["val_macro_f1"])
        assert run["best_val_macro_f1"] == chosen["val_macro_f1"]
    again = ProtocolResult.from_dict(result.to_dict())
    assert again.method("EASTERN V shuffled").frames == "shuffled"
    assert again.method("EASTERN L1").train_grid == {"code_l1": (0.1, 5.0)}


def test_shallow_baselines_are_selected_on_validation_macro_f():
    data, _tokens = tiny_data()
    spec = shallow("dmdl", n_atoms=6, n_components=None, n_iter=2, coding_iter=10, grid={"C": (0.1, 1.0)})
    result = run_protocol(data, [spec], n_splits=1, test_size=0.25)
    assert result.runs["DMDL"][0]["select_metric"] == "macro_f1"
    assert result.runs["DMDL"][0]["best_params"]["C"] in (0.1, 1.0)


def test_an_interrupted_protocol_resumes_from_its_checkpoint_and_equals_an_uninterrupted_run(tmp_path):
    from core.protocol import ProtocolError

    data, tokens = tiny_data()
    methods = [deep("eastern"), deep("eastern", ("visual",))]
    kw = dict(n_splits=2, test_size=0.25, epochs=2, patience=None, model_overrides=TINY,
              train_overrides={"batch_size": 16, "num_threads": 1}, tokens=tokens)
    whole = run_protocol(data, methods, **kw)

    trained: list[tuple[str, int]] = []
    events: list[dict] = []

    def progress(event):
        events.append(event)
        if event["kind"] == "run":
            trained.append((event["method"], event["split"]))

    stop_after = 3  # of the 4 (method, split) trainings
    with pytest.raises(KeyboardInterrupt):
        run_protocol(data, methods, **kw, progress=progress, checkpoint_dir=tmp_path,
                     should_stop=lambda: len(trained) >= stop_after)
    (checkpoint,) = tmp_path.glob("protocol-*.json")
    assert trained == [(methods[0].name, 0), (methods[1].name, 0), (methods[0].name, 1)]

    trained.clear()
    events.clear()
    resumed = run_protocol(data, methods, **kw, progress=progress, checkpoint_dir=tmp_path)
    assert trained == [(methods[1].name, 1)]  # only what was left
    assert events[0] == {"kind": "resume", "done": 3, "total": 4, "path": str(checkpoint)}
    assert resumed.checkpoint == checkpoint and resumed.config["resumed_runs"] == 3
    assert resumed.config["word2vec"]["vocab_sizes"] == whole.config["word2vec"]["vocab_sizes"]
    assert resumed.predictions == whole.predictions and resumed.curves.keys() == whole.curves.keys()
    for name in whole.runs:
        assert [r["split"] for r in resumed.runs[name]] == [0, 1]
        for a, b in zip(resumed.runs[name], whole.runs[name], strict=True):
            assert a["macro_f1"] == b["macro_f1"] and a["confusion"] == b["confusion"]
    assert "seconds_so_far" not in resumed.config and resumed.seconds > 0

    # other inputs (one split) do not pick this checkpoint up; resume=False starts again
    trained.clear()
    run_protocol(data, methods, **{**kw, "n_splits": 1}, progress=progress, checkpoint_dir=tmp_path)
    assert len(trained) == 2 and len(list(tmp_path.glob("protocol-*.json"))) == 2
    trained.clear()
    run_protocol(data, methods, **kw, progress=progress, checkpoint_dir=tmp_path, resume=False)
    assert len(trained) == 4

    checkpoint.write_text("{not json")  # a damaged checkpoint is named, not silently ignored
    with pytest.raises(ProtocolError, match="unreadable checkpoint"):
        run_protocol(data, methods, **kw, checkpoint_dir=tmp_path)
