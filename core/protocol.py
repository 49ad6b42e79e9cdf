"""The paper's evaluation protocol (section 5.1): the same random splits for every method.

For each of ``n_splits`` random splits (``test_size`` of the videos for testing, 2,093 of 20,093 in
the paper) a validation slice is carved from the training part. Every method is selected on it by one
criterion, validation Macro-F: deep models train until ``patience`` epochs pass without a better
validation Macro-F (at most ``epochs``) and keep their best epoch; shallow baselines choose their
hyperparameters and epochs on it. Every method sees exactly the same train / validation / test indices,
which are stored in the result. Micro-F and Macro-F are measured on the test part.

Significance of each method's Macro-F against EASTERN's over the splits (the paper does not name its
test): the corrected resampled t-test of Nadeau and Bengio (``p_corrected``, the one to read: the
splits' training sets overlap, which makes the plain paired t-test, ``p_naive``, anti-conservative);
``compare`` adds Holm's correction over a family of comparisons (``p_holm``).

Text: with ``tokens`` (each video's caption words) word2vec is fitted again on every split's training
captions only, so no test or validation caption shapes the word vectors; without it the FeatureSet's
text is used as it is (pre-trained vectors, or imported paragraph vectors).

Order probe: a method with ``frames='shuffled'`` sees every video's visual frames in a fixed random
order (one permutation per video from ``seed``, the same in training and test).

On the first split the deep models also report their test Micro-F after every epoch (Figure 6), and
every method's per-video test predictions are kept (Table 5's case study).

A FeatureSet with a predefined split (an imported VENUE-188 file) runs that single split instead.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.evaluate import PAPER_TEST_SIZE
from core.fileio import atomic_write_json, jsonable
from core.modalities import MODALITIES as ALL_MODALITIES
from core.modalities import letters
from core.models import registry
from core.splits import random_train_val_test

if TYPE_CHECKING:  # torch: the report's tables and the paper's numbers are read without it
    from core.data import FeatureSet

REFERENCE = "EASTERN"  # the method every p-value compares against
VAL_FRACTION = 0.1  # of the training part, for early stopping / hyperparameter choice
SELECT_METRIC = "macro_f1"  # the one validation criterion of every method (epochs, hyperparameters)
PATIENCE = 5  # epochs without a better validation Macro-F before a deep model stops
MAX_EPOCHS = 30
FRAME_ORDERS = ("ordered", "shuffled")
ROLES = ("main", "order probe", "ablation")  # main: Tables 1-3, Figure 6, Table 5

ProgressFn = Callable[[dict[str, Any]], None]


class ProtocolError(Exception):
    """The protocol cannot run on this data or with these methods."""


@dataclass(frozen=True)
class MethodSpec:
    """One row of a results table: a deep architecture on some modalities, or a shallow baseline.

    ``kind`` is 'deep' (a deep ``arch`` of core.models.registry, trained by ``core.train.train``) or 'shallow'
    (a shallow one: a ``core.baselines`` class on mean-pooled features). ``params``
    overrides ModelConfig fields (deep) or constructor arguments (shallow). ``frames`` 'shuffled'
    permutes each video's visual frames (order probe). ``train_grid`` ({TrainConfig field: values},
    deep only) trains one model per value and keeps the one with the best validation Macro-F.
    ``role`` says which part of the report the method belongs to (ROLES).
    """

    name: str
    kind: str
    arch: str
    modalities: tuple[str, ...] = ALL_MODALITIES
    params: dict[str, Any] = field(default_factory=dict)
    frames: str = "ordered"
    train_grid: dict[str, tuple] = field(default_factory=dict)
    role: str = "main"

    def __post_init__(self) -> None:
        if self.kind not in registry.KINDS:
            raise ProtocolError(f"method {self.name!r}: kind must be 'deep' or 'shallow', not {self.kind!r}")
        known = registry.names(self.kind)
        if self.arch not in known:
            raise ProtocolError(f"method {self.name!r}: unknown {self.kind} method {self.arch!r} (known: {known})")
        bad = [m for m in self.modalities if m not in ALL_MODALITIES]
        if bad or not self.modalities:
            raise ProtocolError(f"method {self.name!r}: bad modalities {self.modalities!r}")
        if self.frames not in FRAME_ORDERS:
            raise ProtocolError(f"method {self.name!r}: frames must be one of {FRAME_ORDERS}, not {self.frames!r}")
        if self.train_grid and self.kind != "deep":
            raise ProtocolError(f"method {self.name!r}: a train_grid needs a deep method")
        if self.role not in ROLES:
            raise ProtocolError(f"method {self.name!r}: role must be one of {ROLES}, not {self.role!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "modalities": list(self.modalities),
                "train_grid": {k: list(v) for k, v in self.train_grid.items()}}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MethodSpec:
        return cls(raw["name"], raw["kind"], raw["arch"], tuple(raw["modalities"]), dict(raw.get("params", {})),
                   raw.get("frames", "ordered"), {k: tuple(v) for k, v in raw.get("train_grid", {}).items()},
                   raw.get("role", "main"))


# Table 3's rows: EASTERN on each modality combination ("all" is the EASTERN row of Table 1).
MODALITY_SUBSETS = {
    "V": ("visual",), "A": ("acoustic",), "T": ("textual",), "V+A": ("visual", "acoustic"),
    "V+T": ("visual", "textual"), "A+T": ("acoustic", "textual"),
}


def deep(arch: str, modalities: Sequence[str] = ALL_MODALITIES, name: str | None = None, *, frames: str = "ordered",
         train_grid: dict[str, Sequence] | None = None, role: str = "main", **params: Any) -> MethodSpec:
    """A deep method; the default name is the paper's ('EASTERN', 'LSTMs', ...), 'EASTERN V+A' for subsets,
    'EASTERN V shuffled' with shuffled frames."""
    mods = tuple(m for m in ALL_MODALITIES if m in modalities)
    if name is None:
        name = registry.display(arch)
        if mods != ALL_MODALITIES:
            name += " " + letters(mods)
        if frames != "ordered":
            name += f" {frames}"
    grid = {k: tuple(v) for k, v in (train_grid or {}).items()}
    return MethodSpec(name, "deep", arch, mods, dict(params), frames, grid, role)


def shallow(arch: str, name: str | None = None, **params: Any) -> MethodSpec:
    """A shallow baseline (tmdl, dmdl, trumann) on all three pooled modalities."""
    return MethodSpec(name or registry.display(arch), "shallow", arch, ALL_MODALITIES, dict(params))


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
    checkpoint: Path | None = field(default=None, compare=False)  # run_protocol's checkpoint file (not saved)

    # --- summaries computed from runs (never stored twice)
    def method(self, name: str) -> MethodSpec | None:
        return next((m for m in self.methods if m.name == name), None)

    def values(self, name: str, metric: str) -> np.ndarray:
        return np.array([r[metric] for r in self.runs.get(name, [])], dtype=float)

    def summary(self, name: str) -> dict[str, Any]:
        """mean/std of Micro-F and Macro-F over splits, p-values of Macro-F against EASTERN (``p_value``
        is the corrected one), sparsity, and the epochs the deep runs used."""
        from core.evaluate import mean_std

        out: dict[str, Any] = {"n_splits": len(self.runs.get(name, []))}
        for metric in ("micro_f1", "macro_f1"):
            vals = self.values(name, metric)
            mean, std = mean_std(vals) if len(vals) else (math.nan, math.nan)
            out[f"{metric}_mean"], out[f"{metric}_std"] = float(mean), float(std)
        out.update(self.p_values(name))
        out["p_value"] = out["p_corrected"]
        sparsity = [r["sparsity"] for r in self.runs.get(name, []) if r.get("sparsity") is not None]
        out["sparsity"] = float(np.mean(sparsity)) if sparsity else None
        for key in ("best_epoch", "epochs_run"):
            used = [r[key] for r in self.runs.get(name, []) if r.get(key) is not None]
            out[key] = [int(v) for v in used] if used else None
        return out

    def split_sizes(self) -> tuple[float, float]:
        """Mean (n_train, n_test) over the splits; n_train is the whole training part (fit + validation),
        the data a method learns from, as in Nadeau and Bengio's correction."""
        n_train = [len(sp["train"]) + len(sp["val"]) for sp in self.splits]
        n_test = [len(sp["test"]) for sp in self.splits]
        return float(np.mean(n_train)), float(np.mean(n_test))

    def p_values(self, name: str, reference: str = REFERENCE) -> dict[str, float | None]:
        """{'p_naive', 'p_corrected'} of Macro-F of `name` vs `reference` over the splits: the plain paired
        t-test and the corrected resampled t-test; None when not computable (same method, < 2 splits)."""
        from core.evaluate import corrected_ttest, paired_ttest

        out: dict[str, float | None] = {"p_naive": None, "p_corrected": None}
        if name == reference or reference not in self.runs or name not in self.runs:
            return out
        a, b = self.values(reference, "macro_f1"), self.values(name, "macro_f1")
        if len(a) != len(b) or len(a) < 2:
            return out
        n_train, n_test = self.split_sizes()
        for key, (_t, p) in (("p_naive", paired_ttest(a, b)), ("p_corrected", corrected_ttest(a, b, n_train, n_test))):
            out[key] = None if math.isnan(p) else float(p)
        return out

    def p_value(self, name: str, reference: str = REFERENCE) -> float | None:
        """The corrected resampled t-test's p of `name` vs `reference` (see ``p_values``)."""
        return self.p_values(name, reference)["p_corrected"]

    def compare(self, pairs: Sequence[tuple[str, str]], family: str = "") -> list[dict[str, Any]]:
        """One family of comparisons (method, reference): per pair the Macro-F difference (reference minus
        method), p_naive, p_corrected and p_holm (Holm's correction of p_corrected over this family).
        Pairs whose methods were not run are left out."""
        from core.evaluate import holm

        rows = []
        for name, reference in pairs:
            if name not in self.runs or reference not in self.runs:
                continue
            a, b = self.values(reference, "macro_f1"), self.values(name, "macro_f1")
            rows.append({"family": family, "method": name, "reference": reference,
                         "macro_f1_diff": float(a.mean() - b.mean()) if len(a) and len(a) == len(b) else None,
                         **self.p_values(name, reference)})
        for row, p in zip(rows, holm([r["p_corrected"] for r in rows]), strict=True):
            row["p_holm"] = p
        return rows

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
        atomic_write_json(path, jsonable(self.to_dict()), private=False, indent=1, ensure_ascii=False,
                          allow_nan=False)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ProtocolResult:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# ----------------------------------------------------------------- splits


