"""Why did the model pick this venue? Explanations for ONE video (tensors with a batch of 1).

Three views, cheapest first:

- **Atom activations** (`atom_activations`): the sparse codes F(x_m) of the shared dictionary, one row
  per modality (visual, acoustic, textual order, only the modalities the model has), from one forward.
- **Exact atom contributions** (`atom_contributions`): the classifier is linear on the concatenated
  codes, so logit_c = b_c + sum_{m,k} W[c, m*K + k] * code[m, k]. The contribution of atom k of
  modality m to class c is W[c, m*K + k] * code[m, k]; the table plus the bias sums to the logit.
- **Captum views**: `atom_attributions` is Captum's LayerIntegratedGradients on the output of
  `model.dictionary`, which is called once per forward on the stacked (B, |M|, n) common vectors, so
  every modality's row is recovered. Only the linear classifier follows the codes, so it equals
  W * (code(x) - code(x0)) with x0 the all-zero video: the exact contributions *relative to that
  baseline* (a cross-check of the exact view, and the one to use if a nonlinearity is ever added).
  `input_attributions` is IntegratedGradients over the three input sequences at once (zero
  baselines), summed over the feature axis to one signed score per time step (frame, audio clip,
  word): which moments pushed the class up or down.

`modality_ablation` answers "what would it say from the video alone / the sound alone?" LIVE on the
trained model by zeroing the absent modalities' atom codes before the classifier. This is a masking
ablation of one trained model, not the retrained single-modality models of the paper's Table 3.

Models without atoms (`lstms`) get None for the atom parts; their ablation zeros the absent
modalities' LSTM states (the classifier's input segments) instead.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from core.modalities import LETTERS, MODALITIES

_INPUT_INDEX = {"visual": 0, "acoustic": 1, "textual": 2}


class VideoInputs(NamedTuple):
    """One video as model inputs: visual (1,12,D_v), acoustic (1,6,512), text (1,T,dim), text_lengths (1,)."""

    visual: torch.Tensor
    acoustic: torch.Tensor
    text: torch.Tensor
    text_lengths: torch.Tensor


def video_inputs(visual: np.ndarray, acoustic: np.ndarray, text: np.ndarray, text_length: int,
                 device: torch.device | str = "cpu") -> VideoInputs:
    """Batch-of-one float32 tensors from one video's arrays (visual (12,D_v), acoustic (6,512), text (T,dim))."""
    def as_tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)[None]

    text = np.asarray(text, dtype=np.float32)
    if text.shape[0] == 0:  # an empty caption still needs one (zero) step for the padded batch
        text = np.zeros((1, text.shape[-1]), dtype=np.float32)
    return VideoInputs(as_tensor(visual), as_tensor(acoustic), as_tensor(text),
                       torch.tensor([int(text_length)], dtype=torch.int64))


@dataclass
class Explanation:
    """Everything `explain` computed for one video and one target class."""

    predicted: int
    target: int
    probabilities: np.ndarray  # (C,)
    logits: np.ndarray  # (C,)
    modalities: tuple[str, ...]
    atom_activations: np.ndarray | None  # (|M|, K)
    atom_contributions: np.ndarray | None  # (|M|, K), exact, sums with `bias` to logits[target]
    bias: float | None  # classifier bias of the target class
    atom_attributions: np.ndarray | None  # (|M|, K), LayerIG w.r.t. the zero-video baseline
    input_attributions: dict[str, np.ndarray | float | None]  # visual (12,), acoustic (6,), text (T_valid,), delta
    ablation: dict[str, np.ndarray]  # "V", "V+A", ... -> (C,) probabilities
    timings: dict[str, float] = field(default_factory=dict)  # seconds


# ------------------------------------------------------------------ model plumbing


def model_modalities(model: nn.Module) -> tuple[str, ...]:
    """The modalities the model reads, in canonical order (the order of its atom-code rows)."""
    return tuple(model.cfg.modalities)


def has_atoms(model: nn.Module) -> bool:
    """EASTERN, lstm_dl and conv have a shared dictionary; lstms has none."""
    return getattr(model, "dictionary", None) is not None


