"""Backup and restore: a backup taken while 4 processes save labels holds every label saved before it was
called, a second backup copies nothing new, the backup verifies, and restoring it into an empty home gives a home
that `doctor` passes; a non-empty home is not overwritten without --force."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from app.services.ingest import ingest_path
from db.models import Label
from tests.media import write_video

ROOT = Path(__file__).resolve().parents[2]
WRITER = textwrap.dedent("""
    import sys
    from app.context import get_context
    from db import repo
    from db.session import session_scope

    name, videos, venue = sys.argv[1], [int(v) for v in sys.argv[2].split(",")], int(sys.argv[3])
    ctx, n = get_context(), 0
    while n < 2000:
        n += 1
        with session_scope(ctx.engine) as s:
            repo.set_label(s, video_id=videos[n % len(videos)], venue_id=venue, who=name, reason=f"{name}-{n}",
                           expected_version=None)
            label_id = repo.newest_label_id(s)
        print(label_id, flush=True)  # committed: this label is saved
""")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EASTERN_")}
    return env | {"EASTERN_HOME": str(home), "EASTERN_DB_URL": f"sqlite:///{home / 'eastern.db'}",
                  "PYTHONPATH": str(ROOT)}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=_env(home), capture_output=True,
                          text=True, timeout=300)


def _label_ids(db: Path) -> set[int]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        ids = set(conn.scalars(select(Label.id)))
        assert conn.scalar(select(func.count()).select_from(Label)) == len(ids)
    engine.dispose()
    return ids


def test_backup_under_writers_holds_every_saved_label_and_restores(ctx, tmp_path: Path) -> None:  # noqa: ANN001
    src = tmp_path / "src"
    src.mkdir()
    for seed in range(3):
        write_video(src / f"clip{seed}.mp4", seconds=2.0, seed=seed + 1)
    (src / "m.csv").write_text("filename,caption,venue\n" + "".join(f"clip{i}.mp4,c{i},Gym\n" for i in range(3)))
    report = ingest_path(ctx, src / "m.csv")
    assert report.ok and len(report.added) == 3
    home, dest = ctx.settings.home, tmp_path / "backup"
    videos = ",".join(str(v) for v in report.added)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{i}", videos, "2"], cwd=ROOT, env=_env(home),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    saved: set[int] = set()
    try:
        for _ in range(2):  # every label a writer reported as committed before the backup is called
            for proc in procs:
                for _ in range(5):
                    saved.add(int(proc.stdout.readline()))
            time.sleep(0.3)
        done = _cli(home, "backup", str(dest))
        assert done.returncode == 0, done.stderr
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    in_backup = _label_ids(dest / "eastern.db")
    assert saved <= in_backup, sorted(saved - in_backup)[:5]
    assert len(saved) >= 20
    again = _cli(home, "backup", str(dest), "--verify")
    assert again.returncode == 0 and " 0 file(s) copied" in again.stderr and "complete" in again.stdout, again
    restored = tmp_path / "restored"
    done = _cli(restored, "restore", str(dest))
    assert done.returncode == 0, done.stderr
    assert _label_ids(restored / "eastern.db") >= saved
    doctor = _cli(restored, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    refused = _cli(restored, "restore", str(dest))
    assert refused.returncode == 2 and "not empty" in refused.stderr and "Traceback" not in refused.stderr
    (dest / report_file(dest)).write_bytes(b"damaged")
    checked = _cli(home, "doctor", "--backup", str(dest))
    assert checked.returncode == 1 and "differs" in checked.stdout


def report_file(dest: Path) -> str:
    """One media file of the backup (to damage)."""
    return next(p for p in sorted((dest / "media").rglob("*")) if p.is_file()).relative_to(dest).as_posix()
