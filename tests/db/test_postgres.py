"""The same migrations and label conflict check on a real PostgreSQL server, by changing the URL.

Starts a throwaway cluster with the machine's PostgreSQL binaries (initdb/pg_ctl as the `postgres`
user); skips where they are not installed.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from db import repo
from db.migrate import current, downgrade, upgrade
from db.session import dispose_engines, make_engine, session_scope


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    # pytest's temp root is private to root; the server user needs a folder it can reach.
    base = Path(tempfile.mkdtemp(prefix="eastern-pg-"))
    base.chmod(0o777)
    data = base / "data"
    port = _free_port()
    made = subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                          capture_output=True, text=True, cwd=base)
    if made.returncode != 0:
        pytest.fail(f"initdb failed: {made.stderr.strip()[-500:]}")
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", opts, "-w", "-l", str(data / "log"), "start"],
                   check=True, capture_output=True, cwd=base)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        dispose_engines()
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, cwd=base)
        shutil.rmtree(base, ignore_errors=True)


def test_migrations_and_conflicts_on_postgres(pg_url: str) -> None:
    upgrade(pg_url)
    assert current(pg_url) is not None
    engine = make_engine(pg_url)
    with session_scope(engine) as s:
        repo.ensure_venues(s, venues=[("Gym", 101), ("Garden", 29)])
        vid = repo.add_video(s, sha256="f" * 64, path="media/x.mp4", original_name="x.mp4", duration=6.0, fps=12.0,
                             width=320, height=240, size_bytes=1, has_audio=True, caption="ß 篮球", source="test")
        version = repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="gym"), who="demo",
                                 expected_version=None)
    with session_scope(engine) as s:
        repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Garden"), who="alice",
                       expected_version=version)
    with pytest.raises(repo.LabelConflict), session_scope(engine) as s:
        repo.set_label(s, video_id=vid, venue_id=repo.venue_id(s, name="Gym"), who="bob", expected_version=version)
    with session_scope(engine) as s:
        assert repo.get_video(s, video_id=vid).current_venue == "Garden"
        assert repo.get_video(s, video_id=vid).caption == "ß 篮球"
    dispose_engines()
    downgrade(pg_url, "base")
    assert current(pg_url) is None


def test_dashboard_aggregates_on_postgres(pg_url: str) -> None:
    """The 200k-shaped aggregates (corpus counts, label-issue counts, confused pairs, caption search) equal a
    Python count on PostgreSQL too (its NOT IN and lower() LIKE branches, its collation)."""
    from tests.db.test_dashboard_queries import check_against_python

    upgrade(pg_url)
    try:
        check_against_python(make_engine(pg_url))
    finally:
        dispose_engines()
        downgrade(pg_url, "base")
