"""EASTERN and its deep baselines; `build_model(ModelConfig(...))` makes any registered deep model
(core.models.registry: one spec per architecture).

Every model is called as `model(visual, acoustic, text, text_lengths, return_intermediates=False)`.

Importing this package loads no torch: the registry, the config and the names are cheap (the dashboard's pages
that do not explain import them), and the model classes are imported on first use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from core.models import registry
from core.models.config import ARCHITECTURES, MODALITIES, ModelConfig

if TYPE_CHECKING:
    from torch import nn

_CLASSES = {"EASTERN": "core.models.eastern", "LSTMs": "core.models.baselines", "LSTMDL": "core.models.baselines",
            "Conv": "core.models.baselines"}


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'core.models' has no attribute {name!r}")


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
