"""Import precomputed per-video features in the VENUE-188 HDF5 layout (Zhang et al., ACM MM 2016).

The public release holds one HDF5 file with ``X_train``, ``y_train``, ``id_train`` and the same for
``valid`` and ``test``. Each row of X is one video: columns 0:4096 the AlexNet fc visual feature,
4096:4296 the 200-d acoustic feature, 4296:4396 the 100-d paragraph-vector text feature. Labels are
0-based indices into the 188 venues (``core.venues.venue188_names()``).

The models read sequences, so each modality becomes a sequence of length 1: visual (N, 1, 4096),
acoustic (N, 1, 200), text (N, 1, 100) with text length 1. Labels are re-indexed to the venues that
occur in the file (class i is ``class_names[i]``; ``venue188_index[i]`` is its 0-based VENUE-188
label), so a file with 30 of the 188 venues has 30 classes and Macro-F averages over those 30.

An imported bundle is a folder ``ROOT/NAME/`` with ``features.npz`` (arrays) and ``meta.json``
(names, keys and the given train/valid/test split), written atomically.
"""
from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data import FeatureSet
from core.fileio import swap_dir
from core.venues import venue188_names

VISUAL_COLS = (0, 4096)
ACOUSTIC_COLS = (4096, 4296)
TEXT_COLS = (4296, 4396)
N_COLUMNS = TEXT_COLS[1]
PARTS = ("train", "valid", "test")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CHUNK = 8192  # rows read at a time: the full release (270k x 4396 float32) does not fit in memory twice


class FeatureImportError(Exception):
    """A features file or bundle that cannot be used; the message names the file and the array."""


@dataclass(frozen=True)
class GivenSplit:
    """Row indices into the FeatureSet of the file's own train / valid / test parts."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": self.train.tolist(), "valid": self.valid.tolist(), "test": self.test.tolist()}


@dataclass(frozen=True)
class ImportedFeatures:
    data: FeatureSet
    split: GivenSplit
    venue188_index: list[int]  # class i -> 0-based VENUE-188 label
    source: str
    name: str = ""


def read_venue188_h5(path: str | Path) -> ImportedFeatures:
    """Read a VENUE-188 layout HDF5 file into a FeatureSet plus its given split."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise FeatureImportError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with handle as f:
        missing = [f"{kind}_{part}" for part in PARTS for kind in ("X", "y", "id") if f"{kind}_{part}" not in f]
        if missing:
            raise FeatureImportError(
                f"{path}: missing array(s) {', '.join(missing)}; expected X_/y_/id_ train, valid, test "
                f"(found {', '.join(sorted(f.keys())) or 'nothing'})"
            )
        groups = [key for part in PARTS for key in (f"y_{part}", f"id_{part}") if not isinstance(f[key], h5py.Dataset)]
        if groups:
            raise FeatureImportError(f"{path}: {', '.join(groups)} must be array(s), found HDF5 group(s)")
        visual, acoustic, text, labels, keys, sizes = [], [], [], [], [], []
        for part in PARTS:
            X, y, ids = f[f"X_{part}"], f[f"y_{part}"], f[f"id_{part}"]
            if not isinstance(X, h5py.Dataset) or X.ndim != 2 or X.shape[1] != N_COLUMNS:
                shape = getattr(X, "shape", "a group")
                raise FeatureImportError(
                    f"{path}: array X_{part} has shape {shape}; expected (N, {N_COLUMNS}) = "
                    f"4096 visual + 200 acoustic + 100 textual columns"
                )
            n = X.shape[0]
            y_part = _labels(path, f"y_{part}", y, n)
            id_part = _ids(path, f"id_{part}", ids, n)
            for start in range(0, n, _CHUNK):
                block = np.asarray(X[start:start + _CHUNK], dtype=np.float32)
                if not np.isfinite(block).all():
                    raise FeatureImportError(f"{path}: array X_{part} holds NaN or infinite values")
                visual.append(block[:, slice(*VISUAL_COLS)].astype(np.float16))
                acoustic.append(block[:, slice(*ACOUSTIC_COLS)])
                text.append(block[:, slice(*TEXT_COLS)])
            labels.append(y_part)
            keys.extend(id_part)
            sizes.append(n)
    if sizes[0] == 0 or sizes[2] == 0:
        raise FeatureImportError(f"{path}: X_train and X_test must hold at least one row (sizes {sizes})")
    if len(set(keys)) != len(keys):
        raise FeatureImportError(f"{path}: the id_ arrays repeat video ids")
    raw = np.concatenate(labels)
    present = np.unique(raw)
    remap = np.full(188, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    names = venue188_names()
    n_total = int(sum(sizes))
    data = FeatureSet(
        visual=np.concatenate(visual)[:, None, :],  # (N, 1, 4096) float16, as the feature store keeps it
        acoustic=np.concatenate(acoustic)[:, None, :],  # (N, 1, 200)
        text=np.concatenate(text)[:, None, :],  # (N, 1, 100)
        text_lengths=np.ones(n_total, dtype=np.int64),
        labels=remap[raw],
        keys=keys,
        class_names=[names[i] for i in present],
    )
    bounds = np.cumsum([0, *sizes])
    split = GivenSplit(*(np.arange(bounds[i], bounds[i + 1], dtype=np.int64) for i in range(3)))
    return ImportedFeatures(data, split, [int(i) for i in present], source=str(path))


def _labels(path: Path, name: str, y, n: int) -> np.ndarray:
    arr = np.asarray(y[()])
    if arr.ndim == 2 and arr.shape[1] == 188:  # one-hot rows
        arr = arr.argmax(axis=1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise FeatureImportError(f"{path}: array {name} has shape {arr.shape}; expected ({n},) to match X")
    if arr.size and not np.array_equal(arr, np.round(arr)):
        raise FeatureImportError(f"{path}: array {name} holds non-integer labels")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > 187):
        raise FeatureImportError(
            f"{path}: array {name} has labels {arr.min()}..{arr.max()}; expected 0-based venue indices 0..187"
        )
    return arr


def _ids(path: Path, name: str, ids, n: int) -> list[str]:
    arr = np.asarray(ids[()])
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise FeatureImportError(f"{path}: array {name} has shape {arr.shape}; expected ({n},) to match X")
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.tolist()]


