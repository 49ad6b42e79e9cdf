"""Explanations of one video: exact atom contributions, Captum views, masking ablation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.explain import (
    Explanation,
    atom_activations,
    atom_attributions,
    atom_class_weights,
    atom_contributions,
    explain,
    input_attributions,
    modality_ablation,
    video_inputs,
)
from core.models import ModelConfig, build_model

K, C = 5, 4


def tiny(arch: str = "eastern", modalities: tuple[str, ...] = ("visual", "acoustic", "textual"), seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(arch=arch, modalities=modalities, visual_dim=8, acoustic_dim=6, text_dim=5, visual_hidden=7,
                      acoustic_hidden=5, text_hidden=4, common_dim=6, atoms=K, num_classes=C,
                      shared_lstm_input=6, shared_lstm_hidden=6)
    return build_model(cfg)


def video(words: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    text = np.zeros((5, 5), dtype=np.float32)
    text[:words] = rng.normal(size=(words, 5))
    return video_inputs(rng.normal(size=(12, 8)), rng.normal(size=(6, 6)), text, words)


def zero_video():
    return video_inputs(np.zeros((12, 8)), np.zeros((6, 6)), np.zeros((5, 5)), 3)


def logits_of(model, inputs) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(*inputs)[0].numpy()


def test_shapes_and_training_mode_restored() -> None:
    model = tiny()
    model.train()
    result = explain(model, video())
    assert isinstance(result, Explanation) and model.training
    assert result.probabilities.shape == (C,) and result.predicted == result.target == int(result.logits.argmax())
    assert result.atom_activations.shape == result.atom_contributions.shape == result.atom_attributions.shape == (3, K)
    assert (result.atom_activations >= 0).all()
    assert result.input_attributions["visual"].shape == (12,)
    assert result.input_attributions["acoustic"].shape == (6,)
    assert result.input_attributions["text"].shape == (3,)
    assert set(result.timings) >= {"input_ig", "atom_layer_ig", "total"}


def test_exact_contributions_sum_to_the_logit() -> None:
    model, inputs = tiny(), video()
    logits = logits_of(model, inputs)
    for target in range(C):
        contributions, bias = atom_contributions(model, inputs, target)
        assert contributions.sum() + bias == pytest.approx(float(logits[target]), abs=1e-5)
    weights = atom_class_weights(model, atom=2)
    codes = atom_activations(model, inputs)
    contributions, _ = atom_contributions(model, inputs, 1)
    np.testing.assert_allclose(contributions[:, 2], weights[:, 1] * codes[:, 2], rtol=1e-6)


def test_layer_ig_is_the_contribution_relative_to_the_zero_video() -> None:
    model, inputs = tiny(), video()
    layer = atom_attributions(model, inputs, target=2)
    here, _ = atom_contributions(model, inputs, 2)
    baseline, _ = atom_contributions(model, zero_video(), 2)
    np.testing.assert_allclose(layer, here - baseline, atol=1e-5)


def test_input_ig_completeness() -> None:
    model, inputs = tiny(), video()
    target = 1
    attrs = input_attributions(model, inputs, target, n_steps=32)
    total = sum(float(attrs[k].sum()) for k in ("visual", "acoustic", "text"))
    expected = float(logits_of(model, inputs)[target] - logits_of(model, zero_video())[target])
    assert total == pytest.approx(expected, abs=1e-2)
    assert attrs["delta"] < 1e-2


def test_another_target_gives_other_attributions() -> None:
    model, inputs = tiny(), video()
    first, second = explain(model, inputs, target=0), explain(model, inputs, target=3)
    assert second.target == 3
    assert not np.allclose(first.input_attributions["visual"], second.input_attributions["visual"])
    assert not np.allclose(first.atom_contributions, second.atom_contributions)
    np.testing.assert_array_equal(first.atom_activations, second.atom_activations)


def test_ablation_subsets_are_distributions_and_all_three_is_the_prediction() -> None:
    model, inputs = tiny(), video()
    ablation = modality_ablation(model, inputs)
    assert set(ablation) == {"V", "A", "T", "V+A", "V+T", "A+T", "V+A+T"}
    for probs in ablation.values():
        assert probs.shape == (C,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    full = torch.softmax(torch.from_numpy(logits_of(model, inputs)), -1).numpy()
    np.testing.assert_allclose(ablation["V+A+T"], full, atol=1e-6)
    assert not np.allclose(ablation["V"], ablation["A"])


def test_empty_caption() -> None:
    model = tiny()
    result = explain(model, video(words=0))
    assert result.input_attributions["text"].shape == (0,)
    assert all(np.isfinite(probs).all() for probs in result.ablation.values())
    assert np.isfinite(result.atom_contributions).all() and np.isfinite(result.input_attributions["visual"]).all()
    empty = video_inputs(np.ones((12, 8)), np.ones((6, 6)), np.zeros((0, 5)), 0)  # no text steps at all
    assert explain(model, empty).input_attributions["text"].shape == (0,)


def test_lstms_have_no_atoms_but_explain_and_ablate() -> None:
    model, inputs = tiny("lstms"), video()
    result = explain(model, inputs)
    assert result.atom_activations is None and result.atom_contributions is None
    assert result.atom_attributions is None and result.bias is None
    assert atom_class_weights(model, 0) is None
    assert result.input_attributions["visual"].shape == (12,)
    assert set(result.ablation) == {"V", "A", "T", "V+A", "V+T", "A+T", "V+A+T"}


@pytest.mark.parametrize("arch", ["conv", "lstm_dl"])
def test_other_architectures_with_atoms(arch: str) -> None:
    model, inputs = tiny(arch), video()
    result = explain(model, inputs, target=2)
    contributions, bias = atom_contributions(model, inputs, 2)
    assert contributions.sum() + bias == pytest.approx(float(logits_of(model, inputs)[2]), abs=1e-5)
    assert result.atom_attributions.shape == (3, K) and result.input_attributions["delta"] < 1e-2


def test_modality_subset_model() -> None:
    model, inputs = tiny(modalities=("visual", "textual")), video()
    result = explain(model, inputs)
    assert result.modalities == ("visual", "textual")
    assert result.atom_activations.shape == (2, K)
    assert result.input_attributions["acoustic"] is None and result.input_attributions["text"].shape == (3,)
    assert set(result.ablation) == {"V", "T", "V+T"}
