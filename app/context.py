"""The application context: settings plus the database engine, built once per process."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine

from app.settings import Settings, get_settings
from db.session import make_engine


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine


def make_context(settings: Settings) -> AppContext:
    """Build a context for these settings (tests pass their own)."""
    settings.ensure_dirs()
    # numba reads its cache folder from the environment at import time; librosa compiles once,
    # and later processes reuse the cache instead of paying ~11 s again.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(settings.numba_cache_dir))
    return AppContext(settings=settings, engine=make_engine(settings.db_url))


@lru_cache(maxsize=1)
def get_context() -> AppContext:
    """The process-wide context from the environment's settings."""
    return make_context(get_settings())
