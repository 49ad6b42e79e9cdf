"""Atomic writes: a temporary file in the target's folder, then os.replace (readers never see half a file)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call write(fh) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_savez(path: str | Path, **arrays: Any) -> None:
    """np.savez (uncompressed) to `path`, atomically."""
    import numpy as np

    atomic_write(path, lambda fh: np.savez(fh, **arrays))
