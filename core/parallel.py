"""Worker processes started with `spawn` from anywhere, Streamlit included.

spawn re-runs the parent's `__main__` in every child before it works. Under Streamlit (and its AppTest)
`__main__` is the page script, so a child would run the dashboard and die (BrokenProcessPool). The
children of `bare_main()` start from an empty `__main__`: what they run is imported by module name.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bare_main() -> Iterator[None]:
    """While the block starts processes, `__main__` is an empty module (the real one is put back after)."""
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real
