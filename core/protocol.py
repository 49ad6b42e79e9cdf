"""The paper's evaluation protocol (section 5.1): the same random splits for every method.

For each of ``n_splits`` random splits (``test_size`` of the videos for testing, 2,093 of 20,093 in
the paper) a validation slice is carved from the training part: deep models stop early on it (the
best epoch by validation Macro-F), shallow baselines choose their hyperparameters on it. Every method
sees exactly the same train / validation / test indices, which are stored in the result. Micro-F and
Macro-F are measured on the test part; p-values come from a paired t-test over the splits of each
method's Macro-F against EASTERN's (the paper does not name its test).

On the first split the deep models also report their test Micro-F after every epoch (Figure 6), and
every method's per-video test predictions are kept (Table 5's case study).

A FeatureSet with a predefined split (an imported VENUE-188 file) runs that single split instead.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.data import FeatureSet
from core.evaluate import PAPER_TEST_SIZE

ALL_MODALITIES = ("visual", "acoustic", "textual")
DEEP_ARCHS = ("eastern", "lstms", "lstm_dl", "conv")
SHALLOW_NAMES = ("tmdl", "dmdl", "trumann")
REFERENCE = "EASTERN"  # the method every p-value compares against
VAL_FRACTION = 0.1  # of the training part, for early stopping / hyperparameter choice

ProgressFn = Callable[[dict[str, Any]], None]


class ProtocolError(Exception):
    """The protocol cannot run on this data or with these methods."""


@dataclass(frozen=True)
class MethodSpec:
    """One row of a results table: a deep architecture on some modalities, or a shallow baseline.

    ``kind`` is 'deep' (``arch`` in DEEP_ARCHS, trained by ``core.train.train``) or 'shallow'
    (``arch`` in SHALLOW_NAMES, a ``core.baselines`` class on mean-pooled features). ``params``
    overrides ModelConfig fields (deep) or constructor arguments (shallow).
    """

    name: str
    kind: str
    arch: str
    modalities: tuple[str, ...] = ALL_MODALITIES
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        known = DEEP_ARCHS if self.kind == "deep" else SHALLOW_NAMES if self.kind == "shallow" else None
        if known is None:
            raise ProtocolError(f"method {self.name!r}: kind must be 'deep' or 'shallow', not {self.kind!r}")
        if self.arch not in known:
            raise ProtocolError(f"method {self.name!r}: unknown {self.kind} method {self.arch!r} (known: {known})")
        bad = [m for m in self.modalities if m not in ALL_MODALITIES]
        if bad or not self.modalities:
            raise ProtocolError(f"method {self.name!r}: bad modalities {self.modalities!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "modalities": list(self.modalities)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MethodSpec:
        return cls(raw["name"], raw["kind"], raw["arch"], tuple(raw["modalities"]), dict(raw.get("params", {})))


DEEP_NAMES = {"eastern": "EASTERN", "lstms": "LSTMs", "lstm_dl": "LSTM+DL", "conv": "CONV"}
SHALLOW_DISPLAY = {"tmdl": "TMDL", "dmdl": "DMDL", "trumann": "TRUMANN"}
# Table 3's rows: EASTERN on each modality combination ("all" is the EASTERN row of Table 1).
MODALITY_SUBSETS = {
    "V": ("visual",), "A": ("acoustic",), "T": ("textual",), "V+A": ("visual", "acoustic"),
    "V+T": ("visual", "textual"), "A+T": ("acoustic", "textual"),
}


def deep(arch: str, modalities: Sequence[str] = ALL_MODALITIES, name: str | None = None, **params: Any) -> MethodSpec:
    """A deep method; the default name is the paper's ('EASTERN', 'LSTMs', ...), 'EASTERN V+A' for subsets."""
    mods = tuple(m for m in ALL_MODALITIES if m in modalities)
    if name is None:
        name = DEEP_NAMES.get(arch, arch)
        if mods != ALL_MODALITIES:
            name += " " + "+".join(m[0].upper() for m in mods)
    return MethodSpec(name, "deep", arch, mods, dict(params))


def shallow(arch: str, name: str | None = None, **params: Any) -> MethodSpec:
    """A shallow baseline (tmdl, dmdl, trumann) on all three pooled modalities."""
    return MethodSpec(name or SHALLOW_DISPLAY.get(arch, arch), "shallow", arch, ALL_MODALITIES, dict(params))