def make_splits(
    labels: np.ndarray, n_splits: int, test_size: float, seed: int, val_fraction: float = VAL_FRACTION
) -> list[dict[str, np.ndarray]]:
    """`n_splits` random train/val/test splits (``core.splits.random_train_val_test``: ``random_splits``
    stratified by class, each with a stratified validation slice of ``val_fraction`` carved from its training
    part). ProtocolError when the labels are too few."""
    try:
        return random_train_val_test(labels, n_splits, test_size, seed, val_fraction)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc.__cause__  # the cause random_splits gave, if any


# ----------------------------------------------------------------- running


def order_only_pairs(class_names: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs of these classes whose demo-corpus recipes (core.corpus.profiles) show the same shots in
    another order: only a model that reads frame order can tell them apart by their pictures. Empty
    for classes that are not demo venues (imported features)."""
    from core.corpus.profiles import PROFILES

    names = [c for c in class_names if c in PROFILES]
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if sorted(PROFILES[a].shots) == sorted(PROFILES[b].shots) and PROFILES[a].shots != PROFILES[b].shots]


def shuffle_frames(visual: np.ndarray, seed: int) -> np.ndarray:
    """A copy of visual (N, T, D) with each video's T frames in a random order, one fixed permutation
    per video drawn from ``seed`` (the same whichever split the video falls in)."""
    rng = np.random.default_rng([seed, 7])
    perms = np.argsort(rng.random(visual.shape[:2]), axis=1)  # (N, T)
    return np.take_along_axis(np.asarray(visual), perms[:, :, None], axis=1)


def split_text(data: FeatureSet, tokens: Sequence[Sequence[str]], train_rows: np.ndarray, seed: int,
               dim: int = 100) -> tuple[FeatureSet, int]:
    """`data` with its text rebuilt from word2vec fitted on the captions of `train_rows` only (the
    validation and test captions are encoded with that vocabulary); returns (data, vocabulary size)."""
    from dataclasses import replace

    from core.features.textual import MAX_TOKENS, TextEmbedder

    embedder = TextEmbedder.fit([tokens[i] for i in train_rows if tokens[i]], dim=dim, seed=seed)
    text, lengths = embedder.encode_batch(tokens, MAX_TOKENS)
    return replace(data, text=np.asarray(text, dtype=np.float16), text_lengths=np.asarray(lengths)), len(embedder)


def run_protocol(
    data: FeatureSet,
    methods: Sequence[MethodSpec],
    n_splits: int = 10,
    test_size: float = PAPER_TEST_SIZE,
    seed: int = 0,
    epochs: int = MAX_EPOCHS,
    progress: ProgressFn | None = None,
    *,
    patience: int | None = PATIENCE,
    given_split: dict[str, np.ndarray] | None = None,
    model_overrides: dict[str, Any] | None = None,
    train_overrides: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    tokens: Sequence[Sequence[str]] | None = None,
    text_seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    resume: bool = True,
) -> ProtocolResult:
    """Train and test every method on the same splits; see the module docstring.

    ``epochs`` is the most a deep model trains, ``patience`` the early stopping on validation Macro-F
    (None: all ``epochs``). ``given_split`` ({'train', 'val', 'test'} -> indices) replaces the random
    splits by that one. ``model_overrides`` / ``train_overrides`` apply to every deep method's
    ModelConfig / TrainConfig (tiny sizes in tests, ``--quick``). ``tokens`` (one word list per video)
    refits word2vec (seed ``text_seed``) on each split's training captions. ``progress`` receives
    {'kind': 'run', 'done', 'total', 'method', 'split', ...} after each (method, split) and train's own
    per-epoch events with 'method' and 'split' added.

    ``checkpoint_dir``: after each (method, split) the result so far is written there atomically, in a file
    named by a digest of everything the runs depend on (data, methods, splits, settings); a later call with
    the same inputs resumes after the runs that file holds (a 'resume' progress event says how many) and
    trains only the rest (``resume=False``: start again, overwriting it). Every run is seeded by its own
    split, so a resumed result equals an uninterrupted one. ``result.checkpoint`` names the file; the caller
    removes it once the result is safely written.
    """
    methods = list(methods)
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ProtocolError(f"method names must be unique: {names}")
    n = len(data.labels)
    if n and data.labels.min() < 0:
        unlabelled = int((data.labels < 0).sum())
        raise ProtocolError(f"{unlabelled} of {n} videos have no label; evaluate labelled videos only")
    if tokens is not None and len(tokens) != n:
        raise ProtocolError(f"{len(tokens)} token lists for {n} videos")
    if given_split is not None:
        splits = [{k: np.asarray(given_split[k], dtype=np.int64) for k in ("train", "val", "test")}]
        for k, v in splits[0].items():
            if len(v) == 0 or v.min() < 0 or v.max() >= n:
                raise ProtocolError(f"given split part {k!r} is empty or indexes outside the {n} videos")
    else:
        splits = make_splits(data.labels, n_splits, test_size, seed)
    n_classes = len(data.class_names)
    total = len(splits) * len(methods)
    result = ProtocolResult(
        methods=methods,
        config={
            "n_splits": len(splits), "test_size": test_size, "val_fraction": VAL_FRACTION, "seed": seed,
            "epochs": epochs, "patience": patience, "select_metric": SELECT_METRIC,
            "given_split": given_split is not None, "model_overrides": dict(model_overrides or {}),
            "train_overrides": dict(train_overrides or {}),
            "word2vec": ({"per_split": True, "fitted_on": "training captions of each split", "seed": text_seed,
                          "vocab_sizes": []} if tokens is not None else {"per_split": False}),
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
    resumed = 0
    if checkpoint_dir is not None:
        result.checkpoint = Path(checkpoint_dir) / f"protocol-{_fingerprint(data, tokens, result)[:20]}.json"
        resumed = _resume(result, len(splits)) if resume else 0
        if resumed and progress is not None:
            progress({"kind": "resume", "done": resumed, "total": total, "path": str(result.checkpoint)})
    shuffled_visual = shuffle_frames(data.visual, seed) if any(m.frames == "shuffled" for m in methods) else None
    previous = float(result.config.get("seconds_so_far", 0.0))  # training time before a resume
    started = time.perf_counter()
    done = 0
    for s, sp in enumerate(splits):
        if done + len(methods) <= resumed:  # every run of this split is in the checkpoint
            done += len(methods)
            continue
        split_data = data
        if tokens is not None:
            split_data, vocab = split_text(data, tokens, sp["train"], seed=text_seed)
            vocab_sizes = result.config["word2vec"]["vocab_sizes"]
            if len(vocab_sizes) <= s:
                vocab_sizes.append(vocab)
        pooled: dict[str, dict[str, np.ndarray]] = {}  # frame order -> pooled features of this split
        for spec in methods:
            if done < resumed:  # in the checkpoint
                done += 1
                continue
            if should_stop is not None and should_stop():
                raise KeyboardInterrupt("stopped")
            t0 = time.perf_counter()
            method_data = split_data
            if spec.frames == "shuffled":
                from dataclasses import replace

                method_data = replace(split_data, visual=shuffled_visual)
            if spec.kind == "deep":
                run, pred, curve = _run_deep(
                    spec, method_data, sp, seed=seed + s, epochs=epochs, patience=patience, record_curve=(s == 0),
                    model_overrides=model_overrides or {}, train_overrides=train_overrides or {},
                    progress=_tagged(progress, spec.name, s), should_stop=should_stop,
                )
                if curve:
                    result.curves[spec.name] = curve
            else:
                if spec.frames not in pooled:
                    from core.baselines import pool_sequences

                    pooled[spec.frames] = pool_sequences(method_data.visual, method_data.acoustic, method_data.text,
                                                         method_data.text_lengths)
                run, pred = _run_shallow(spec, method_data, pooled[spec.frames], sp, seed=seed + s)
            y_test = data.labels[sp["test"]]
            run.update(_scores(y_test, pred, n_classes), seconds=round(time.perf_counter() - t0, 3), split=s)
            result.runs[spec.name].append(run)
            if s == 0:
                result.predictions["methods"][spec.name] = pred.tolist()
            done += 1
            if result.checkpoint is not None:
                result.config["seconds_so_far"] = round(previous + time.perf_counter() - started, 3)
                result.save(result.checkpoint)
            if progress is not None:
                progress({"kind": "run", "done": done, "total": total, "method": spec.name, "split": s,
                          "micro_f1": run["micro_f1"], "macro_f1": run["macro_f1"]})
    result.config.pop("seconds_so_far", None)
    if resumed:
        result.config["resumed_runs"] = resumed
    result.seconds = round(previous + time.perf_counter() - started, 3)
    return result


def _fingerprint(data: FeatureSet, tokens: Sequence[Sequence[str]] | None, result: ProtocolResult) -> str:
    """A digest of everything the runs depend on: the features, labels and keys, the captions' tokens, the
    methods, the splits and the settings (this code's, too: the registry's architectures by name)."""
    import hashlib

    h = hashlib.sha256()
    for array in (data.visual, data.acoustic, data.text, data.text_lengths, data.labels):
        h.update(str((array.dtype.str, array.shape)).encode())
        h.update(memoryview(np.ascontiguousarray(array)).cast("B"))  # no copy of a contiguous array
    settings = {k: v for k, v in result.config.items() if k != "word2vec"}
    settings["word2vec"] = {k: v for k, v in result.config["word2vec"].items() if k != "vocab_sizes"}
    h.update(json.dumps({"keys": list(map(str, data.keys)), "classes": list(data.class_names), "tokens": tokens,
                         "methods": [m.to_dict() for m in result.methods], "splits": result.splits,
                         "config": settings, "dataset": result.dataset}, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _resume(result: ProtocolResult, n_splits: int) -> int:
    """Fill `result` with the runs of its checkpoint file, if there is one for these inputs; how many."""
    path = result.checkpoint
    if path is None or not path.is_file():
        return 0
    try:
        saved = ProtocolResult.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged file: start again, say so
        raise ProtocolError(f"{path}: unreadable checkpoint ({exc}); delete it to start again") from exc
    if [m.name for m in saved.methods] != list(result.runs) or saved.splits != result.splits:
        return 0  # another run's file under a colliding name: start again (it is overwritten)
    names = list(result.runs)
    done = 0  # the runs go split by split, methods in order: the saved ones are a prefix of that order
    for s in range(n_splits):
        for name in names:
            runs = saved.runs.get(name, [])
            if len(runs) <= s or runs[s].get("split") != s:
                break
            done += 1
        else:
            continue
        break
    whole, part = divmod(done, len(names))  # splits with every method done, methods done in the next one
    for i, name in enumerate(names):
        result.runs[name] = list(saved.runs[name][: whole + (i < part)]) if done else []
    result.curves.update({k: v for k, v in saved.curves.items() if k in result.runs})
    result.predictions["methods"].update(
        {k: v for k, v in saved.predictions.get("methods", {}).items() if result.runs.get(k)})
    if "word2vec" in saved.config and saved.config["word2vec"].get("vocab_sizes"):
        result.config["word2vec"]["vocab_sizes"] = list(saved.config["word2vec"]["vocab_sizes"])
    result.config["seconds_so_far"] = float(saved.config.get("seconds_so_far", 0.0))
    return done


def _tagged(progress: ProgressFn | None, method: str, split: int) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda event: progress({**event, "method": method, "split": split})


def _scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Micro-F, Macro-F and the test confusion matrix (rows true, columns predicted) of one run."""
    from core.evaluate import scores

    s = scores(y_true, y_pred, n_classes)
    return {"micro_f1": float(s["micro_f1"]), "macro_f1": float(s["macro_f1"]), "confusion": s["confusion"]}


def _run_deep(
    spec: MethodSpec, data: FeatureSet, sp: dict[str, np.ndarray], *, seed: int, epochs: int,
    patience: int | None, record_curve: bool, model_overrides: dict[str, Any], train_overrides: dict[str, Any],
    progress: ProgressFn | None, should_stop: Callable[[], bool] | None,
) -> tuple[dict[str, Any], np.ndarray, list[dict[str, float]]]:
    from core.baselines.common import grid_points
    from core.evaluate import atom_sparsity
    from core.fit import fit_deep
    from core.train import TrainConfig, predict_intermediates, predict_proba

    eval_sets = {"test": sp["test"]} if record_curve else None
    res, chosen, val_scores = None, {}, []
    for point in grid_points(spec.train_grid) if spec.train_grid else [{}]:
        train_cfg = TrainConfig(**{"epochs": epochs, "seed": seed, "patience": patience, **train_overrides, **point})
        _cfg, candidate = fit_deep(spec.arch, spec.modalities, data, sp["train"], sp["val"], train_cfg,
                                   overrides={**model_overrides, **spec.params}, progress=progress,
                                   should_stop=should_stop, eval_sets=eval_sets)
        if candidate.cancelled:
            raise KeyboardInterrupt("stopped")
        score = candidate.best_val_macro_f1 if candidate.best_val_macro_f1 is not None else -math.inf
        val_scores.append({**point, "val_macro_f1": candidate.best_val_macro_f1})
        if res is None or score > (res.best_val_macro_f1 if res.best_val_macro_f1 is not None else -math.inf):
            res, chosen = candidate, point  # ties keep the earlier grid point
    run: dict[str, Any] = {"best_epoch": int(res.best_epoch), "epochs_run": len(res.history),
                           "stopped_early": bool(res.stopped_early), "best_val_macro_f1": res.best_val_macro_f1,
                           "sparsity": None}
    if spec.train_grid:
        run.update(best_params=chosen, val_scores=val_scores)
    if not registry.spec(spec.arch).has_atoms:  # no dictionary layer, no atom codes
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
    from core.fit import fit_shallow

    params = dict(spec.params)
    params.setdefault("select_metric", SELECT_METRIC)  # the deep models' criterion too
    # TRUMANN's tree-guided penalty gets the Foursquare tree of the corpus's venues (flat if unknown).
    model = fit_shallow(spec.arch, spec.modalities, pooled, data.labels, sp["train"], sp["val"],
                        class_names=data.class_names, seed=seed, params=params)
    pred = np.asarray(model.predict({m: pooled[m][sp["test"]] for m in spec.modalities}), dtype=np.int64)
    run = {"best_params": jsonable(getattr(model, "best_params_", {})), "select_metric": model.select_metric,
           "sparsity": None}
    if getattr(model, "best_epoch_", None) is not None:
        run["best_epoch"] = int(model.best_epoch_)
    if model.tree_source in ("venue188", "flat"):
        run["tree"] = model.tree_source
    return run, pred
