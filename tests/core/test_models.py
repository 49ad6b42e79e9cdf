"""Models at tiny sizes: shapes, gradient flow, empty captions, intermediates, config, parameter count."""
from __future__ import annotations

import itertools

import pytest
import torch

from core.models import ARCHITECTURES, MODALITIES, ModelConfig, build_model, count_parameters

torch.set_num_threads(1)

TINY = dict(visual_dim=16, acoustic_dim=10, text_dim=6, visual_hidden=8, acoustic_hidden=7, text_hidden=5,
            common_dim=9, atoms=6, num_classes=4, shared_lstm_input=9, shared_lstm_hidden=9)
SUBSETS = [s for r in (1, 2, 3) for s in itertools.combinations(MODALITIES, r)]
B, T_TEXT = 5, 7


def tiny_inputs(seed: int = 0, batch: int = B):
    g = torch.Generator().manual_seed(seed)
    visual = torch.randn(batch, 12, TINY["visual_dim"], generator=g)
    acoustic = torch.randn(batch, 6, TINY["acoustic_dim"], generator=g)
    text = torch.randn(batch, T_TEXT, TINY["text_dim"], generator=g)
    lengths = torch.tensor([0, 3, T_TEXT, 1, 5][:batch])
    text[torch.arange(T_TEXT)[None, :] >= lengths[:, None]] = 0.0  # zero padding, as in a FeatureSet
    return visual, acoustic, text, lengths


def tiny_model(arch: str, modalities=MODALITIES, **overrides):
    torch.manual_seed(0)
    return build_model(ModelConfig(arch=arch, modalities=tuple(modalities), **{**TINY, **overrides}))


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("modalities", SUBSETS, ids=lambda s: "+".join(m[0].upper() for m in s))
def test_forward_shapes_and_every_parameter_learns(arch, modalities):
    model = tiny_model(arch, modalities)
    visual, acoustic, text, lengths = tiny_inputs()
    given = {"visual": visual, "acoustic": acoustic, "textual": text}
    # inputs of modalities the model does not read may be None
    args = [given[m] if m in modalities else None for m in MODALITIES]
    logits, inter = model(*args, lengths, return_intermediates=True)
    assert logits.shape == (B, TINY["num_classes"])
    assert torch.isfinite(logits).all()
    assert inter["modalities"] == list(modalities)
    assert set(inter["hidden"]) == set(modalities)
    if arch == "lstms":
        assert "atom_codes" not in inter and model.dictionary is None
    else:
        assert inter["atom_codes"].shape == (B, len(modalities), TINY["atoms"])
        assert (inter["atom_codes"] >= 0).all()
        assert all(inter["common"][m].shape == (B, TINY["common_dim"]) for m in modalities)
        assert model.classifier.in_features == len(modalities) * TINY["atoms"]
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3, 0])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{arch} {modalities}: no gradient for {name}"
        assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_empty_caption_is_h0_and_padding_is_never_read(arch):
    model = tiny_model(arch).eval()
    visual, acoustic, text, lengths = tiny_inputs()
    with torch.no_grad():
        logits, inter = model(visual, acoustic, text, lengths, return_intermediates=True)
        assert torch.all(inter["hidden"]["textual"][0] == 0)  # length 0: h0 (lstm*) or zero mean (conv)
        junk = text.clone()
        junk[torch.arange(T_TEXT)[None, :] >= lengths[:, None]] = 7.0  # garbage in the padding
        assert torch.allclose(model(visual, acoustic, junk, lengths), logits, atol=1e-6)
        all_empty = model(visual, acoustic, text, torch.zeros(B, dtype=torch.int64))
    assert torch.isfinite(all_empty).all()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_text_only_model_with_every_caption_empty_still_trains(arch):
    model = tiny_model(arch, ("textual",))
    _, _, text, _ = tiny_inputs()
    logits = model(None, None, text, torch.zeros(B, dtype=torch.int64))
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert model.classifier.bias.grad.abs().sum() > 0


