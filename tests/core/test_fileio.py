"""core.fileio: atomic writes leave the old file or the new one (never half a file, never a temporary file),
swap_dir replaces a folder in one rename, jsonable makes plain JSON values."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from core import fileio
from core.fileio import (
    atomic_path,
    atomic_savez,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    jsonable,
    swap_dir,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "out.bin"  # the folder is created
    atomic_write(target, lambda fh: fh.write(b"one"))
    atomic_write(target, lambda fh: fh.write(b"two"), fsync=True)
    assert target.read_bytes() == b"two"
    assert _names(target.parent) == ["out.bin"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def half(fh):
        fh.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half)
    with pytest.raises(ValueError):  # allow_nan=False: nothing is written
        atomic_write_json(target, {"x": math.nan}, allow_nan=False)
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["out.json"]


def test_a_failing_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def crash(*_args):
        raise OSError("rename failed")

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(OSError, match="rename failed"):
        atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and _names(tmp_path) == ["out.txt"]


def test_atomic_path_for_writers_that_need_a_path(tmp_path):
    target = tmp_path / "clip.mp4"
    with atomic_path(target, suffix=".part") as part:
        assert part.parent == tmp_path and part.name.startswith(".clip.mp4.") and part.name.endswith(".part")
        assert part.exists() and not target.exists()  # an empty file the writer overwrites
        part.write_bytes(b"video")
    assert target.read_bytes() == b"video" and _names(tmp_path) == ["clip.mp4"]

    with pytest.raises(KeyError), atomic_path(target) as part:
        part.write_bytes(b"broken")
        raise KeyError("encoder died")
    assert target.read_bytes() == b"video" and _names(tmp_path) == ["clip.mp4"]


def test_atomic_path_can_stage_in_another_folder(tmp_path):
    staging, target = tmp_path / "tmp", tmp_path / "media" / "ab" / "abc.mp4"
    with atomic_path(target, prefix=".part-", suffix="", temp_dir=staging) as part:
        assert part.parent == staging and part.name.startswith(".part-")
        part.write_bytes(b"copy")
    assert target.read_bytes() == b"copy" and _names(staging) == []


def test_private_and_shared_permissions(tmp_path):
    atomic_write_bytes(tmp_path / "private.bin", b"x")
    atomic_write_bytes(tmp_path / "shared.bin", b"x", private=False)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "private.bin").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "shared.bin").stat().st_mode) == 0o666 & ~umask  # as a plain open() makes it


def test_text_json_and_savez_wrappers(tmp_path):
    atomic_write_text(tmp_path / "a.csv", "a,b\r\nü,2\r\n")
    assert (tmp_path / "a.csv").read_bytes() == "a,b\r\nü,2\r\n".encode()  # no newline translation
    atomic_write_json(tmp_path / "b.json", {"k": [1, 2]}, indent=1)
    assert (tmp_path / "b.json").read_text() == json.dumps({"k": [1, 2]}, indent=1)
    atomic_savez(tmp_path / "c.npz", x=np.arange(3))
    with np.load(tmp_path / "c.npz") as z:
        assert z["x"].tolist() == [0, 1, 2]
    assert _names(tmp_path) == ["a.csv", "b.json", "c.npz"]


def test_swap_dir_replaces_the_folder_and_leaves_no_old_one(tmp_path):
    first = tmp_path / ".new-1"
    first.mkdir()
    (first / "a.txt").write_text("first")
    final = swap_dir(first, tmp_path / "latest")
    assert final == tmp_path / "latest" and _names(final) == ["a.txt"]

    second = tmp_path / ".new-2"
    second.mkdir()
    (second / "b.txt").write_text("second")
    swap_dir(second, final)
    assert _names(final) == ["b.txt"] and (final / "b.txt").read_text() == "second"
    assert _names(tmp_path) == ["latest"]  # neither the temporary folder nor a .old one is left


def test_swap_dir_errors_propagate(tmp_path):
    with pytest.raises(FileNotFoundError):
        swap_dir(tmp_path / "missing", tmp_path / "final")
    assert _names(tmp_path) == []


@dataclass
class _Point:
    x: int
    where: Path


def test_jsonable_converts_numpy_paths_dataclasses_and_dates():
    value = {
        1: np.int64(3), "f": np.float32(0.5), "nan": np.float64("nan"), "inf": math.inf, "b": np.bool_(True),
        "arr": np.array([[1.0, np.nan], [2.0, 3.0]]), "ints": np.arange(2, dtype=np.int16), "t": (1, "a"),
        "p": Path("/x/y"), "dc": _Point(np.int32(2), Path("z")),
        "when": dt.datetime(2024, 5, 6, 7, 8, 9), "day": dt.date(2024, 5, 6), "none": None, "flag": False,
    }
    got = jsonable(value)
    assert got == {
        "1": 3, "f": 0.5, "nan": None, "inf": None, "b": True, "arr": [[1.0, None], [2.0, 3.0]], "ints": [0, 1],
        "t": [1, "a"], "p": "/x/y", "dc": {"x": 2, "where": "z"}, "when": "2024-05-06T07:08:09",
        "day": "2024-05-06", "none": None, "flag": False,
    }
    assert type(got["1"]) is int and type(got["f"]) is float and type(got["b"]) is bool
    json.dumps(got, allow_nan=False)  # strict JSON
    other = object()
    assert jsonable(other) is other  # left to json.dumps to refuse


def test_a_confined_process_never_recreates_its_removed_root(tmp_path):
    """A job worker is confined to its home: folders and atomic writes under it work while it is there; once it is
    removed they fail with FileNotFoundError instead of bringing an empty home back (outside it, nothing changes)."""
    import shutil

    from core.fileio import confine_writes, make_dirs

    home = tmp_path / "home"
    home.mkdir()
    confine_writes(home)
    try:
        make_dirs(home / "models" / "runs" / "a")
        atomic_write_text(home / "models" / "runs" / "b" / "resume.txt", "epoch 1")
        assert (home / "models" / "runs" / "b" / "resume.txt").read_text() == "epoch 1"
        shutil.rmtree(home)
        with pytest.raises(FileNotFoundError):
            atomic_write_text(home / "models" / "runs" / "b" / "resume.txt", "epoch 2")
        with pytest.raises(FileNotFoundError):
            make_dirs(home / "features")
        assert not home.exists()
        make_dirs(tmp_path / "elsewhere" / "deep")  # outside the root: an ordinary mkdir -p
        assert (tmp_path / "elsewhere" / "deep").is_dir()
    finally:
        confine_writes(None)
    make_dirs(home / "again")  # lifted: an ordinary mkdir -p again
    assert (home / "again").is_dir()
