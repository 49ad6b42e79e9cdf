"""EASTERN and its deep baselines; `build_model(ModelConfig(...))` makes any registered deep model
(core.models.registry: one spec per architecture).

Every model is called as `model(visual, acoustic, text, text_lengths, return_intermediates=False)`.
"""
from __future__ import annotations

from torch import nn

from core.models import registry
from core.models.baselines import LSTMDL, Conv, LSTMs
from core.models.config import ARCHITECTURES, MODALITIES, ModelConfig
from core.models.eastern import EASTERN


def build_model(cfg: ModelConfig) -> nn.Module:
    """A freshly initialised model of `cfg.arch` (PyTorch's default initialisation)."""
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"build_model expects a ModelConfig, got {type(cfg).__name__}")
    return registry.create_model(cfg)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["ARCHITECTURES", "MODALITIES", "EASTERN", "LSTMs", "LSTMDL", "Conv", "ModelConfig", "build_model",
           "count_parameters", "registry"]