@contextmanager
def _explaining(model: nn.Module) -> Iterator[None]:
    """eval mode (no dropout), and cuDNN off: its LSTM refuses backward in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.backends.cudnn.flags(enabled=False):
            yield
    finally:
        model.train(was_training)


def _forward(model: nn.Module, inputs: VideoInputs) -> tuple[torch.Tensor, torch.Tensor, list[slice]]:
    """logits (1,C), the classifier's input (1,F) and each modality's slice of it, from one forward:
    the flattened atom codes (K per modality), or the concatenated LSTM states for `lstms`."""
    with torch.no_grad():
        logits, inter = model(*inputs, return_intermediates=True)
    if has_atoms(model):
        codes = inter["atom_codes"]  # (1, |M|, K)
        features, sizes = codes.flatten(1), [codes.shape[2]] * codes.shape[1]
    else:
        states = [inter["hidden"][m] for m in model_modalities(model)]
        features, sizes = torch.cat(states, dim=1), [s.shape[1] for s in states]
    edges = np.cumsum([0, *sizes])
    return logits, features, [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _check_one(model: nn.Module, inputs: VideoInputs) -> VideoInputs:
    """A batch of one, float sequences on the model's device (lengths stay on the CPU)."""
    inputs = VideoInputs(*inputs)
    if inputs.visual.shape[0] != 1:
        raise ValueError(f"explain works on one video at a time, got a batch of {inputs.visual.shape[0]}")
    device = next(model.parameters()).device
    return VideoInputs(*(t.to(device=device, dtype=torch.float32) for t in inputs[:3]), inputs.text_lengths.cpu())


# ------------------------------------------------------------------ atoms


def atom_activations(model: nn.Module, inputs: VideoInputs) -> np.ndarray | None:
    """The sparse codes (|M|, K), rows in modality order; None for a model without atoms."""
    if not has_atoms(model):
        return None
    with _explaining(model):
        _logits, codes, _segments = _forward(model, _check_one(model, inputs))
    return codes.reshape(len(model_modalities(model)), -1).cpu().numpy()


def atom_contributions(model: nn.Module, inputs: VideoInputs, target: int) -> tuple[np.ndarray, float] | None:
    """Exact per-atom contributions W[target, m*K+k] * code[m,k] (|M|, K) and the bias b[target]:
    contributions.sum() + bias == logit[target]. None for a model without atoms."""
    codes = atom_activations(model, inputs)
    return None if codes is None else _contributions(model, codes, target)


def _contributions(model: nn.Module, codes: np.ndarray, target: int) -> tuple[np.ndarray, float]:
    layer = model.classifier
    weights = layer.weight[target].detach().cpu().numpy().reshape(codes.shape)
    bias = float(layer.bias[target].detach()) if layer.bias is not None else 0.0
    return weights * codes, bias


def atom_class_weights(model: nn.Module, atom: int) -> np.ndarray | None:
    """The classifier weight of atom `atom` for every class, per modality: (|M|, C). None without atoms."""
    if not has_atoms(model):
        return None
    weight = model.classifier.weight.detach().cpu().numpy()  # (C, |M|*K)
    per_modality = weight.reshape(weight.shape[0], len(model_modalities(model)), -1)  # (C, |M|, K)
    if not 0 <= atom < per_modality.shape[2]:
        raise IndexError(f"atom {atom} out of range 0..{per_modality.shape[2] - 1}")
    return per_modality[:, :, atom].T.copy()


def _attributed(model: nn.Module, inputs: VideoInputs) -> tuple[tuple[str, ...], tuple[torch.Tensor, ...], tuple]:
    """Captum's inputs (the modalities the model reads) and the rest as additional forward args.
    Unused inputs are not attributed: autograd would refuse a tensor that is not in the graph."""
    mods = model_modalities(model)
    attributed = tuple(inputs[_INPUT_INDEX[m]] for m in mods)
    fixed = tuple(inputs[_INPUT_INDEX[m]] for m in MODALITIES if m not in mods)
    return mods, attributed, (*fixed, inputs.text_lengths)


def _forward_fn(model: nn.Module, mods: tuple[str, ...]):  # noqa: ANN202 - a Captum forward function
    """f(*attributed, *fixed, text_lengths) -> logits, putting the tensors back in model order."""
    missing = [m for m in MODALITIES if m not in mods]

    def forward(*args: torch.Tensor) -> torch.Tensor:
        by_name = dict(zip(mods + tuple(missing), args[:-1], strict=True))
        return model(by_name["visual"], by_name["acoustic"], by_name["textual"], args[-1])

    return forward


def atom_attributions(model: nn.Module, inputs: VideoInputs, target: int, n_steps: int = 1) -> np.ndarray | None:
    """Captum LayerIntegratedGradients on the output of `model.dictionary` (called once per forward on
    the stacked (B, |M|, 150) common vectors, so each modality keeps its row), zero-video baseline:
    (|M|, K). Only the linear classifier follows the codes, so this is W*(code(x) - code(x0)), exact
    for any n_steps; None for a model without atoms."""
    if not has_atoms(model):
        return None
    from captum.attr import LayerIntegratedGradients

    inputs = _check_one(model, inputs)
    mods, attributed, extra = _attributed(model, inputs)
    with _explaining(model):
        lig = LayerIntegratedGradients(_forward_fn(model, mods), model.dictionary)
        attr = lig.attribute(attributed, baselines=tuple(torch.zeros_like(t) for t in attributed), target=int(target),
                             additional_forward_args=extra, n_steps=n_steps, attribute_to_layer_input=False)
    return attr.detach().reshape(len(mods), -1).cpu().numpy()