def test_lengths_are_repeated_when_captum_expands_the_batch():
    model = tiny_model("eastern").eval()
    visual, acoustic, text, lengths = tiny_inputs()
    with torch.no_grad():
        once = model(visual, acoustic, text, lengths)
        twice = model(visual.repeat(2, 1, 1), acoustic.repeat(2, 1, 1), text.repeat(2, 1, 1), lengths)
    assert torch.allclose(twice, once.repeat(2, 1), atol=1e-6)
    with pytest.raises(ValueError, match="text_lengths"):
        model(visual, acoustic, text, lengths[:3])


def test_captum_layer_integrated_gradients_on_the_dictionary():
    from captum.attr import LayerIntegratedGradients

    model = tiny_model("eastern").eval()
    visual, acoustic, text, lengths = tiny_inputs()
    lig = LayerIntegratedGradients(model, model.dictionary)
    with torch.backends.cudnn.flags(enabled=False):
        attr = lig.attribute((visual, acoustic, text), additional_forward_args=(lengths,),
                             target=torch.tensor([0, 1, 2, 3, 0]), n_steps=4)
    assert attr.shape == (B, 3, TINY["atoms"])
    assert torch.isfinite(attr).all()


def test_lstm_dl_shares_one_lstm_and_projects_when_sizes_differ():
    model = tiny_model("lstm_dl")
    lstms = [m for m in model.modules() if isinstance(m, torch.nn.LSTM)]
    assert len(lstms) == 1
    assert isinstance(model.to_common, torch.nn.Identity)  # 150 = n by default: the state is the common vector
    other = tiny_model("lstm_dl", shared_lstm_hidden=11)
    logits, inter = other(*tiny_inputs(), return_intermediates=True)
    assert inter["hidden"]["visual"].shape == (B, 11) and inter["common"]["visual"].shape == (B, TINY["common_dim"])


def test_missing_input_and_batch_mismatch_give_clear_errors():
    model = tiny_model("eastern")
    visual, acoustic, text, lengths = tiny_inputs()
    with pytest.raises(ValueError, match="acoustic"):
        model(visual, None, text, lengths)
    with pytest.raises(ValueError, match="batch"):
        model(visual[:2], acoustic, text, lengths)


def lstm_params(d_in: int, hidden: int) -> int:
    return 4 * hidden * (d_in + hidden) + 8 * hidden  # four gates: W (4H x D), U (4H x H), b_ih + b_hh


def eastern_params(cfg: ModelConfig) -> int:
    n, k = cfg.common_dim, cfg.atoms
    total = sum(lstm_params(cfg.input_dim(m), cfg.hidden_dim(m)) + cfg.hidden_dim(m) * n + n
                for m in cfg.modalities)
    return total + (n * k + k) + (len(cfg.modalities) * k * cfg.num_classes + cfg.num_classes)


@pytest.mark.parametrize("visual_dim", [1280, 4096])
def test_eastern_table4_parameter_count(visual_dim):
    cfg = ModelConfig(visual_dim=visual_dim)
    assert (cfg.visual_hidden, cfg.acoustic_hidden, cfg.text_hidden, cfg.common_dim, cfg.atoms) == (
        500, 300, 80, 150, 100)
    assert count_parameters(build_model(cfg)) == eastern_params(cfg)
    if visual_dim == 4096:  # the paper's AlexNet features: about 10.4M parameters, 9.2M in the visual LSTM
        assert 10.3e6 < eastern_params(cfg) < 10.5e6


def test_config_round_trip_and_validation():
    cfg = ModelConfig(arch="conv", modalities=("textual", "visual"), atoms=50)
    assert cfg.modalities == ("visual", "textual")  # canonical order
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["modalities"] == ["visual", "textual"]
    for bad, message in [({"arch": "gru"}, "architecture"), ({"modalities": ()}, "at least one"),
                         ({"modalities": ("visual", "audio")}, "audio"),
                         ({"modalities": ("visual", "visual")}, "twice"), ({"atoms": 0}, "atoms"),
                         ({"num_classes": 1}, "num_classes"), ({"dropout": 1.0}, "dropout")]:
        with pytest.raises(ValueError, match=message):
            ModelConfig(**bad)
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({"atom": 5})
