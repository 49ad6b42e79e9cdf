"""A toy deep model for tests/app/test_registry.py: adding a model is this module plus one registry line.

Mean-pools each modality it reads over its valid steps and feeds the concatenation to a softmax
classifier (no LSTM, no dictionary). It follows the contract of every deep model: built from a
ModelConfig, with `input_norm`, and called as model(visual, acoustic, text, text_lengths, return_intermediates).
"""
from __future__ import annotations

import torch
from torch import nn

from core.models import ModelConfig
from core.models.eastern import InputNorm, gather_inputs, masked_mean


class ToyMean(nn.Module):
    dictionary = None  # no atoms

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.modalities = cfg.modalities
        self.input_norm = InputNorm(cfg)
        self.classifier = nn.Linear(sum(cfg.input_dim(m) for m in cfg.modalities), cfg.num_classes)

    def forward(self, visual, acoustic, text, text_lengths=None, return_intermediates: bool = False):
        inputs = gather_inputs(self.modalities, visual, acoustic, text, text_lengths, self.input_norm)
        pooled = {m: masked_mean(seq, lengths) for m, (seq, lengths) in inputs.items()}
        logits = self.classifier(torch.cat([pooled[m] for m in self.modalities], dim=1))
        if not return_intermediates:
            return logits
        return logits, {"hidden": pooled, "modalities": list(self.modalities)}
