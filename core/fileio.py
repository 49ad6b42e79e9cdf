"""File helpers used everywhere a file or folder is published.

- Atomic writes: a temporary file in the target's folder, then os.replace, so readers never see half a file
  (`atomic_path` for writers that need a path, `atomic_write` for a file handle, and the thin
  `atomic_write_text` / `atomic_write_bytes` / `atomic_write_json` / `atomic_savez` on top).
- `swap_dir`: publish a freshly written folder under a final name, replacing the folder there.
- `make_dirs` / `confine_writes`: a folder and its missing parents, except that a process confined to a root (a
  job worker to its home) never recreates that root: once the root is removed, `make_dirs` under it fails.
- `jsonable`: numpy values, paths, dataclasses and datetimes as plain JSON values (NaN/inf as None).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import IO, Any


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks: the content address of media, backups and checks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_confined_to: Path | None = None


def confine_writes(root: str | Path | None) -> None:
    """From now on `make_dirs` (and so every atomic write) in this process creates folders under `root` only while
    `root` itself exists: a worker whose home was deleted under it must not bring an empty home back by writing a
    checkpoint. None lifts the confinement."""
    global _confined_to
    _confined_to = None if root is None else Path(os.path.abspath(root))


def make_dirs(path: str | Path) -> Path:
    """`path.mkdir(parents=True, exist_ok=True)`, except under the root given to `confine_writes`: there the folders
    below the root are made one at a time without `parents`, so a removed root raises FileNotFoundError (from the
    first mkdir, not after a check that could race with the removal) instead of being recreated."""
    path = Path(path)
    root = _confined_to
    if root is not None:
        try:
            rel = Path(os.path.abspath(path)).relative_to(root)
        except ValueError:
            rel = None
        if rel is not None:
            if not root.is_dir():
                raise FileNotFoundError(f"{root} is gone: not recreating it to write {path}")
            here = root
            for part in rel.parts:
                here = here / part
                try:
                    here.mkdir()
                except FileExistsError:
                    if not here.is_dir():
                        raise
            return path
    path.mkdir(parents=True, exist_ok=True)
    return path


def _umask() -> int:
    """The process umask, read without changing it where the system tells (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, *, prefix: str | None = None, suffix: str = ".tmp",
                temp_dir: str | Path | None = None, private: bool = True) -> Iterator[Path]:
    """Yield the path of a new, empty temporary file for a writer that needs a path (ffmpeg, a copy); when the
    block ends normally it is renamed over `path`, when it raises it is removed (the old `path` stays as it was).

    The temporary file is ``<prefix><random><suffix>`` in `temp_dir` (default: path's folder; default prefix
    ``.<name>.``); `temp_dir` must be on the same file system as `path` for the rename to be atomic. It is
    readable by its owner only (private=True, mkstemp's 0600), or by whom a plain open() would let read it
    (private=False: 0666 less the umask)."""
    path = Path(path)
    make_dirs(path.parent)
    folder = Path(temp_dir) if temp_dir is not None else path.parent
    make_dirs(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}." if prefix is None else prefix, suffix=suffix)
    try:
        if not private:
            os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any], *, fsync: bool = False,
                 prefix: str | None = None, suffix: str = ".tmp", private: bool = True) -> None:
    """Call write(fh) on a temporary file beside `path` (opened "wb"), then rename it over `path`.
    fsync=True flushes the data to disk before the rename; prefix, suffix and private as atomic_path."""
    with atomic_path(path, prefix=prefix, suffix=suffix, private=private) as tmp, open(tmp, "wb") as fh:
        write(fh)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_bytes(path: str | Path, data: bytes, **kw: Any) -> None:
    """`data` to `path`, atomically (keywords as atomic_write)."""
    atomic_write(path, lambda fh: fh.write(data), **kw)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8", **kw: Any) -> None:
    """`text` to `path` in `encoding` (no newline translation), atomically (keywords as atomic_write)."""
    atomic_write_bytes(path, text.encode(encoding), **kw)


def atomic_write_json(path: str | Path, obj: Any, *, fsync: bool = False, prefix: str | None = None,
                      suffix: str = ".tmp", private: bool = True, **dumps_kw: Any) -> None:
    """json.dumps(obj, **dumps_kw) to `path` as UTF-8, atomically (the other keywords as atomic_write). The
    object is written as given: pass jsonable(obj) for numpy values, and allow_nan=False for strict JSON."""
    atomic_write_text(path, json.dumps(obj, **dumps_kw), fsync=fsync, prefix=prefix, suffix=suffix,
                      private=private)


def atomic_savez(path: str | Path, **arrays: Any) -> None:
    """np.savez (uncompressed) to `path`, atomically."""
    import numpy as np

    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def swap_dir(tmp_dir: str | Path, final_dir: str | Path) -> Path:
    """Rename the finished folder `tmp_dir` to `final_dir`. A folder already at `final_dir` is first renamed
    aside (``.<name>.<random>.old`` beside it), then deleted once the new one is in place; readers see the old
    folder or the new one, never a mix. Errors of the renames propagate. Returns `final_dir`."""
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.{uuid.uuid4().hex[:8]}.old")
        final_dir.rename(old)
        tmp_dir.rename(final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp_dir.rename(final_dir)
    return final_dir


def jsonable(obj: Any) -> Any:
    """`obj` with plain JSON values only: dict keys as str, tuples as lists, numpy arrays and scalars as Python
    lists and numbers, NaN/inf as None (strict JSON), paths as str, dataclasses as dicts, dates and times in
    ISO 8601. Anything else is returned as it is (json.dumps then decides)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, _dt.date | _dt.time):  # datetime is a date
        return obj.isoformat()
    return obj


__all__ = ["atomic_path", "atomic_savez", "atomic_write", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "jsonable", "swap_dir"]