# ------------------------------------------------------------------ inputs


def input_attributions(model: nn.Module, inputs: VideoInputs, target: int, n_steps: int = 32) -> dict:
    """Captum IntegratedGradients over the input sequences at once (zero baselines), summed over the
    feature axis (sign kept): visual (12,), acoustic (6,), text (T_valid,) or None for a modality the
    model does not read, and `delta`, the convergence delta (sum of attributions minus
    logit(x) - logit(0)). n_steps points in one internal batch: ~0.3 s on CPU at Table 4 sizes."""
    from captum.attr import IntegratedGradients

    inputs = _check_one(model, inputs)
    mods, attributed, extra = _attributed(model, inputs)
    with _explaining(model):
        ig = IntegratedGradients(_forward_fn(model, mods))
        attrs, delta = ig.attribute(
            attributed, baselines=tuple(torch.zeros_like(t) for t in attributed), target=int(target),
            additional_forward_args=extra, n_steps=n_steps, internal_batch_size=n_steps,
            return_convergence_delta=True,
        )
    per_step = {m: a.detach()[0].sum(-1).cpu().numpy() for m, a in zip(mods, attrs, strict=True)}
    n_words = int(inputs.text_lengths[0])
    return {
        "visual": per_step.get("visual"),
        "acoustic": per_step.get("acoustic"),
        "text": per_step["textual"][:n_words] if "textual" in per_step else None,
        "delta": float(delta.abs().max()),
    }


# ------------------------------------------------------------------ modalities


def subset_name(subset: tuple[str, ...]) -> str:
    """('visual', 'textual') -> 'V+T'."""
    return "+".join(LETTERS[m] for m in subset)


def modality_ablation(model: nn.Module, inputs: VideoInputs) -> dict[str, np.ndarray]:
    """Softmax probabilities (C,) with only some modalities present, for every non-empty subset of the
    model's modalities ("V", "A", "T", "V+A", ..., "V+A+T"). Absent modalities' atom codes (LSTM
    states for `lstms`) are zeroed before the classifier: a masking ablation of this trained model,
    not a model retrained on fewer modalities."""
    with _explaining(model):
        _logits, features, segments = _forward(model, _check_one(model, inputs))
        mods = model_modalities(model)
        layer = model.classifier
        out: dict[str, np.ndarray] = {}
        for size in range(1, len(mods) + 1):
            for subset in itertools.combinations(range(len(mods)), size):
                masked = torch.zeros_like(features)
                for i in subset:
                    masked[:, segments[i]] = features[:, segments[i]]
                with torch.no_grad():
                    probs = torch.softmax(layer(masked), dim=-1)[0]
                out[subset_name(tuple(mods[i] for i in subset))] = probs.cpu().numpy()
    return out


# ------------------------------------------------------------------ everything


def explain(model: nn.Module, inputs: VideoInputs, target: int | None = None, n_steps: int = 32) -> Explanation:
    """All views for one video and one class: the predicted class by default, or any other
    ("why not Stadium?")."""
    inputs = _check_one(model, inputs)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with _explaining(model):
        logits, features, _segments = _forward(model, inputs)
    probs = torch.softmax(logits, dim=-1)[0].cpu().numpy()
    predicted = int(probs.argmax())
    target = predicted if target is None else int(target)
    if not 0 <= target < len(probs):
        raise IndexError(f"target class {target} out of range 0..{len(probs) - 1}")
    timings["forward"] = time.perf_counter() - start

    mark = time.perf_counter()
    activations = features.reshape(len(model_modalities(model)), -1).cpu().numpy() if has_atoms(model) else None
    exact = _contributions(model, activations, target) if activations is not None else None
    timings["atom_contributions"] = time.perf_counter() - mark

    mark = time.perf_counter()
    layer_attr = atom_attributions(model, inputs, target)
    timings["atom_layer_ig"] = time.perf_counter() - mark

    mark = time.perf_counter()
    per_input = input_attributions(model, inputs, target, n_steps=n_steps)
    timings["input_ig"] = time.perf_counter() - mark

    mark = time.perf_counter()
    ablation = modality_ablation(model, inputs)
    timings["ablation"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start

    return Explanation(
        predicted=predicted, target=target, probabilities=probs, logits=logits[0].detach().cpu().numpy(),
        modalities=model_modalities(model), atom_activations=activations,
        atom_contributions=exact[0] if exact else None, bias=exact[1] if exact else None,
        atom_attributions=layer_attr, input_attributions=per_input, ablation=ablation, timings=timings,
    )
