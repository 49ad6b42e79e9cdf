"""Shared fixtures: a temporary EASTERN_HOME with a migrated SQLite database."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
# librosa's numba kernels compile once per test session (~15 s) into a folder of this session only:
# numba's file cache is not safe when several processes write one folder at once (seen here: segfaults).
# A promotion in a test would start the embeddings job (UMAP, seconds of CPU) in the background of every test that
# promotes; tests/app/test_map.py turns it on where it checks exactly that.
os.environ.setdefault("EASTERN_MAP_ON_ACTIVATE", "false")
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="eastern-numba-"))


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings pointing at a fresh EASTERN_HOME (and its SQLite file) in tmp_path."""
    from app.settings import Settings

    home = tmp_path / "home"
    monkeypatch.setenv("EASTERN_HOME", str(home))
    monkeypatch.setenv("EASTERN_DB_URL", f"sqlite:///{home / 'eastern.db'}")
    return Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}", job_heartbeat_s=0.2)


@pytest.fixture()
def ctx(settings):
    """A migrated database with the 188 venues."""
    from app.context import make_context
    from app.services.database import prepare_database
    from db.session import dispose_engines

    context = make_context(settings)
    prepare_database(context)
    yield context
    dispose_engines()
