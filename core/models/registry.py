"""One registry of the methods this project trains, in the spirit of timm's register_model / create_model.

Each architecture has one ModelSpec: its name (the `--model` value and the stored `architecture`), the
paper's display name, whether it is a deep model (trained by core.train on the sequences, activatable in
the dashboard) or a shallow baseline (a core.baselines class on mean-pooled features, kept for
comparison), whether it has the shared dictionary of atoms, and its builder. Builders are named as
'module:attribute' and imported on first use (a shallow baseline's module is loaded only when it is built;
importing core.models itself loads torch and the deep models). Everything that lists, validates or
displays architectures reads this module:

    create_model(ModelConfig(arch="eastern"))        # a deep model, freshly initialised
    create_baseline("trumann", n_classes=22, seed=0)  # a shallow baseline's class, instantiated
    names(kind="deep"); spec("lstms").has_atoms; display("lstm_dl") -> 'LSTM+DL'

Adding a model: write its module (a class taking a ModelConfig, called as
`model(visual, acoustic, text, text_lengths, return_intermediates=False)`), then add one `register(...)`
line below (or call `register_model` from your own code, as tests/app/test_registry.py does).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["deep", "shallow"]
KINDS: tuple[str, ...] = ("deep", "shallow")


@dataclass(frozen=True)
class ModelSpec:
    """One architecture. `builder` is a class/callable or a 'module:attribute' string (imported lazily)."""

    name: str
    display: str
    kind: Kind
    has_atoms: bool
    builder: str | Callable[..., Any]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum() or self.name != self.name.lower():
            raise ValueError(f"model name {self.name!r}: lower-case letters, digits and _ only")
        if self.kind not in KINDS:
            raise ValueError(f"model {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def deep(self) -> bool:
        return self.kind == "deep"

    @property
    def activatable(self) -> bool:
        """Only deep models predict, explain and serve the dashboard; shallow ones are kept for comparison."""
        return self.kind == "deep"

    def resolve(self) -> Callable[..., Any]:
        """The builder itself (importing its module the first time)."""
        if callable(self.builder):
            return self.builder
        module, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(model_spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add an architecture; a second registration of a name is an error unless `replace`."""
    if model_spec.name in _REGISTRY and not replace:
        raise ValueError(f"model {model_spec.name!r} is registered already")
    _REGISTRY[model_spec.name] = model_spec
    return model_spec


def unregister_model(name: str) -> None:
    _REGISTRY.pop(name, None)


@contextmanager
def registered(model_spec: ModelSpec) -> Iterator[ModelSpec]:
    """Register for the duration of a with-block (tests, experiments)."""
    register_model(model_spec)
    try:
        yield model_spec
    finally:
        unregister_model(model_spec.name)


def spec(name: str) -> ModelSpec:
    """The spec of `name`; an unknown name is a ValueError listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}: choose one of {', '.join(_REGISTRY)}") from None


def is_registered(name: str, kind: str | None = None) -> bool:
    found = _REGISTRY.get(name)
    return found is not None and (kind is None or found.kind == kind)


def names(kind: str | None = None) -> tuple[str, ...]:
    """Registered names in registration order (the paper's order), optionally of one kind."""
    return tuple(s.name for s in _REGISTRY.values() if kind is None or s.kind == kind)


def specs(kind: str | None = None) -> tuple[ModelSpec, ...]:
    return tuple(s for s in _REGISTRY.values() if kind is None or s.kind == kind)


def display(name: str) -> str:
    """The paper's name of an architecture ('LSTM+DL'); an unregistered name is shown as it is."""
    found = _REGISTRY.get(name)
    return found.display if found else name


def create_model(cfg: Any) -> Any:
    """A freshly initialised deep model of `cfg.arch` (a core.models.ModelConfig)."""
    found = spec(cfg.arch)
    if not found.deep:
        raise ValueError(f"{cfg.arch} is a shallow baseline: build it with create_baseline")
    return found.resolve()(cfg)


def create_baseline(name: str, **params: Any) -> Any:
    """An unfitted shallow baseline; see core.baselines.build_baseline for the venue tree TRUMANN needs."""
    found = spec(name)
    if found.deep:
        raise ValueError(f"{name} is a deep model: build it with create_model")
    return found.resolve()(**params)


register = register_model
# The paper's Table 1 methods, in its order. One line per architecture.
register(ModelSpec("eastern", "EASTERN", "deep", True, "core.models.eastern:EASTERN",
                   "three LSTMs + shared sparse dictionary"))
register(ModelSpec("lstms", "LSTMs", "deep", False, "core.models.baselines:LSTMs",
                   "three LSTMs + softmax (no dictionary)"))
register(ModelSpec("lstm_dl", "LSTM+DL", "deep", True, "core.models.baselines:LSTMDL",
                   "one shared LSTM + dictionary"))
register(ModelSpec("conv", "CONV", "deep", True, "core.models.baselines:Conv", "EASTERN without the LSTMs"))
register(ModelSpec("tmdl", "TMDL", "shallow", True, "core.baselines.tmdl:TMDL",
                   "Bahrampour et al.'s supervised joint-sparse multimodal dictionaries (pooled features)"))
register(ModelSpec("tmdl_cs", "TMDL-CS", "shallow", True, "core.baselines.tmdl_cs:ClassTMDL",
                   "class-specific joint-sparse dictionaries + softmax regression (the paper's ref [8])"))
register(ModelSpec("dmdl", "DMDL", "shallow", True, "core.baselines.dmdl:DMDL",
                   "multimodal dictionary learning (pooled features)"))
register(ModelSpec("trumann", "TRUMANN", "shallow", False, "core.baselines.trumann:TRUMANN",
                   "tree-guided multi-task multimodal learning over the venue tree"))
