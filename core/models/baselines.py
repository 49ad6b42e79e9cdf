"""The paper's deep baselines (section 5.2, Table 2), with EASTERN's unit counts and forward signature.

- `LSTMs`   (lstms):   EASTERN's three parallel LSTMs, final states concatenated -> softmax. No common
                        space, no dictionary (`dictionary` is None; intermediates hold `hidden` only).
- `LSTMDL`  (lstm_dl): each modality's steps mapped by its own linear layer to one input size (150); ONE
                        LSTM shared by the modalities reads each sequence separately; its final state
                        (150 = n) is the common-space vector; then EASTERN's dictionary and classifier.
- `Conv`    (conv):    EASTERN without LSTMs: each sequence mean-pooled over its valid steps (an empty
                        caption pools to zeros), then EASTERN's common space, dictionary and classifier.
"""
from __future__ import annotations

import torch
from torch import nn

from core.models.config import ModelConfig
from core.models.eastern import InputNorm, SparseDictionary, gather_inputs, last_hidden, masked_mean


class LSTMs(nn.Module):
    """Three parallel LSTMs; the concatenated final states feed the softmax classifier."""

    dictionary = None  # no atoms: explainers check this

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.modalities = cfg.modalities
        self.input_norm = InputNorm(cfg)
        self.lstm = nn.ModuleDict({
            m: nn.LSTM(cfg.input_dim(m), cfg.hidden_dim(m), batch_first=True) for m in cfg.modalities
        })
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(sum(cfg.hidden_dim(m) for m in cfg.modalities), cfg.num_classes)

    def forward(self, visual, acoustic, text, text_lengths=None, return_intermediates: bool = False):
        inputs = gather_inputs(self.modalities, visual, acoustic, text, text_lengths, self.input_norm)
        hidden = {m: last_hidden(self.lstm[m], seq, lengths) for m, (seq, lengths) in inputs.items()}  # (B, H_m)
        states = torch.cat([hidden[m] for m in self.modalities], dim=1)  # (B, sum H_m)
        logits = self.classifier(self.dropout(states))  # (B, C)
        if not return_intermediates:
            return logits
        return logits, {"hidden": hidden, "modalities": list(self.modalities)}


class LSTMDL(nn.Module):
    """One LSTM shared by all modalities (after per-step projection to a common input size) + dictionary."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.modalities = cfg.modalities
        self.input_norm = InputNorm(cfg)
        self.to_input = nn.ModuleDict({m: nn.Linear(cfg.input_dim(m), cfg.shared_lstm_input) for m in cfg.modalities})
        self.shared_lstm = nn.LSTM(cfg.shared_lstm_input, cfg.shared_lstm_hidden, batch_first=True)
        # the shared state is the common space when sizes agree (the default), else one shared projection
        self.to_common = (nn.Identity() if cfg.shared_lstm_hidden == cfg.common_dim
                          else nn.Linear(cfg.shared_lstm_hidden, cfg.common_dim))
        self.dictionary = SparseDictionary(cfg.common_dim, cfg.atoms)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(len(cfg.modalities) * cfg.atoms, cfg.num_classes)

    def forward(self, visual, acoustic, text, text_lengths=None, return_intermediates: bool = False):
        inputs = gather_inputs(self.modalities, visual, acoustic, text, text_lengths, self.input_norm)
        hidden = {
            m: last_hidden(self.shared_lstm, self.to_input[m](seq), lengths)  # (B, T_m, 150) -> (B, H_s)
            for m, (seq, lengths) in inputs.items()
        }
        common = {m: self.to_common(hidden[m]) for m in self.modalities}  # (B, n)
        atom_codes = self.dictionary(torch.stack([common[m] for m in self.modalities], dim=1))  # (B, |M|, K)
        logits = self.classifier(self.dropout(atom_codes.flatten(1)))  # (B, C)
        if not return_intermediates:
            return logits
        return logits, {"hidden": hidden, "common": common, "atom_codes": atom_codes,
                        "modalities": list(self.modalities)}


class Conv(nn.Module):
    """EASTERN without the LSTMs: mean-pooled sequences -> common space -> shared dictionary -> softmax."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.modalities = cfg.modalities
        self.input_norm = InputNorm(cfg)
        self.to_common = nn.ModuleDict({m: nn.Linear(cfg.input_dim(m), cfg.common_dim) for m in cfg.modalities})
        self.dictionary = SparseDictionary(cfg.common_dim, cfg.atoms)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(len(cfg.modalities) * cfg.atoms, cfg.num_classes)

    def forward(self, visual, acoustic, text, text_lengths=None, return_intermediates: bool = False):
        inputs = gather_inputs(self.modalities, visual, acoustic, text, text_lengths, self.input_norm)
        pooled = {m: masked_mean(seq, lengths) for m, (seq, lengths) in inputs.items()}  # (B, D_m)
        common = {m: self.to_common[m](pooled[m]) for m in self.modalities}  # (B, n)
        atom_codes = self.dictionary(torch.stack([common[m] for m in self.modalities], dim=1))  # (B, |M|, K)
        logits = self.classifier(self.dropout(atom_codes.flatten(1)))  # (B, C)
        if not return_intermediates:
            return logits
        return logits, {"hidden": pooled, "common": common, "atom_codes": atom_codes,
                        "modalities": list(self.modalities)}