# ----------------------------------------------------------------- bundles


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise FeatureImportError(f"bad bundle name {name!r}: use letters, digits, '_', '-', '.' (max 64)")
    return name


def save_bundle(imported: ImportedFeatures, root: str | Path, name: str) -> Path:
    """Write ``root/name/{features.npz, meta.json}`` atomically (replacing a bundle of that name)."""
    check_name(name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    data = imported.data
    try:
        np.savez(
            tmp / "features.npz", visual=data.visual, acoustic=data.acoustic, text=data.text,
            text_lengths=data.text_lengths, labels=data.labels, keys=np.asarray(data.keys, dtype=str),
            split_train=imported.split.train, split_valid=imported.split.valid, split_test=imported.split.test,
        )
        meta = {
            "name": name, "format": "venue188-h5", "source": imported.source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "class_names": list(data.class_names),
            "venue188_index": imported.venue188_index, "n_videos": len(data.keys),
            "sizes": {p: int(len(getattr(imported.split, p))) for p in PARTS},
            "dims": {"visual": int(data.visual.shape[-1]), "acoustic": int(data.acoustic.shape[-1]),
                     "textual": int(data.text.shape[-1])},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        final = swap_dir(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def list_bundles(root: str | Path) -> list[dict]:
    """The meta of every bundle under root, by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for meta in sorted(root.glob("*/meta.json")):
        if not meta.parent.name.startswith("."):
            out.append(json.loads(meta.read_text(encoding="utf-8")))
    return out


def load_bundle(root: str | Path, name: str) -> ImportedFeatures:
    """Read back a bundle written by ``save_bundle``."""
    folder = Path(root) / check_name(name)
    if not (folder / "meta.json").is_file() or not (folder / "features.npz").is_file():
        known = ", ".join(b["name"] for b in list_bundles(root)) or "none"
        raise FeatureImportError(
            f"no imported features named {name!r} in {root} (known: {known}); "
            f"run `python -m app import-features FILE.h5 --name {name}` first"
        )
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    with np.load(folder / "features.npz", allow_pickle=False) as z:
        data = FeatureSet(
            visual=z["visual"], acoustic=z["acoustic"], text=z["text"], text_lengths=z["text_lengths"],
            labels=z["labels"], keys=[str(k) for k in z["keys"]], class_names=list(meta["class_names"]),
        )
        split = GivenSplit(z["split_train"], z["split_valid"], z["split_test"])
    return ImportedFeatures(data, split, list(meta["venue188_index"]), source=str(meta["source"]), name=name)
