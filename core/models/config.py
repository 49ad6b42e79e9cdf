"""ModelConfig: one dataclass describing every model, with the paper's Table 4 sizes as defaults."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from core.modalities import MODALITIES
from core.models import registry

ARCHITECTURES = registry.names("deep")  # the built-in deep architectures (tests parametrize over them)


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of a model. Defaults are Table 4 of the paper; input sizes follow our feature extractor.

    visual_dim follows the frame encoder (1280 for EfficientNet-Lite0; the paper's AlexNet fc7 is 4096).
    shared_lstm_hidden (lstm_dl only) is 150: the paper restricts baselines to EASTERN's unit counts,
    and one LSTM shared by three modalities has to take one size; 150 equals its input size and the
    common space n, so its final state is used directly as the common-space vector.
    dropout (not in the paper, 0 = off) is applied to the classifier's input during training.
    """

    arch: str = "eastern"
    modalities: tuple[str, ...] = MODALITIES
    visual_dim: int = 1280
    acoustic_dim: int = 512
    text_dim: int = 100
    visual_hidden: int = 500
    acoustic_hidden: int = 300
    text_hidden: int = 80
    common_dim: int = 150
    atoms: int = 100
    num_classes: int = 22
    shared_lstm_input: int = 150
    shared_lstm_hidden: int = 150
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not registry.is_registered(self.arch, "deep"):
            raise ValueError(f"unknown architecture {self.arch!r}: choose one of {', '.join(registry.names('deep'))}")
        chosen = (self.modalities,) if isinstance(self.modalities, str) else tuple(self.modalities)
        unknown = [m for m in chosen if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}: choose from {', '.join(MODALITIES)}")
        if not chosen:
            raise ValueError("modalities must name at least one of visual, acoustic, textual")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"modalities {chosen} name a modality twice")
        # canonical order (visual, acoustic, textual): atom codes and classifier segments follow it
        object.__setattr__(self, "modalities", tuple(m for m in MODALITIES if m in chosen))
        for name in ("visual_dim", "acoustic_dim", "text_dim", "visual_hidden", "acoustic_hidden", "text_hidden",
                     "common_dim", "atoms", "shared_lstm_input", "shared_lstm_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {self.num_classes!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def input_dim(self, modality: str) -> int:
        """Per-step feature size of a modality's input sequence."""
        return {"visual": self.visual_dim, "acoustic": self.acoustic_dim, "textual": self.text_dim}[modality]

    def hidden_dim(self, modality: str) -> int:
        """Hidden units of a modality's own LSTM (eastern, lstms)."""
        return {"visual": self.visual_hidden, "acoustic": self.acoustic_hidden, "textual": self.text_hidden}[modality]

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (JSON and torch.load(weights_only=True) friendly)."""
        out = asdict(self)
        out["modalities"] = list(self.modalities)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Inverse of to_dict; missing fields take their defaults, unknown ones are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {', '.join(unknown)}")
        values = dict(raw)
        if "modalities" in values:
            values["modalities"] = tuple(values["modalities"])
        return cls(**values)
