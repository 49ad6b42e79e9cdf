"""`python -m app doctor`: is this EASTERN_HOME whole? The database's integrity, migrations at head, media and
feature files against their rows (missing, orphaned, checksum mismatch), checkpoints, leftover temporary files
and stale jobs. Each problem says what is wrong and how to fix it."""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.context import AppContext
from app.services.jobs import worker_alive
from core.fileio import sha256_file
from db import integrity, repo
from db.repo import JobStatus
from db.session import session_scope

TEMP_PREFIXES = (".part-", ".tmp-")  # what an interrupted atomic write leaves behind
TEMP_GRACE_S = 60.0  # younger temporary files may belong to a write in progress


@dataclass(frozen=True)
class Problem:
    check: str
    what: str
    fix: str
    repair: Callable[[], None] | None = field(default=None, compare=False, repr=False)  # safe to do with --fix


@dataclass
class Diagnosis:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check: str, what: str, fix: str, repair: Callable[[], None] | None = None) -> None:
        self.problems.append(Problem(check, what, fix, repair))

    def lines(self) -> list[str]:
        out = [f"ok    {c}" for c in self.checked if not any(p.check == c for p in self.problems)]
        for p in self.problems:
            out += [f"FAIL  {p.check}: {p.what}", f"      fix: {p.fix}"]
        out.append("healthy" if self.ok else f"{len(self.problems)} problem(s)")
        return out


def _leftover(path: Path) -> bool:
    """A temporary file old enough that no running write owns it."""
    import time

    try:
        return path.name.startswith(TEMP_PREFIXES) and time.time() - path.stat().st_mtime > TEMP_GRACE_S
    except OSError:
        return False


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for folder, _dirs, names in os.walk(root):
            for name in names:
                yield Path(folder) / name


