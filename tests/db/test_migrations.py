"""Migrations go up, down and up again, and match the ORM models exactly."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.migrate import current, downgrade, upgrade
from db.models import Base
from db.session import dispose_engines, make_engine

TABLES = {"venues", "videos", "labels", "model_versions", "predictions", "training_jobs", "users", "audit_events"}


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert current(url) is not None
    assert TABLES <= set(inspect(make_engine(url)).get_table_names())
    downgrade(url, "base")
    assert current(url) is None
    assert not TABLES & set(inspect(make_engine(url)).get_table_names())
    upgrade(url)
    assert TABLES <= set(inspect(make_engine(url)).get_table_names())
    dispose_engines()


def test_no_drift_between_models_and_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    with make_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    dispose_engines()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    with make_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    dispose_engines()
