"""Typed views of an explanation (app.services.explain) as the pages read them.

The explanation is computed once and cached on disk as JSON (the `explain` command prints the same JSON);
`ExplanationView.from_json` reads that layout and `to_json` writes it back unchanged, so the cache files and
the CLI output keep their format while pages read attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class VenueScore:
    """A venue among the model's classes: its class index, its id in the venue table, its name, and the
    model's probability (and raw score, for an explanation's target) when known."""

    index: int
    venue_id: int
    venue: str
    probability: float | None = None
    logit: float | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VenueScore:
        return cls(index=int(d["index"]), venue_id=int(d["venue_id"]), venue=str(d["venue"]),
                   probability=d.get("probability"), logit=d.get("logit"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "venue_id": self.venue_id, "venue": self.venue}
        if self.probability is not None:
            out["probability"] = self.probability
        if self.logit is not None:
            out["logit"] = self.logit
        return out


@dataclass(frozen=True)
class AtomPush:
    """One dictionary atom of one modality and how much it pushed the target's score."""

    modality: str
    atom: int
    activation: float
    contribution: float


@dataclass(frozen=True)
class AtomsView:
    """The sparse codes of the explained video: (|M|, K) activations, their exact contributions to the
    target's logit (weights x codes; they sum with `bias` to the logit), Layer Integrated Gradients on the
    dictionary layer, each modality's share of silent atoms and the strongest pushes."""

    activations: list[list[float]]
    contributions: list[list[float]]
    bias: float
    layer_ig: list[list[float]]
    zero_fraction: dict[str, float]
    top: list[AtomPush]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AtomsView:
        return cls(activations=d["activations"], contributions=d["contributions"], bias=float(d["bias"]),
                   layer_ig=d["layer_ig"], zero_fraction=dict(d["zero_fraction"]),
                   top=[AtomPush(str(t["modality"]), int(t["atom"]), float(t["activation"]), float(t["contribution"]))
                        for t in d["top"]])

    def to_json(self) -> dict[str, Any]:
        return {"activations": self.activations, "contributions": self.contributions, "bias": self.bias,
                "layer_ig": self.layer_ig, "zero_fraction": self.zero_fraction,
                "top": [t.__dict__.copy() for t in self.top]}


@dataclass(frozen=True)
class InputAttributions:
    """Integrated Gradients per input step: 12 frames, 6 audio clips, the words read (None for a modality the
    model does not read), the caption as written with each word's summed attribution (None for a word the
    model never read), and the convergence delta."""

    visual: list[float] | None
    acoustic: list[float] | None
    text: list[float] | None
    tokens: list[str]
    caption_words: list[tuple[str, float | None]] | None
    delta: float | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> InputAttributions:
        words = d.get("caption_words")
        return cls(visual=d.get("visual"), acoustic=d.get("acoustic"), text=d.get("text"),
                   tokens=list(d.get("tokens") or []), delta=d.get("delta"),
                   caption_words=None if words is None else [(str(w), s) for w, s in words])

    def to_json(self) -> dict[str, Any]:
        return {"visual": self.visual, "acoustic": self.acoustic, "text": self.text, "tokens": self.tokens,
                "caption_words": None if self.caption_words is None else [[w, s] for w, s in self.caption_words],
                "delta": self.delta}


@dataclass(frozen=True)
class AblationRow:
    """What the model predicts from one subset of its modalities ("V", "V+A", ...; the others' codes zeroed)."""

    subset: str
    modalities: list[str]
    venue: str
    venue_id: int
    probability: float
    top: list[VenueScore]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AblationRow:
        return cls(subset=str(d["subset"]), modalities=list(d["modalities"]), venue=str(d["venue"]),
                   venue_id=int(d["venue_id"]), probability=float(d["probability"]),
                   top=[VenueScore.from_json(t) for t in d["top"]])

    def to_json(self) -> dict[str, Any]:
        return {"subset": self.subset, "modalities": self.modalities, "venue": self.venue, "venue_id": self.venue_id,
                "probability": self.probability, "top": [t.to_json() for t in self.top]}


@dataclass(frozen=True)
class ModelRef:
    id: int
    name: str
    architecture: str | None = None


@dataclass(frozen=True)
class ExplanationView:
    """Why a model scores a venue for a video: its prediction, the explained target (the prediction or a
    venue asked about), every class's probability, the atoms (None for a model without a dictionary), the
    input attributions, the modality ablation and the timings; `cached` when read from the disk cache."""

    format: int
    model: ModelRef
    video_id: int
    predicted: VenueScore
    target: VenueScore
    probabilities: list[VenueScore]
    modalities: list[str]
    atoms: AtomsView | None
    inputs: InputAttributions
    ablation: list[AblationRow]
    timings: dict[str, float]
    cached: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any], *, cached: bool = False) -> ExplanationView:
        m = d["model"]
        return cls(
            format=int(d["format"]), model=ModelRef(int(m["id"]), str(m["name"]), m.get("architecture")),
            video_id=int(d["video_id"]), predicted=VenueScore.from_json(d["predicted"]),
            target=VenueScore.from_json(d["target"]),
            probabilities=[VenueScore.from_json(p) for p in d["probabilities"]], modalities=list(d["modalities"]),
            atoms=AtomsView.from_json(d["atoms"]) if d.get("atoms") is not None else None,
            inputs=InputAttributions.from_json(d["inputs"]), ablation=[AblationRow.from_json(r) for r in d["ablation"]],
            timings=dict(d.get("timings") or {}), cached=cached,
        )

    def to_json(self) -> dict[str, Any]:
        """The cache file's and the `explain` command's JSON (with `cached`)."""
        model = {"id": self.model.id, "name": self.model.name}
        if self.model.architecture is not None:
            model["architecture"] = self.model.architecture
        return {
            "format": self.format, "model": model, "video_id": self.video_id, "predicted": self.predicted.to_json(),
            "target": self.target.to_json(), "probabilities": [p.to_json() for p in self.probabilities],
            "modalities": self.modalities, "atoms": self.atoms.to_json() if self.atoms is not None else None,
            "inputs": self.inputs.to_json(), "ablation": [r.to_json() for r in self.ablation],
            "timings": self.timings, "cached": self.cached,
        }

    @property
    def explains_prediction(self) -> bool:
        return self.target.venue_id == self.predicted.venue_id


@dataclass(frozen=True)
class AblationView:
    """What a model predicts from each modality, each pair and all three, for one video."""

    model: ModelRef
    video_id: int
    full_prediction: str
    rows: list[AblationRow]
    note: str = field(default="absent modalities' atom codes are set to zero before the classifier (no retraining)")

    def to_json(self) -> dict[str, Any]:
        return {"model": {"id": self.model.id, "name": self.model.name}, "video_id": self.video_id,
                "full_prediction": self.full_prediction, "rows": [r.to_json() for r in self.rows], "note": self.note}


@dataclass(frozen=True)
class AtomOverview:
    """Every atom of a model version at a glance, from the codes saved at promotion: per modality and atom
    ((|M|, K) nested lists) the mean activation and the share of videos with a non-zero code."""

    model: ModelRef
    modalities: list[str]
    atoms: int  # K
    videos: int  # N
    mean: list[list[float]]
    active_share: list[list[float]]
