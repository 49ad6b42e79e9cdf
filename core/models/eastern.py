"""EASTERN (Liu et al., ACM MM 2017, section 4): parallel LSTMs -> common space -> shared dictionary -> softmax.

    h_m      = last hidden state of LSTM_m over modality m's sequence        eq. (3)   (B, H_m)
    x_m      = W_m h_m + b_m                                                 eq. (4)   (B, n)
    codes_m  = max(0, W_1 x_m + b_1)   one dictionary of K atoms for all m   eq. (5)   (B, K)
    logits   = W_c [codes_v; codes_a; codes_t] + b_c   (softmax in the loss)           (B, C)

The K "filters of size n x 1" of the paper's CNN are one nn.Linear(n, K) applied to each modality's
common-space vector: `model.dictionary` (its `atoms.weight` is the (K, n) dictionary). Captum's
LayerIntegratedGradients can target `model.dictionary` (its output is the atom codes (B, |M|, K)) or
`model.classifier` (its input is the flattened codes).

Inputs: visual (B, 12, D_v), acoustic (B, 6, D_a), text (B, T, D_t) zero-padded, text_lengths (B,)
(0 = empty caption; None = every row has T words). Inputs of modalities the model does not read may be
None. An empty caption's textual state is h0 = 0 (the LSTM has read nothing). When Captum expands the
batch (IG stacks n_steps copies of the inputs), pass text_lengths as an additional forward arg: Captum
repeats it the same way; a lengths tensor whose size divides the batch is also repeated to match.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from core.models.config import ModelConfig


def text_lengths_for(text: torch.Tensor, text_lengths: torch.Tensor | None) -> torch.Tensor:
    """Lengths (B,) int64 on the CPU, clipped to [0, T]; repeated when Captum expanded the batch."""
    batch, steps = text.shape[0], text.shape[1]
    if text_lengths is None:
        return torch.full((batch,), steps, dtype=torch.int64)
    lengths = torch.as_tensor(text_lengths).reshape(-1).to(device="cpu", dtype=torch.int64)
    if lengths.numel() != batch:
        if lengths.numel() == 0 or batch % lengths.numel():
            raise ValueError(f"text_lengths has {lengths.numel()} entries for a batch of {batch}")
        lengths = lengths.repeat(batch // lengths.numel())  # Captum stacks copies of the whole batch
    return lengths.clamp(0, steps)


def last_hidden(lstm: nn.LSTM, seq: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Final hidden state (B, H) of a batch_first LSTM (h0 = c0 = 0).

    With lengths, row i stops after lengths[i] steps (padding is never read); a row of length 0 gets
    h0 = 0. pack_padded_sequence refuses length 0, so such rows are packed with length 1 and zeroed.
    """
    if lengths is None:
        _, (h_n, _) = lstm(seq)
        return h_n[-1]
    packed = pack_padded_sequence(seq, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
    _, (h_n, _) = lstm(packed)  # h_n comes back in the original row order
    h_last = h_n[-1]  # (B, H)
    has_steps = (lengths > 0).to(h_last.device).unsqueeze(1)
    return torch.where(has_steps, h_last, torch.zeros_like(h_last))


def masked_mean(seq: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the first lengths[i] steps of row i: (B, T, D) -> (B, D); zeros for length 0."""
    if lengths is None:
        return seq.mean(dim=1)
    lengths = lengths.to(seq.device)
    mask = (torch.arange(seq.shape[1], device=seq.device)[None, :] < lengths[:, None]).to(seq.dtype)  # (B, T)
    total = torch.einsum("bt,btd->bd", mask, seq)
    return total / lengths.clamp(min=1).to(seq.dtype)[:, None]


class InputNorm(nn.Module):
    """Per-feature standardisation of each modality's steps, (x - mean) / std, with statistics of the
    training split kept as buffers (so checkpoints carry them). Identity until `set_stats` is called.

    Not in the paper, which does not say how its features were scaled; without it the raw scales differ
    by orders of magnitude (librosa dB and MFCC values in the tens to hundreds, word2vec vectors of a
    small corpus near 0.01), and the acoustic and textual LSTMs barely learn in a few epochs.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        for m in cfg.modalities:
            self.register_buffer(f"{m}_mean", torch.zeros(cfg.input_dim(m)))
            self.register_buffer(f"{m}_std", torch.ones(cfg.input_dim(m)))

    def set_stats(self, stats: dict[str, tuple]) -> None:
        """stats: modality -> (mean (D_m,), std (D_m,)); stds below 1e-6 count as 1 (constant features)."""
        for m, (mean, std) in stats.items():
            mean_buf, std_buf = getattr(self, f"{m}_mean"), getattr(self, f"{m}_std")
            mean = torch.as_tensor(mean, dtype=mean_buf.dtype).reshape(mean_buf.shape)
            std = torch.as_tensor(std, dtype=std_buf.dtype).reshape(std_buf.shape)
            mean_buf.copy_(mean)
            std_buf.copy_(torch.where(std < 1e-6, torch.ones_like(std), std))

    def forward(self, modality: str, seq: torch.Tensor) -> torch.Tensor:
        return (seq - getattr(self, f"{modality}_mean")) / getattr(self, f"{modality}_std")


def gather_inputs(
    modalities: tuple[str, ...],
    visual: torch.Tensor | None,
    acoustic: torch.Tensor | None,
    text: torch.Tensor | None,
    text_lengths: torch.Tensor | None,
    norm: InputNorm | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor | None]]:
    """modality -> (sequence (B, T_m, D_m), lengths (B,) or None) for the modalities a model reads,
    standardised by `norm` when given (padding steps are never read, so their value does not matter)."""
    given = {"visual": visual, "acoustic": acoustic, "textual": text}
    out: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
    for m in modalities:
        seq = given[m]
        if seq is None:
            raise ValueError(f"this model reads the {m} modality, but its input is None")
        if seq.dim() != 3:
            raise ValueError(f"{m} input must be (batch, steps, features), got shape {tuple(seq.shape)}")
        lengths = text_lengths_for(seq, text_lengths) if m == "textual" else None
        out[m] = (norm(m, seq) if norm is not None else seq, lengths)
    batches = {seq.shape[0] for seq, _ in out.values()}
    if len(batches) > 1:
        raise ValueError(f"inputs disagree on the batch size: {sorted(batches)}")
    return out


class SparseDictionary(nn.Module):
    """K atoms shared by every modality: codes = max(0, atoms(x)), (..., n) -> (..., K). Eq. (5)."""

    def __init__(self, common_dim: int, atoms: int):
        super().__init__()
        self.atoms = nn.Linear(common_dim, atoms)  # weight (K, n): row k is atom k

    def forward(self, common: torch.Tensor) -> torch.Tensor:
        return F.relu(self.atoms(common))


class EASTERN(nn.Module):
    """Three independent LSTMs, per-modality projections into one common space, one shared dictionary."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.modalities = cfg.modalities
        self.input_norm = InputNorm(cfg)
        self.lstm = nn.ModuleDict({
            m: nn.LSTM(cfg.input_dim(m), cfg.hidden_dim(m), batch_first=True) for m in cfg.modalities
        })
        self.to_common = nn.ModuleDict({m: nn.Linear(cfg.hidden_dim(m), cfg.common_dim) for m in cfg.modalities})
        self.dictionary = SparseDictionary(cfg.common_dim, cfg.atoms)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(len(cfg.modalities) * cfg.atoms, cfg.num_classes)

    def forward(self, visual, acoustic, text, text_lengths=None, return_intermediates: bool = False):
        inputs = gather_inputs(self.modalities, visual, acoustic, text, text_lengths, self.input_norm)
        hidden = {m: last_hidden(self.lstm[m], seq, lengths) for m, (seq, lengths) in inputs.items()}  # (B, H_m)
        common = {m: self.to_common[m](hidden[m]) for m in self.modalities}  # (B, n)
        atom_codes = self.dictionary(torch.stack([common[m] for m in self.modalities], dim=1))  # (B, |M|, K)
        logits = self.classifier(self.dropout(atom_codes.flatten(1)))  # (B, C)
        if not return_intermediates:
            return logits
        return logits, {"hidden": hidden, "common": common, "atom_codes": atom_codes,
                        "modalities": list(self.modalities)}
