"""Backup and restore of a home: the database through SQLite's online backup API (or pg_dump for PostgreSQL), a
consistent copy taken while the dashboard and jobs keep writing, plus the content-addressed media, the feature
store and the model checkpoints, copied incrementally (a file already in the backup with the same size and SHA-256
is not copied again). `backup.json` lists every file with its hash, so `verify` can check a backup on its own."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.context import AppContext
from app.errors import UserError
from app.settings import Settings, owner_only
from core.fileio import atomic_path, atomic_write_json, sha256_file

MANIFEST = "backup.json"
SQLITE_FILE = "eastern.db"
PG_FILE = "eastern.pgdump"
# beside the database: what a restored home needs (embeddings: the map's vectors, layouts and indexes)
FOLDERS = ("media", "features", "models", "proxies", "thumbs", "embeddings")


class BackupError(UserError):
    """A backup or restore that cannot go ahead, with what to do."""


@dataclass
class BackupReport:
    """What a backup wrote: the files copied and those already there, and the database copy."""

    dest: Path
    database: str
    copied: int = 0
    kept: int = 0
    bytes_copied: int = 0
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def line(self) -> str:
        return (f"backup in {self.dest}: database {self.database}, {self.copied} file(s) copied "
                f"({self.bytes_copied / 1e6:.1f} MB), {self.kept} already there")


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.split("///", 1)[1])
    return None


def _copy_database(settings: Settings, dest: Path) -> str:
    """A consistent copy of the database in `dest`; returns its file name."""
    source = _sqlite_path(settings.db_url)
    if source is not None:
        if not source.exists():
            raise BackupError(f"no database at {source}: nothing to back up")
        with atomic_path(dest / SQLITE_FILE) as tmp:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # one step: every transaction committed before it started is in the copy
            finally:
                out.close()
                src.close()
        return SQLITE_FILE
    if not settings.db_url.startswith("postgresql"):
        raise BackupError(f"cannot back up {settings.db_url.split(':', 1)[0]} databases (SQLite or PostgreSQL)")
    if shutil.which("pg_dump") is None:
        raise BackupError("pg_dump is not on PATH: install PostgreSQL's client tools")
    with atomic_path(dest / PG_FILE) as tmp:
        _pg(["pg_dump", "--format=custom", f"--file={tmp}", "--dbname", _libpq_url(settings.db_url)])
    return PG_FILE


def _libpq_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]  # postgresql+psycopg://... -> libpq's form


def _pg(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def _home_files(home: Path) -> list[Path]:
    files = []
    for folder in FOLDERS:
        root = home / folder
        if root.is_dir():
            files += [p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()
                      and not p.name.endswith(".tmp")]
    return files


def backup(ctx: AppContext, dest: Path) -> BackupReport:
    """Back up the database first (the labels), then the files beside it, into `dest` (made owner-only)."""
    dest = Path(dest).resolve()
    home = ctx.settings.home.resolve()
    if dest == home or home in dest.parents:
        raise BackupError(f"{dest} lies inside the home {home}: back up somewhere else")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner_only(dest, 0o700)
    previous = _read_manifest(dest).get("files", {}) if (dest / MANIFEST).exists() else {}
    report = BackupReport(dest=dest, database=_copy_database(ctx.settings, dest))
    owner_only(dest / report.database, 0o600)
    for path in _home_files(home):
        rel = path.relative_to(home).as_posix()
        target = dest / rel
        sha = sha256_file(path)
        if target.exists() and target.stat().st_size == path.stat().st_size and \
                (previous.get(rel) == sha or sha256_file(target) == sha):
            report.kept += 1
        else:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copy2(path, tmp)
            report.copied += 1
            report.bytes_copied += path.stat().st_size
        report.files[rel] = sha
    atomic_write_json(dest / MANIFEST, {
        "format": 1, "written_at": datetime.now(UTC).isoformat(timespec="seconds"), "database": report.database,
        "database_sha256": sha256_file(dest / report.database), "files": report.files}, indent=1)
    from app.services import audit

    audit.record(ctx, actor="cli", action="backup", target=str(dest),
                 detail={"copied": report.copied, "kept": report.kept})
    return report


def _read_manifest(src: Path) -> dict:
    try:
        return json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{src} has no {MANIFEST}: not a backup made by `python -m app backup`") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src / MANIFEST} is unreadable ({exc})") from exc


def verify(src: Path) -> list[str]:
    """Problems with the backup in `src`, one line each (none: it is complete and every hash matches)."""
    src = Path(src)
    manifest = _read_manifest(src)
    problems = []
    db_file = src / manifest.get("database", "")
    if not db_file.is_file():
        return [f"the database copy {db_file.name} is missing"]
    if sha256_file(db_file) != manifest.get("database_sha256"):
        problems.append(f"the database copy {db_file.name} differs from the one the backup wrote")
    elif db_file.name == SQLITE_FILE:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            problems.append(f"the database copy fails SQLite's integrity check: {result}")
    for rel, sha in manifest.get("files", {}).items():
        path = src / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif sha256_file(path) != sha:
            problems.append(f"{rel} differs from the file backed up")
    return problems


def _is_empty_home(settings: Settings) -> bool:
    """Nothing but empty folders (as a first start leaves them) and no database with rows."""
    if any(p.is_file() for p in settings.home.rglob("*")) if settings.home.exists() else False:
        return False
    return _sqlite_path(settings.db_url) is None or not _sqlite_path(settings.db_url).exists()


def restore(settings: Settings, src: Path, *, force: bool = False) -> int:
    """Restore the backup in `src` into the configured home; refused when the home holds anything unless
    `force`. The backup is verified first. Returns the number of files restored."""
    src = Path(src).resolve()
    problems = verify(src)
    if problems:
        raise BackupError(f"the backup in {src} is damaged: {problems[0]} ({len(problems)} problem(s))")
    if not force and not _is_empty_home(settings):
        raise BackupError(f"{settings.home} is not empty: restore into an empty home, or add --force to replace it")
    manifest = _read_manifest(src)
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner_only(settings.home, 0o700)
    for rel in manifest["files"]:
        target = settings.home / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            shutil.copy2(src / rel, tmp)
    db_path = _sqlite_path(settings.db_url)
    if manifest["database"] == SQLITE_FILE:
        if db_path is None:
            raise BackupError("the backup holds a SQLite database; EASTERN_DB_URL names another kind")
        from db.session import dispose_engines

        dispose_engines()
        for journal in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
            journal.unlink(missing_ok=True)
        with atomic_path(db_path) as tmp:
            shutil.copy2(src / SQLITE_FILE, tmp)
        owner_only(db_path, 0o600)
    else:
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore is not on PATH: install PostgreSQL's client tools")
        _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", _libpq_url(settings.db_url),
             str(src / PG_FILE)])
    return len(manifest["files"])