def subset_name(letters: str) -> str:
    """The method name of EASTERN on a modality subset: 'V+A' -> 'EASTERN V+A'."""
    return f"{REFERENCE} {letters}"


# ----------------------------------------------------------------- result


@dataclass
class ProtocolResult:
    """Everything measured, JSON-serialisable (``to_dict`` / ``from_dict``, ``save`` / ``load``)."""

    methods: list[MethodSpec]
    config: dict[str, Any]  # n_splits, test_size, seed, epochs, given_split, model/train overrides
    dataset: dict[str, Any]  # name, n_videos, n_classes, class_names, source
    splits: list[dict[str, list[int]]]  # per split: train / val / test row indices
    runs: dict[str, list[dict[str, Any]]]  # method -> per split: micro_f1, macro_f1, seconds, ...
    curves: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # deep method -> per epoch (split 0)
    predictions: dict[str, Any] = field(default_factory=dict)  # split 0 test: keys, truth, method -> labels
    seconds: float = 0.0

    # --- summaries computed from runs (never stored twice)
    def method(self, name: str) -> MethodSpec | None:
        return next((m for m in self.methods if m.name == name), None)

    def values(self, name: str, metric: str) -> np.ndarray:
        return np.array([r[metric] for r in self.runs.get(name, [])], dtype=float)

    def summary(self, name: str) -> dict[str, Any]:
        """mean/std of Micro-F and Macro-F over splits and the p-value of Macro-F against EASTERN."""
        from core.evaluate import mean_std

        out: dict[str, Any] = {"n_splits": len(self.runs.get(name, []))}
        for metric in ("micro_f1", "macro_f1"):
            vals = self.values(name, metric)
            mean, std = mean_std(vals) if len(vals) else (math.nan, math.nan)
            out[f"{metric}_mean"], out[f"{metric}_std"] = float(mean), float(std)
        out["p_value"] = self.p_value(name)
        sparsity = [r["sparsity"] for r in self.runs.get(name, []) if r.get("sparsity") is not None]
        out["sparsity"] = float(np.mean(sparsity)) if sparsity else None
        return out

    def p_value(self, name: str, reference: str = REFERENCE) -> float | None:
        """Paired t-test over splits, Macro-F of `name` vs `reference`; None when not computable."""
        from core.evaluate import paired_ttest

        if name == reference or reference not in self.runs or name not in self.runs:
            return None
        a, b = self.values(reference, "macro_f1"), self.values(name, "macro_f1")
        if len(a) != len(b) or len(a) < 2:
            return None
        _t, p = paired_ttest(a, b)
        return None if math.isnan(p) else float(p)

    def table(self) -> list[dict[str, Any]]:
        return [{"method": m.name, **self.summary(m.name)} for m in self.methods if m.name in self.runs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": [m.to_dict() for m in self.methods], "config": self.config, "dataset": self.dataset,
            "splits": self.splits, "runs": self.runs, "curves": self.curves, "predictions": self.predictions,
            "seconds": self.seconds, "summary": {row["method"]: row for row in self.table()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ProtocolResult:
        return cls(
            methods=[MethodSpec.from_dict(m) for m in raw["methods"]], config=raw["config"], dataset=raw["dataset"],
            splits=raw["splits"], runs=raw["runs"], curves=raw.get("curves", {}),
            predictions=raw.get("predictions", {}), seconds=float(raw.get("seconds", 0.0)),
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(_jsonable(self.to_dict()), indent=1, ensure_ascii=False, allow_nan=False),
                       encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ProtocolResult:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _jsonable(obj: Any) -> Any:
    """numpy scalars/arrays to Python; NaN/inf to None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


# ----------------------------------------------------------------- splits


def make_splits(
    labels: np.ndarray, n_splits: int, test_size: float, seed: int, val_fraction: float = VAL_FRACTION
) -> list[dict[str, np.ndarray]]:
    """`n_splits` random train/val/test splits (``core.evaluate.random_splits``, stratified by class),
    each with a stratified validation slice of ``val_fraction`` carved from its training part."""
    from core.evaluate import random_splits, stratified_take

    labels = np.asarray(labels)
    try:
        pairs = random_splits(len(labels), test_size, n_splits, seed, stratify=labels)
    except ValueError as exc:
        raise ProtocolError(f"cannot split {len(labels)} videos: {exc}") from exc
    splits = []
    for s, (train, test) in enumerate(pairs):
        n_val = int(round(val_fraction * len(train)))
        if n_val < 1 or n_val >= len(train):
            raise ProtocolError(f"{len(labels)} videos are too few to carve a validation slice from training")
        pos = stratified_take(labels[train], n_val, np.random.default_rng([seed, s, 1]))
        mask = np.zeros(len(train), dtype=bool)
        mask[pos] = True
        splits.append({"train": train[~mask], "val": train[mask], "test": test})
    return splits


# ----------------------------------------------------------------- running


def run_protocol(
    data: FeatureSet,
    methods: Sequence[MethodSpec],
    n_splits: int = 10,
    test_size: float = PAPER_TEST_SIZE,
    seed: int = 0,
    epochs: int = 8,
    progress: ProgressFn | None = None,
    *,
    given_split: dict[str, np.ndarray] | None = None,
    model_overrides: dict[str, Any] | None = None,
    train_overrides: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ProtocolResult:
    """Train and test every method on the same splits; see the module docstring.

    ``given_split`` ({'train', 'val', 'test'} -> indices) replaces the random splits by that one.
    ``model_overrides`` / ``train_overrides`` apply to every deep method's ModelConfig / TrainConfig
    (tiny sizes in tests, ``--quick``). ``progress`` receives {'kind': 'run', 'done', 'total',
    'method', 'split', ...} after each (method, split) and train's own per-epoch events with
    'method' and 'split' added.
    """
    methods = list(methods)
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ProtocolError(f"method names must be unique: {names}")
    n = len(data.labels)
    if n and data.labels.min() < 0:
        unlabelled = int((data.labels < 0).sum())
        raise ProtocolError(f"{unlabelled} of {n} videos have no label; evaluate labelled videos only")
    if given_split is not None:
        splits = [{k: np.asarray(given_split[k], dtype=np.int64) for k in ("train", "val", "test")}]
        for k, v in splits[0].items():
            if len(v) == 0 or v.min() < 0 or v.max() >= n:
                raise ProtocolError(f"given split part {k!r} is empty or indexes outside the {n} videos")
    else:
        splits = make_splits(data.labels, n_splits, test_size, seed)
    n_classes = len(data.class_names)
    pooled = None
    total = len(splits) * len(methods)
    result = ProtocolResult(
        methods=methods,
        config={
            "n_splits": len(splits), "test_size": test_size, "val_fraction": VAL_FRACTION, "seed": seed,
            "epochs": epochs, "given_split": given_split is not None, "model_overrides": dict(model_overrides or {}),
            "train_overrides": dict(train_overrides or {}),
        },
        dataset={"n_videos": n, "n_classes": n_classes, "class_names": list(data.class_names),
                 "dims": {"visual": int(data.visual.shape[-1]), "acoustic": int(data.acoustic.shape[-1]),
                          "textual": int(data.text.shape[-1])}, **(dataset or {})},
        splits=[{k: v.tolist() for k, v in sp.items()} for sp in splits],
        runs={m.name: [] for m in methods},
    )
    test0 = splits[0]["test"]
    result.predictions = {"keys": [str(data.keys[i]) for i in test0], "truth": data.labels[test0].tolist(),
                          "methods": {}}
    started = time.perf_counter()
    done = 0
    for s, sp in enumerate(splits):
        for spec in methods:
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt("stopped")
            t0 = time.perf_counter()
            if spec.kind == "deep":
                run, pred, curve = _run_deep(
                    spec, data, sp, seed=seed + s, epochs=epochs, record_curve=(s == 0),
                    model_overrides=model_overrides or {}, train_overrides=train_overrides or {},
                    progress=_tagged(progress, spec.name, s), should_stop=should_stop,
                )
                if curve:
                    result.curves[spec.name] = curve
            else:
                if pooled is None:
                    from core.baselines import pool_sequences

                    pooled = pool_sequences(data.visual, data.acoustic, data.text, data.text_lengths)
                run, pred = _run_shallow(spec, data, pooled, sp, seed=seed + s)
            y_test = data.labels[sp["test"]]
            run.update(_scores(y_test, pred, n_classes), seconds=round(time.perf_counter() - t0, 3), split=s)
            result.runs[spec.name].append(run)
            if s == 0:
                result.predictions["methods"][spec.name] = pred.tolist()
            done += 1
            if progress is not None:
                progress({"kind": "run", "done": done, "total": total, "method": spec.name, "split": s,
                          "micro_f1": run["micro_f1"], "macro_f1": run["macro_f1"]})
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _tagged(progress: ProgressFn | None, method: str, split: int) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda event: progress({**event, "method": method, "split": split})


def _scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, float]:
    from core.evaluate import scores

    s = scores(y_true, y_pred, n_classes)
    return {"micro_f1": float(s["micro_f1"]), "macro_f1": float(s["macro_f1"])}


def _run_deep(
    spec: MethodSpec, data: FeatureSet, sp: dict[str, np.ndarray], *, seed: int, epochs: int, record_curve: bool,
    model_overrides: dict[str, Any], train_overrides: dict[str, Any], progress: ProgressFn | None,
    should_stop: Callable[[], bool] | None,
) -> tuple[dict[str, Any], np.ndarray, list[dict[str, float]]]:
    from core.evaluate import atom_sparsity
    from core.models import ModelConfig
    from core.train import TrainConfig, predict_intermediates, predict_proba, train

    model_cfg = ModelConfig(
        arch=spec.arch, modalities=spec.modalities, visual_dim=int(data.visual.shape[-1]),
        acoustic_dim=int(data.acoustic.shape[-1]), text_dim=int(data.text.shape[-1]),
        num_classes=len(data.class_names), **{**model_overrides, **spec.params},
    )
    train_cfg = TrainConfig(**{"epochs": epochs, "seed": seed, **train_overrides})
    eval_sets = {"test": sp["test"]} if record_curve else None
    res = train(model_cfg, train_cfg, data, sp["train"], sp["val"], progress=progress, should_stop=should_stop,
                eval_sets=eval_sets)
    if res.cancelled:
        raise KeyboardInterrupt("stopped")
    run: dict[str, Any] = {"best_epoch": int(res.best_epoch), "epochs_run": len(res.history), "sparsity": None}
    if spec.arch == "lstms":  # no dictionary layer, no atom codes
        probs = predict_proba(res.model, data, sp["test"])
    else:
        inter = predict_intermediates(res.model, data, sp["test"])
        probs = inter["probs"]
        if len(inter.get("atom_codes", ())):
            run["sparsity"] = atom_sparsity(inter["atom_codes"])["overall"]
    curve = _curve(res.history) if record_curve else []
    return run, probs.argmax(1), curve


def _curve(history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Per-epoch test Micro-F / Macro-F from train's history (its eval_sets metrics)."""
    curve = []
    for i, entry in enumerate(history):
        test = _find_eval(entry, "test")
        if test is None:
            continue
        curve.append({"epoch": int(entry.get("epoch", i + 1)), "micro_f1": float(test["micro_f1"]),
                      "macro_f1": float(test.get("macro_f1", math.nan))})
    return curve


def _find_eval(entry: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The metrics of eval set `name` in one history entry (train writes {name}_micro_f1 / _macro_f1)."""
    if entry.get(f"{name}_micro_f1") is None:
        return None
    return {"micro_f1": entry[f"{name}_micro_f1"], "macro_f1": entry.get(f"{name}_macro_f1", math.nan)}


def _run_shallow(
    spec: MethodSpec, data: FeatureSet, pooled: dict[str, np.ndarray], sp: dict[str, np.ndarray], *, seed: int
) -> tuple[dict[str, Any], np.ndarray]:
    from core import baselines

    cls = {"tmdl": baselines.TMDL, "dmdl": baselines.DMDL, "trumann": baselines.TRUMANN}[spec.arch]
    params = dict(spec.params)
    tree = None
    if spec.arch == "trumann" and "groups" not in params:
        # TRUMANN's tree-guided penalty uses the Foursquare tree of the corpus's venues (flat if unknown).
        from core.venues import VENUE188_PATH

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            groups, weights = baselines.load_tree(VENUE188_PATH, list(data.class_names))
        params.update(groups=groups, group_weights=weights)
        tree = "flat" if caught else "venue188"
    X = {m: pooled[m] for m in spec.modalities}
    y = data.labels

    def part(key: str) -> dict[str, np.ndarray]:
        return {m: v[sp[key]] for m, v in X.items()}

    model = cls(n_classes=len(data.class_names), seed=seed, **params)
    model.fit(part("train"), y[sp["train"]], part("val"), y[sp["val"]])
    pred = np.asarray(model.predict(part("test")), dtype=np.int64)
    run = {"best_params": _jsonable(getattr(model, "best_params_", {})), "sparsity": None}
    if tree is not None:
        run["tree"] = tree
    return run, pred
