"""Feature extraction on real files: frame encoders, the acoustic descriptor, caption tokens, word
vectors, and the feature store."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.features import acoustic as acoustic_mod
from core.features import store as store_mod
from core.features.extract import FeatureExtractor
from core.features.store import FeatureStore, VideoFeatures
from core.features.textual import MAX_TOKENS, TextEmbedder, clean_tokens
from core.features.visual import AlexNet, AlexNetEncoder, EfficientNetLite0Encoder, make_encoder

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def effnet() -> EfficientNetLite0Encoder:
    return EfficientNetLite0Encoder(device="cpu")


# -- visual ------------------------------------------------------------------------------------------
def test_efficientnet_loads_the_shipped_imagenet_weights(effnet):
    from sklearn.datasets import load_sample_images

    assert effnet.weights_path.is_file() and effnet.weights_path.stat().st_size > 10_000_000
    photos = np.stack([np.asarray(img) for img in load_sample_images().images])  # china.jpg, flower.jpg
    feats = effnet.encode(photos)  # 427x640 photos, resized to 224x224 inside
    assert feats.shape == (2, 1280) and feats.dtype == np.float32 and np.isfinite(feats).all()
    top5 = effnet.model._fc(torch.from_numpy(feats)).topk(5).indices.tolist()
    assert {442, 449, 483, 698, 975} & set(top5[0])  # bell cote, boathouse, castle, palace, lakeside
    assert 985 in top5[1]  # daisy
    # the same network, randomly initialised, gives other features
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(0)
    random_init = copy.copy(effnet)
    random_init.model = EfficientNet.from_name("efficientnet-lite0").eval()
    assert not np.allclose(random_init.encode(photos), feats, atol=1e-3)


def test_encoder_batch_size_splits_forwards_without_changing_features(effnet):
    from core.features.visual import CPU_BATCH

    assert effnet.batch_size == CPU_BATCH
    frames = np.random.default_rng(0).integers(0, 256, size=(7, 224, 224, 3), dtype=np.uint8)
    whole = EfficientNetLite0Encoder(device="cpu", batch_size=7)
    whole.model = effnet.model
    calls = []
    hook = effnet.model._conv_stem.register_forward_pre_hook(lambda _m, args: calls.append(len(args[0])))
    try:
        split = effnet.encode(frames)
        assert calls == [CPU_BATCH] * (7 // CPU_BATCH) + ([7 % CPU_BATCH] if 7 % CPU_BATCH else [])
        calls.clear()
        np.testing.assert_allclose(split, whole.encode(frames), rtol=1e-4, atol=1e-4)
        assert calls == [7]
    finally:
        hook.remove()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        make_encoder("efficientnet_lite0", device="cpu", batch_size=0)


def test_alexnet_fc7_from_a_torchvision_state_dict(tmp_path):
    torch.manual_seed(0)
    reference = AlexNet().eval()
    weights = tmp_path / "alexnet.pth"
    torch.save(reference.state_dict(), weights)
    assert "features.0.weight" in reference.state_dict() and "classifier.4.weight" in reference.state_dict()
    encoder = make_encoder("alexnet", weights=weights, device="cpu")
    assert (encoder.name, encoder.dim) == ("alexnet", 4096)
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 224, 224, 3), dtype=np.uint8)
    feats = encoder.encode(frames)
    assert feats.shape == (2, 4096) and (feats >= 0).all()  # fc7 after ReLU
    images = (torch.from_numpy(frames).permute(0, 3, 1, 2).float() - encoder._mean) / encoder._std
    with torch.inference_mode():
        np.testing.assert_allclose(feats, reference.fc7(images).numpy(), rtol=1e-4, atol=1e-5)


def test_alexnet_weights_errors_name_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="alexnet_weights"):
        AlexNetEncoder(tmp_path / "missing.pth")
    with pytest.raises(FileNotFoundError, match="EASTERN_ALEXNET_WEIGHTS"):
        make_encoder("alexnet")
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(ValueError, match="wrong.pth"):
        AlexNetEncoder(wrong)
    with pytest.raises(ValueError, match="unknown frame encoder"):
        make_encoder("resnet")


# -- acoustic ----------------------------------------------------------------------------------------
def test_acoustic_descriptor_per_one_second_clip():
    sr = acoustic_mod.SAMPLE_RATE
    t = np.arange(6 * sr) / sr
    rng = np.random.default_rng(0)
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    audio[3 * sr:] = 0.1 * rng.standard_normal(3 * sr)  # a tone (over faint noise) for 3 s, then loud noise
    feats = acoustic_mod.acoustic_features(audio)
    assert feats.shape == (6, 512) and feats.dtype == np.float32 and np.isfinite(feats).all()
    assert np.abs(feats).max() < 1000  # fits float16 comfortably
    # clips 0 and 1 hold the same tone; clip 4 (noise) differs from both
    assert np.abs(feats[0] - feats[1]).mean() < np.abs(feats[1] - feats[4]).mean() / 3
    flatness_mean = 384 + 40 + 40 + 24 + 14 + 3  # blocks before the scalar means, then the 4th scalar
    assert feats[4, flatness_mean] > 10 * feats[0, flatness_mean]  # noise is spectrally flat, a tone is not
    np.testing.assert_array_equal(feats, acoustic_mod.acoustic_features(audio))


def test_silent_audio_gives_exact_zeros():
    assert not acoustic_mod.acoustic_features(np.zeros(6 * 22050, dtype=np.float32)).any()
    assert not acoustic_mod.acoustic_features(np.full(100, 1e-6, dtype=np.float32)).any()


# -- extraction ---------------------------------------------------------------------------------------
def test_extractor_shapes_version_and_timings(effnet, videos):
    extractor = FeatureExtractor(effnet)
    assert extractor.version == "v1-efficientnet_lite0-1280"
    timings: dict[str, float] = {}
    feats = extractor.extract(videos["ok"], "Game night! #BasketballGame 🏀", timings=timings)
    assert feats.visual.shape == (12, 1280) and feats.visual.dtype == np.float16
    assert feats.acoustic.shape == (6, 512) and feats.acoustic.dtype == np.float16
    assert np.isfinite(feats.visual.astype(np.float32)).all() and feats.acoustic.any()
    assert feats.tokens == ["game", "night", "basketball", "game"]
    assert set(timings) == {"decode", "visual", "audio", "text"} and all(v >= 0 for v in timings.values())
    silent = extractor.extract(videos["silent"], "")
    assert not silent.acoustic.any() and silent.tokens == []


# -- text ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("caption", "tokens"), [
    ("#BasketballGame at the #beach_day", ["basketball", "game", "beach", "day"]),
    ("Best tacos 🌮🔥 in town!!! @joe http://t.co/x", ["best", "tacos", "town"]),
    ("我们在海滩 beach Café", ["beach", "cafe"]),
    (b"bad \xff\xfe bytes caf\xc3\xa9", ["bad", "bytes", "cafe"]),
    ("", []),
    (None, []),
    ("the and of a", []),
])
def test_clean_tokens(caption, tokens):
    assert clean_tokens(caption) == tokens


def test_clean_tokens_caps_length():
    assert len(clean_tokens(" ".join(f"word{i}" for i in range(100)))) == MAX_TOKENS


CORPUS = [["beach", "sand", "waves", "sun"], ["basketball", "court", "game"], ["beach", "sun", "surf"],
          ["game", "night", "court"]] * 5


def test_text_embedder_fit_is_deterministic_per_seed():
    a, b = TextEmbedder.fit(CORPUS, dim=16, seed=3), TextEmbedder.fit(CORPUS, dim=16, seed=3)
    c = TextEmbedder.fit(CORPUS, dim=16, seed=4)
    assert a.vocab == b.vocab and a.dim == 16
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.allclose(a.vectors, c.vectors)


def test_text_embedder_encode_and_batch():
    emb = TextEmbedder.fit(CORPUS, dim=8, seed=0)
    seq = emb.encode(["beach", "unknownword", "sun"])
    assert seq.shape == (2, 8) and seq.dtype == np.float32
    batch, lengths = emb.encode_batch([["beach", "sun"], [], ["zzz"], ["game"] * 40], max_len=30)
    assert batch.shape == (4, 30, 8) and batch.dtype == np.float32
    assert lengths.tolist() == [2, 0, 0, 30] and lengths.dtype == np.int64
    assert not batch[1].any() and not batch[0, 2:].any()
    empty = TextEmbedder.fit([[], []], dim=8)
    assert len(empty) == 0 and empty.encode_batch([["beach"]])[0].shape == (1, 30, 8)


def test_text_embedder_persistence(tmp_path):
    emb = TextEmbedder.fit(CORPUS, dim=8, seed=0)
    emb.save(tmp_path / "emb.npz")
    loaded = TextEmbedder.load(tmp_path / "emb.npz")
    assert loaded.vocab == emb.vocab
    np.testing.assert_array_equal(loaded.vectors, emb.vectors)
    torch.save({"text": emb.to_state()}, tmp_path / "ckpt.pt")
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)["text"]
    restored = TextEmbedder.from_state(state)
    assert restored.vocab == emb.vocab
    np.testing.assert_array_equal(restored.encode(["beach"]), emb.encode(["beach"]))


def test_word2vec_text_format(tmp_path):
    with_header = tmp_path / "vectors.txt"
    with_header.write_text("2 3\nbeach 0.1 0.2 0.3\ncourt -1 0 1\n", encoding="utf-8")
    emb = TextEmbedder.from_word2vec_text(with_header)
    assert emb.vocab == ["beach", "court"] and emb.dim == 3
    np.testing.assert_allclose(emb.encode(["court"]), [[-1, 0, 1]])
    glove_style = tmp_path / "glove.txt"
    glove_style.write_text("beach 0.1 0.2\nsun 1 2\n", encoding="utf-8")
    assert TextEmbedder.from_word2vec_text(glove_style).vocab == ["beach", "sun"]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        TextEmbedder.from_word2vec_text(tmp_path / "missing.txt")


def test_glove_50d_is_the_real_glove():
    glove = TextEmbedder.glove_50d()
    assert glove.dim == 50 and len(glove) == 400_000
    np.testing.assert_allclose(glove.encode(["the"])[0, :3], [0.418, 0.24968, -0.41242], atol=1e-5)
    king, queen, beach = glove.encode(["king", "queen", "beach"])

    def cos(u, v):
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    assert cos(king, queen) > cos(king, beach) + 0.3
    small = TextEmbedder.glove_50d(words=["beach", "court", "notaword123"])
    assert sorted(small.vocab) == ["beach", "court"]


# -- store --------------------------------------------------------------------------------------------
def _feats(seed: int, dim: int = 8) -> VideoFeatures:
    rng = np.random.default_rng(seed)
    return VideoFeatures(rng.standard_normal((12, dim)), rng.standard_normal((6, 512)), [f"w{seed}", "beach"])


def test_store_round_trip_and_atomic_put(tmp_path, monkeypatch):
    store = FeatureStore(tmp_path, "v1-test-8")
    assert store.keys() == [] and not store.has("aa11")
    store.put("aa11", _feats(1))
    assert store.has("aa11") and store.keys() == ["aa11"]
    got = store.get("aa11")
    np.testing.assert_array_equal(got.visual, _feats(1).visual)
    assert got.visual.dtype == np.float16 and got.tokens == ["w1", "beach"]
    # a leftover temporary file (crash mid-put) is not a key
    store.path_of("bb22").parent.mkdir(parents=True)
    (store.path_of("bb22").parent / ".tmp-bb22-x.npz").write_bytes(b"partial")
    assert store.keys() == ["aa11"] and not store.has("bb22")
    # a put that dies before the rename leaves nothing that has() reports

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.os, "replace", crash)
    with pytest.raises(OSError):
        store.put("cc33", _feats(3))
    monkeypatch.undo()
    assert not store.has("cc33") and store.keys() == ["aa11"]
    with pytest.raises(KeyError):
        store.get("cc33")


@pytest.mark.parametrize("damage", ["truncated", "empty", "bad-crc"])
def test_store_get_names_a_corrupt_file(tmp_path, damage):
    """A damaged .npz (cut short by a partial copy, emptied, a flipped block) is a ValueError naming the
    file, not numpy's BadZipFile / EOFError."""
    store = FeatureStore(tmp_path, "v1-test-8")
    store.put("aa11", _feats(1))
    path = store.path_of("aa11")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])  # the zip's central directory is gone
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(data[:200] + bytes(60) + data[260:])  # inside visual.npy: its CRC fails
    with pytest.raises(ValueError, match="unreadable feature file") as err:
        store.get("aa11")
    assert str(path) in str(err.value)
    assert store.has("aa11")  # still there: `features --rebuild` (or deleting it) repairs it


