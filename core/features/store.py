"""A content-addressed feature store: one file per video, plus packed memory-mapped copies for fast loads.

Layout under `root/version/`:
- `items/<k[:2]>/<key>.npz`: visual (12, D_v) float16, acoustic (6, 512) float16, tokens (JSON). Written to
  a temporary name and renamed into place, so a crash mid-put leaves no file that `has()` reports.
- `packs/<segment>/{visual.f16.npy, acoustic.f16.npy, keys.json, tokens.json}` and `packs/manifest.json`
  naming the live segments. `pack()` appends a segment holding the keys not packed yet (merging all
  segments into one when there are more than MAX_SEGMENTS); `load()` reads packed rows through
  `np.load(mmap_mode="r")` and falls back to the per-video files for keys packed later.
- `text_embedder.npz`: the corpus TextEmbedder of this feature version.
Keys are content addresses (sha256), so a key's features never change within a version.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from core.features.textual import TextEmbedder
from core.fileio import atomic_write, atomic_write_json, make_dirs, swap_dir

N_FRAMES = 12
N_CLIPS = 6
ACOUSTIC_DIM = 512
MAX_SEGMENTS = 8
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$")


@dataclass
class VideoFeatures:
    """The three feature sequences of one video, as stored."""

    visual: np.ndarray  # (12, D_v) float16
    acoustic: np.ndarray  # (6, 512) float16
    tokens: list[str]

    def __post_init__(self) -> None:
        self.visual = np.asarray(self.visual, dtype=np.float16)
        self.acoustic = np.asarray(self.acoustic, dtype=np.float16)
        self.tokens = [str(t) for t in self.tokens]
        if self.visual.ndim != 2 or self.visual.shape[0] != N_FRAMES:
            raise ValueError(f"visual features must be ({N_FRAMES}, D), got {self.visual.shape}")
        if self.acoustic.shape != (N_CLIPS, ACOUSTIC_DIM):
            raise ValueError(f"acoustic features must be ({N_CLIPS}, {ACOUSTIC_DIM}), got {self.acoustic.shape}")


@dataclass
class _Segment:
    keys: list[str]
    visual: np.ndarray  # memory-mapped (n, 12, D) float16
    acoustic: np.ndarray  # memory-mapped (n, 6, 512) float16
    tokens: list[list[str]]


class FeatureStore:
    """Features of one extractor version, keyed by the video's sha256."""

    def __init__(self, root: str | Path, version: str):
        if not _KEY.match(version):
            raise ValueError(f"feature version {version!r} is not a safe folder name")
        self.root = Path(root)
        self.version = version
        self.dir = self.root / version
        self._packs_dir = self.dir / "packs"
        self._manifest_path = self._packs_dir / "manifest.json"
        self._cache_stamp: tuple[int, int, int] | None = None
        self._segments: list[_Segment] = []
        self._index: dict[str, tuple[int, int]] = {}

    # -- per-video files -----------------------------------------------------------------------------
    def path_of(self, key: str) -> Path:
        """Where the features of `key` live (ValueError for a key that is not a safe file name)."""
        if not _KEY.match(key):
            raise ValueError(f"invalid feature key {key!r}")
        return self.dir / "items" / key[:2] / f"{key}.npz"

    def has(self, key: str) -> bool:
        """True once `put(key, ...)` has completed."""
        return self.path_of(key).is_file()

    def put(self, key: str, feats: VideoFeatures) -> None:
        """Store one video's features atomically (temporary file, fsync, rename)."""
        def write(fh: IO[bytes]) -> None:
            np.savez(fh, visual=np.asarray(feats.visual, dtype=np.float16),
                     acoustic=np.asarray(feats.acoustic, dtype=np.float16),
                     tokens=np.array(json.dumps(list(feats.tokens))))

        atomic_write(self.path_of(key), write, fsync=True, prefix=f".tmp-{key}-", suffix=".npz")

    def get(self, key: str) -> VideoFeatures:
        """One video's features; KeyError when there are none, ValueError (naming the file) when it is corrupt."""
        path = self.path_of(key)
        if not path.is_file():
            raise KeyError(f"no features for {key} in {self.dir}")
        try:
            with np.load(path, allow_pickle=False) as data:
                return VideoFeatures(data["visual"], data["acoustic"], json.loads(str(data["tokens"])))
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            # a truncated or corrupted .npz (a crash outside put, a bad disk, a partial copy)
            raise ValueError(f"{path}: unreadable feature file ({type(exc).__name__}: {exc})") from exc

    def keys(self) -> list[str]:
        """All stored keys, sorted."""
        items = self.dir / "items"
        if not items.is_dir():
            return []
        found = []
        for sub in os.scandir(items):
            if sub.is_dir():
                found += [e.name[:-4] for e in os.scandir(sub.path)
                          if e.name.endswith(".npz") and not e.name.startswith(".")]
        return sorted(found)

    # -- packed copies -------------------------------------------------------------------------------
    def pack(self, repack: bool = False) -> int:
        """Copy keys not yet packed into a new memory-mappable segment; returns how many were added.
        `repack` rewrites every key from its per-video file into one segment (after features were
        recomputed in place: packed copies would otherwise keep the old values)."""
        make_dirs(self._packs_dir)
        with self._lock():
            self._refresh(force=True)
            if repack:
                self._index = {}  # read every row from the item files
                new = self.keys()
                names = [self._write_segment(new)] if new else []
                _write_json_atomic(self._manifest_path, {"segments": names})
                self._drop_unnamed(names)
                self._refresh(force=True)
                return len(new)
            new = [k for k in self.keys() if k not in self._index]
            if not new:
                return 0
            names = self._read_manifest()
            if len(names) + 1 > MAX_SEGMENTS:  # merge everything into one segment
                names = [self._write_segment(list(self._index) + new)]
            else:
                names = names + [self._write_segment(new)]
            _write_json_atomic(self._manifest_path, {"segments": names})
            self._drop_unnamed(names)
            self._refresh(force=True)
            return len(new)

    def _drop_unnamed(self, names: list[str]) -> None:
        """Delete segments the manifest no longer names (merged, replaced, or left by a crash)."""
        for entry in os.scandir(self._packs_dir):
            if entry.is_dir() and entry.name not in names:
                shutil.rmtree(entry.path, ignore_errors=True)

    def load(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """visual (N, 12, D_v) float16, acoustic (N, 6, 512) float16 and tokens for `keys`, in order."""
        keys = list(keys)
        self._refresh()
        missing = [k for k in keys if k not in self._index and not self.has(k)]
        if missing:
            raise KeyError(f"no features for {len(missing)} key(s) in {self.dir}, e.g. {missing[:3]}")
        dim = self._visual_dim(keys)
        visual = np.empty((len(keys), N_FRAMES, dim), dtype=np.float16)
        acoustic = np.empty((len(keys), N_CLIPS, ACOUSTIC_DIM), dtype=np.float16)
        tokens: list[list[str]] = [[] for _ in keys]
        by_segment: dict[int, list[tuple[int, int]]] = {}
        for pos, key in enumerate(keys):
            if key in self._index:
                seg, row = self._index[key]
                by_segment.setdefault(seg, []).append((row, pos))
            else:
                feats = self.get(key)
                visual[pos], acoustic[pos], tokens[pos] = feats.visual, feats.acoustic, feats.tokens
        for seg, pairs in by_segment.items():
            pairs.sort()  # read each segment front to back
            rows = np.array([r for r, _ in pairs])
            positions = np.array([p for _, p in pairs])
            segment = self._segments[seg]
            visual[positions] = segment.visual[rows]
            acoustic[positions] = segment.acoustic[rows]
            for row, pos in pairs:
                tokens[pos] = list(segment.tokens[row])
        return visual, acoustic, tokens

    def packed_keys(self) -> set[str]:
        """Keys that `load` reads from packed segments."""
        self._refresh()
        return set(self._index)

    # -- text embedder -------------------------------------------------------------------------------
    @property
    def embedder_path(self) -> Path:
        """Where this version's corpus TextEmbedder is stored."""
        return self.dir / "text_embedder.npz"

    def save_embedder(self, embedder: TextEmbedder) -> None:
        """Store the corpus TextEmbedder of this version (atomic)."""
        embedder.save(self.embedder_path)

    def load_embedder(self) -> TextEmbedder | None:
        """The stored TextEmbedder, or None before one was saved."""
        return TextEmbedder.load(self.embedder_path) if self.embedder_path.is_file() else None

    # -- internals -----------------------------------------------------------------------------------
    def _visual_dim(self, keys: list[str]) -> int:
        if self._segments:
            return int(self._segments[0].visual.shape[2])
        if keys:
            return int(self.get(keys[0]).visual.shape[1])
        return 0

    def _write_segment(self, keys: list[str]) -> str:
        """Write a segment for `keys` (rows read from current segments or item files); returns its name."""
        name = f"seg-{uuid.uuid4().hex[:12]}"
        tmp_dir = self._packs_dir / f".tmp-{name}"
        tmp_dir.mkdir()
        dim = self._visual_dim(keys)
        visual = np.lib.format.open_memmap(tmp_dir / "visual.f16.npy", mode="w+", dtype=np.float16,
                                           shape=(len(keys), N_FRAMES, dim))
        acoustic = np.lib.format.open_memmap(tmp_dir / "acoustic.f16.npy", mode="w+", dtype=np.float16,
                                             shape=(len(keys), N_CLIPS, ACOUSTIC_DIM))
        tokens: list[list[str]] = []
        for row, key in enumerate(keys):
            if key in self._index:
                seg, src = self._index[key]
                segment = self._segments[seg]
                visual[row], acoustic[row] = segment.visual[src], segment.acoustic[src]
                tokens.append(list(segment.tokens[src]))
            else:
                feats = self.get(key)
                if feats.visual.shape[1] != dim:
                    raise ValueError(f"{self.path_of(key)}: visual size {feats.visual.shape[1]} differs from "
                                     f"the store's {dim}")
                visual[row], acoustic[row] = feats.visual, feats.acoustic
                tokens.append(feats.tokens)
        visual.flush()
        acoustic.flush()
        del visual, acoustic
        (tmp_dir / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
        (tmp_dir / "tokens.json").write_text(json.dumps(tokens), encoding="utf-8")
        swap_dir(tmp_dir, self._packs_dir / name)
        return name

    def _read_manifest(self) -> list[str]:
        if not self._manifest_path.is_file():
            return []
        return list(json.loads(self._manifest_path.read_text(encoding="utf-8"))["segments"])

    def _refresh(self, force: bool = False) -> None:
        """(Re)open the packed segments when the manifest changed since the last look."""
        for attempt in range(2):
            try:
                st = self._manifest_path.stat()
                stamp: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._cache_stamp and not force:
                return
            try:
                self._open_segments(stamp)
                return
            except FileNotFoundError:  # another process merged segments between our reads: look again
                if attempt:
                    raise

    def _open_segments(self, stamp: tuple[int, int, int] | None) -> None:
        segments, index = [], {}
        for name in self._read_manifest() if stamp else []:
            seg_dir = self._packs_dir / name
            keys = json.loads((seg_dir / "keys.json").read_text(encoding="utf-8"))
            segment = _Segment(
                keys=keys,
                visual=np.load(seg_dir / "visual.f16.npy", mmap_mode="r"),
                acoustic=np.load(seg_dir / "acoustic.f16.npy", mmap_mode="r"),
                tokens=json.loads((seg_dir / "tokens.json").read_text(encoding="utf-8")),
            )
            for row, key in enumerate(keys):
                index[key] = (len(segments), row)
            segments.append(segment)
        self._segments, self._index, self._cache_stamp = segments, index, stamp

    @contextmanager
    def _lock(self):
        """One packer at a time per store (the UI and a worker process may both call pack)."""
        with open(self._packs_dir / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _write_json_atomic(path: Path, payload: object) -> None:
    atomic_write_json(path, payload, fsync=True, prefix=f".tmp-{path.name}-", suffix="")


def stack_features(items: Iterable[VideoFeatures]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Stack VideoFeatures like FeatureStore.load does (for features not in a store)."""
    items = list(items)
    if not items:
        return (np.zeros((0, N_FRAMES, 0), np.float16), np.zeros((0, N_CLIPS, ACOUSTIC_DIM), np.float16), [])
    return (np.stack([f.visual for f in items]), np.stack([f.acoustic for f in items]), [f.tokens for f in items])
