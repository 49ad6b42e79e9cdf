"""A small real workspace shared by the AppTest and browser tests: demo corpus (real mp4 files),
features, and tiny trained models. Built once per test session under pytest's base temp folder."""
from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

WORKSPACE_SEED = 3
ADMIN_PASSWORD = "admin-test-password"  # the workspace's accounts (app.services.accounts)
ANNOTATOR_PASSWORD = "ann-test-password"
# CLI flags that act as the workspace's admin (commands that change data need an account)
AS_ADMIN = ("--who", "admin", "--password", ADMIN_PASSWORD)


@dataclass(frozen=True)
class Workspace:
    home: Path
    db_url: str
    active_model: int
    other_model: int  # LSTMs, active once (stored predictions): compare and prediction flips
    never_active_model: int  # CONV, never active: the case study computes its predictions on demand
    admin: str = "admin"  # an admin account and an annotator account, with these passwords
    admin_password: str = ADMIN_PASSWORD
    annotator: str = "ann"
    annotator_password: str = ANNOTATOR_PASSWORD

    def env(self) -> dict[str, str]:
        return {"EASTERN_HOME": str(self.home), "EASTERN_DB_URL": self.db_url}


def workspace_settings(home: Path):  # noqa: ANN201 - app.settings.Settings
    from app.settings import Settings

    return Settings(home=home, db_url=f"sqlite:///{home / 'eastern.db'}", job_heartbeat_s=0.5)


def build_workspace(home: Path, n_videos: int = 30, epochs: int = 2, seed: int = WORKSPACE_SEED) -> Workspace:
    """Demo corpus of `n_videos` real videos, their features, an active EASTERN model, an LSTMs version
    that was active before it and a CONV version that never was (Table 4 sizes: 30 videos train in seconds)."""
    from app.context import make_context
    from app.services import corpus, features, training

    settings = workspace_settings(home)
    ctx = make_context(settings)
    report = corpus.build_demo(ctx, videos=n_videos, seed=seed)
    assert report.ok, report.lines()
    extracted = features.extract_pending(ctx)
    assert not extracted.failed, extracted.failed
    other = training.train_and_register(
        ctx, training.TrainRequest(architecture="lstms", epochs=1, seed=seed, name="LSTMs (fixture)", activate=True))
    never = training.train_and_register(
        ctx, training.TrainRequest(architecture="conv", epochs=1, seed=seed, name="CONV (fixture)"))
    active = training.train_and_register(
        ctx, training.TrainRequest(epochs=epochs, seed=seed, name="EASTERN (fixture)", activate=True))
    assert None not in (other, never, active)
    from app.services.crossval import CrossvalRequest, run_crossval

    # out-of-sample label issues for the Annotate queue (3 folds of 1 epoch: seconds at this size)
    assert run_crossval(ctx, CrossvalRequest(folds=3, epochs=1, seed=seed)) is not None
    from app.services import embeddings
    from app.services.requests import EmbeddingsRequest

    # the corpus map of the active model: vectors, indexes, layouts and data issues (what activation starts)
    assert embeddings.compute(ctx, EmbeddingsRequest()) is not None
    from app.services import accounts

    accounts.create(ctx, name="admin", role="admin", password=ADMIN_PASSWORD, actor="fixture")
    accounts.create(ctx, name="ann", role="annotator", password=ANNOTATOR_PASSWORD, actor="fixture")
    return Workspace(home=home, db_url=settings.db_url, active_model=active, other_model=other,
                     never_active_model=never)


# Opt-in for local iteration: a folder holding a workspace built earlier; each test session copies it
# instead of building again (delete the folder after changing the corpus, features or training code).
CACHE_ENV = "EASTERN_TEST_WORKSPACE_CACHE"
_CACHE_MARKER = "workspace.json"


def _cached_workspace(home: Path) -> Workspace:
    cache = Path(os.environ[CACHE_ENV])
    marker = cache / _CACHE_MARKER
    if not marker.is_file():
        shutil.rmtree(cache, ignore_errors=True)
        built = build_workspace(cache)
        marker.write_text(json.dumps({"active_model": built.active_model, "other_model": built.other_model,
                                      "never_active_model": built.never_active_model}))
    ids = json.loads(marker.read_text())
    shutil.copytree(cache, home, ignore=shutil.ignore_patterns(_CACHE_MARKER))
    return Workspace(home=home, db_url=workspace_settings(home).db_url, **ids)


def shared_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The session's workspace, built by whichever test directory asks first (tests/app or tests/e2e)."""
    global _SHARED
    if _SHARED is None:
        home = tmp_path_factory.getbasetemp() / "workspace"
        _SHARED = _cached_workspace(home) if os.environ.get(CACHE_ENV) else build_workspace(home)
    return _SHARED


_SHARED: Workspace | None = None


@contextmanager
def workspace_env(ws: Workspace):
    """Point the process's settings at the workspace (AppTest reads them from the environment)."""
    from app.context import get_context
    from app.settings import get_settings

    saved = {k: os.environ.get(k) for k in ws.env()}
    os.environ.update(ws.env())
    get_settings.cache_clear()
    get_context.cache_clear()
    try:
        yield ws
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        get_context.cache_clear()