def test_store_load_packs_incrementally(tmp_path, monkeypatch):
    store = FeatureStore(tmp_path, "v1-test-8")
    keys = [f"k{i:03d}" for i in range(5)]
    for i, key in enumerate(keys[:3]):
        store.put(key, _feats(i))
    before = store.load(keys[:3])  # from the per-video files
    assert store.pack() == 3 and store.pack() == 0  # nothing new: no repack
    after = store.load(keys[:3])
    for a, b in zip(before[:2], after[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(store._segments[0].visual, np.memmap)
    for i, key in enumerate(keys[3:], start=3):
        store.put(key, _feats(i))
    order = [keys[4], keys[0], keys[3], keys[2]]  # packed and not-yet-packed keys, mixed
    visual, acoustic, tokens = store.load(order)
    assert visual.shape == (4, 12, 8) and acoustic.shape == (4, 6, 512) and visual.dtype == np.float16
    for row, key in enumerate(order):
        np.testing.assert_array_equal(visual[row], store.get(key).visual)
        assert tokens[row] == [f"w{int(key[1:])}", "beach"]
    assert store.pack() == 2 and store.packed_keys() == set(keys)
    # a second process sees the packs; merging kicks in past MAX_SEGMENTS
    monkeypatch.setattr(store_mod, "MAX_SEGMENTS", 2)
    store.put("k999", _feats(9))
    other = FeatureStore(tmp_path, "v1-test-8")
    assert other.pack() == 1 and len(other._segments) == 1
    np.testing.assert_array_equal(other.load(order)[0], visual)
    assert len([p for p in (tmp_path / "v1-test-8" / "packs").iterdir() if p.is_dir()]) == 1
    with pytest.raises(KeyError, match="nokey"):
        store.load(["nokey"])


def test_store_keeps_the_text_embedder(tmp_path):
    store = FeatureStore(tmp_path, "v1-test-8")
    assert store.load_embedder() is None
    store.save_embedder(TextEmbedder.fit(CORPUS, dim=8, seed=0))
    loaded = store.load_embedder()
    assert loaded is not None and "beach" in loaded and loaded.dim == 8
    assert Path(store.embedder_path).parent == tmp_path / "v1-test-8"
    assert not [n for n in os.listdir(store.dir) if n.startswith(".")]  # no temp files left


class ToyColourEncoder:
    """The smallest frame encoder: each frame's mean colour (a contributor's new encoder, minus the CNN)."""

    name = "toy_colour"
    dim = 3
    input_size = (32, 32)
    batch_size = 4

    def __init__(self, weights=None, device=None, batch_size=None):  # noqa: ANN001 - the registry's call
        self.weights = weights

    def encode(self, frames: np.ndarray) -> np.ndarray:
        return frames.reshape(len(frames), -1, 3).mean(axis=1).astype(np.float32) / 255.0


def test_a_new_frame_encoder_is_one_registry_line(tmp_path):
    from app.settings import Settings
    from core.features import encoders

    toy = encoders.EncoderSpec("toy_colour", 3, (32, 32), "none", "tests.core.test_features:ToyColourEncoder")
    with pytest.raises(ValueError, match="unknown frame encoder 'toy_colour'"):
        Settings(home=tmp_path, frame_encoder="toy_colour")
    with encoders.registered(toy):
        assert "toy_colour" in encoders.names()
        assert Settings(home=tmp_path, frame_encoder="toy_colour").frame_encoder == "toy_colour"
        encoder = make_encoder("toy_colour")
        frames = np.full((2, 32, 32, 3), 255, dtype=np.uint8)
        assert encoder.encode(frames).shape == (2, 3) and np.allclose(encoder.encode(frames), 1.0)
    assert "toy_colour" not in encoders.names()


def test_every_registered_encoder_declares_its_size_and_weights():
    from core.features import encoders
    from core.features.visual import AlexNetEncoder, EfficientNetLite0Encoder

    classes = {"efficientnet_lite0": EfficientNetLite0Encoder, "alexnet": AlexNetEncoder}
    for name in encoders.names():
        spec = encoders.spec(name)
        assert spec.dim == classes[name].dim and spec.input_size == classes[name].input_size and spec.weights
