"""The same migrations and label conflict check on a real PostgreSQL server, by changing the URL.

Starts a throwaway cluster with the machine's PostgreSQL binaries (tests/pg.py: initdb/pg_ctl on PATH or in
/usr/lib/postgresql/N/bin, as the `postgres` user under root); skips where they are not installed. `.ci/run`
installs Debian's postgresql, so CI runs these.
"""
from __future__ import annotations

import contextlib

import pytest

from db import repo
from db.migrate import current, downgrade, upgrade
from db.session import dispose_engines, make_engine, session_scope
from tests.pg import NoServer, throwaway_postgres


@pytest.fixture(scope="module")
def pg_url():
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_postgres())
        except NoServer as exc:
            pytest.skip(str(exc))
        stack.callback(dispose_engines)  # before the server stops
        yield url


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