def diagnose(ctx: AppContext, *, checksums: bool = True, feature_version: str | None = None) -> Diagnosis:
    """Run every check; nothing is changed. `feature_version` (default: the configured extractor's) names the
    feature store whose files are compared with the rows."""
    s = ctx.settings
    d = Diagnosis()

    d.checked.append("database integrity")
    try:
        for line in integrity.integrity_problems(ctx.engine):
            d.add("database integrity", line, f"restore {s.db_url} from a backup (sqlite3 .recover can salvage rows)")
        current, heads = integrity.revisions(s.db_url, ctx.engine)
    except Exception as exc:  # noqa: BLE001 - an unreadable database is the finding itself
        d.add("database integrity", f"cannot open {s.db_url}: {exc}", "check EASTERN_DB_URL, or run "
              "`python -m app migrate` to create the database")
        return d
    d.checked.append("migrations at head")
    if current not in heads:
        d.add("migrations at head", f"database at revision {current or 'none'}, code at {', '.join(heads)}",
              "python -m app migrate")
        return d  # the tables below may not exist yet

    with session_scope(ctx.engine) as session:
        videos = integrity.video_files(session)
        checkpoints = integrity.checkpoint_paths(session)
        running = repo.running_jobs(session)

    d.checked.append("media files")
    known: set[Path] = set()
    for v in videos:
        path = s.home / v.path
        known.add(path.resolve())
        if not path.is_file():
            d.add("media files", f"video {v.id} ({v.path}): file missing",
                  f"ingest the original again (python -m app ingest FILE) or restore {path}")
        elif path.stat().st_size != v.size_bytes:
            d.add("media files", f"video {v.id} ({v.path}): {path.stat().st_size} bytes, its row says {v.size_bytes}",
                  f"restore {path} from the original file")
        elif checksums and sha256_file(path) != v.sha256:
            d.add("media files", f"video {v.id} ({v.path}): checksum mismatch (content changed on disk)",
                  f"restore {path} from the original file")
    for path in _files(s.media_dir):
        if path.resolve() in known:
            continue
        if path.name.startswith(TEMP_PREFIXES):
            if not _leftover(path):
                continue
            d.add("media files", f"{path.relative_to(s.home)}: leftover of an interrupted copy",
                  f"rm '{path}'  (or python -m app doctor --fix)", repair=path.unlink)
        else:
            d.add("media files", f"{path.relative_to(s.home)}: file without a video row (orphan)",
                  f"ingest it (python -m app ingest '{path}') or remove it (rm '{path}')")

    for path in _files(s.home / "tmp"):
        if _leftover(path):
            d.add("media files", f"{path.relative_to(s.home)}: leftover of an interrupted copy",
                  f"rm '{path}'  (or python -m app doctor --fix)", repair=path.unlink)

    d.checked.append("feature files")
    version = feature_version or _configured_feature_version(ctx)
    if version:
        from core.features.store import FeatureStore

        store = FeatureStore(s.features_dir, version)
        stored = set(store.keys())
        by_sha = {v.sha256: v for v in videos}
        for v in videos:
            if v.features_version == version and v.sha256 not in stored:
                d.add("feature files", f"video {v.id}: its row says features {version} exist, the file is missing",
                      "python -m app doctor --fix (marks it pending), then python -m app features",
                      repair=lambda vid=v.id: _mark_pending(ctx, vid))
        for key in sorted(stored - set(by_sha)):
            d.add("feature files", f"{store.path_of(key).relative_to(s.home)}: features of no video (orphan)",
                  f"rm '{store.path_of(key)}'")
        for key in sorted(stored & set(by_sha)):
            try:
                store.get(key)
            except Exception as exc:  # noqa: BLE001 - any failure to read is the finding (BadZipFile included)
                reason = str(exc) if isinstance(exc, ValueError) else f"unreadable feature file ({exc})"
                d.add("feature files", f"video {by_sha[key].id}: {reason}",
                      f"rm '{store.path_of(key)}' and run python -m app features")
        for path in _files(store.dir / "items"):
            if _leftover(path):
                d.add("feature files", f"{path.relative_to(s.home)}: leftover of an interrupted write",
                      f"rm '{path}'  (or python -m app doctor --fix)", repair=path.unlink)

    d.checked.append("browser copies")
    from app.services import proxies

    for v, what in proxies.problems(ctx):
        d.add("browser copies", f"video {v.id} ({v.path}): {what}",
              "python -m app proxies  (or python -m app doctor --fix)",
              repair=lambda sha=v.sha256, rel=v.path: proxies.repair_video(ctx, sha256=sha, rel_path=rel))

    d.checked.append("model checkpoints")
    for model_id, rel, active in checkpoints:
        path = s.home / rel
        if not path.is_file():
            d.add("model checkpoints", f"model {model_id}{' (active)' if active else ''}: {rel} missing",
                  "promote another version (python -m app promote ID) and retrain" if active
                  else f"restore {path} or ignore this version")

    d.checked.append("jobs")
    now = datetime.now(UTC)
    for job in running:
        beat = job.heartbeat_at or job.created_at
        beat = beat.replace(tzinfo=UTC) if beat.tzinfo is None else beat
        silent = (now - beat).total_seconds()
        if silent > s.job_stale_s or (job.status == JobStatus.RUNNING and not worker_alive(job.pid)):
            d.add("jobs", f"job {job.id} is '{job.status}' but its worker is gone or silent for {silent:.0f} s",
                  "python -m app jobs  (or doctor --fix: marks dead jobs failed; a cross-validation resumes "
                  "with --resume)", repair=lambda: _reap(ctx))
    return d


def _configured_feature_version(ctx: AppContext) -> str | None:
    """The feature version most videos have (read from the rows: no frame encoder is loaded for this)."""
    with session_scope(ctx.engine) as session:
        versions = Counter(v.features_version for v in integrity.video_files(session) if v.features_version)
    return versions.most_common(1)[0][0] if versions else None


def _mark_pending(ctx: AppContext, video_id: int) -> None:
    with session_scope(ctx.engine) as session:
        repo.set_features(session, video_id=video_id, version=None)


def _reap(ctx: AppContext) -> None:
    from app.services.jobs import reap_dead_jobs

    reap_dead_jobs(ctx)


def repair(diagnosis: Diagnosis) -> list[Problem]:
    """Do the safe repairs (leftover temporary files, rows that claim missing features, dead jobs); returns the
    problems that remain for a person (missing or changed media, orphans, broken checkpoints)."""
    left = []
    for problem in diagnosis.problems:
        if problem.repair is None:
            left.append(problem)
            continue
        try:
            problem.repair()
        except OSError:
            left.append(problem)
    return left
