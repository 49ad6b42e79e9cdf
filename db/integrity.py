"""Read-only checks for `python -m app doctor`: the database's own integrity, its migration revision, and the
rows that name files (videos, model checkpoints, prediction-set folders). Returns plain rows."""
from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.migrate import _config
from db.models import ModelVersion, PredictionSet, Video


@dataclass(frozen=True)
class VideoFile:
    id: int
    sha256: str
    path: str  # relative to EASTERN_HOME
    size_bytes: int
    features_version: str | None


def integrity_problems(engine: Engine) -> list[str]:
    """SQLite's integrity and foreign-key checks (empty when sound); other databases check themselves."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    problems = [r for r in rows if r != "ok"]
    problems += [f"foreign key broken: {tuple(r)}" for r in fk]
    return problems


def revisions(url: str, engine: Engine) -> tuple[str | None, tuple[str, ...]]:
    """(the database's revision, the migrations' heads)."""
    heads = tuple(ScriptDirectory.from_config(_config(url)).get_heads())
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, heads


def video_files(session: Session) -> list[VideoFile]:
    rows = session.execute(select(Video.id, Video.sha256, Video.path, Video.size_bytes, Video.features_version)
                           .order_by(Video.id))
    return [VideoFile(*r) for r in rows]


def checkpoint_paths(session: Session) -> list[tuple[int, str, bool]]:
    """(model id, checkpoint path relative to home, is active)."""
    rows = session.execute(select(ModelVersion.id, ModelVersion.checkpoint_path, ModelVersion.is_active)
                           .order_by(ModelVersion.id))
    return [(int(i), str(p), bool(a)) for i, p, a in rows]


def prediction_set_dirs(session: Session) -> list[tuple[int, str, str]]:
    """(set id, artifact folder relative to home, status)."""
    rows = session.execute(select(PredictionSet.id, PredictionSet.artifact_dir, PredictionSet.status)
                           .order_by(PredictionSet.id))
    return [(int(i), str(d), str(s)) for i, d, s in rows]
