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


def _trigram_indexes(engine) -> set[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'videos' AND right(indexname, 5) = '_trgm'").scalars())


def test_caption_search_reads_trigram_indexes_on_postgres(pg_url: str) -> None:
    """0007 adds GIN trigram indexes on lower(caption) and lower(original_name); the statements Browse sends
    for a caption search can read them (sequential scans off, so that a small table does not hide it)."""
    from sqlalchemy import event

    from db import queries

    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        assert _trigram_indexes(engine) == {"ix_videos_caption_trgm", "ix_videos_name_trgm"}
        with session_scope(engine) as s:
            repo.ensure_venues(s, venues=[("Gym", 101)])
            for i, caption in enumerate(["Amigos at the gym", "leg day", "sunset"]):
                repo.add_video(s, sha256=f"{i:064x}", path=f"media/{i}.mp4", original_name=f"v{i}.mp4",
                               duration=6.0, fps=12.0, width=320, height=240, size_bytes=1, has_audio=True,
                               caption=caption, source="test")
        sent: list[tuple[str, object]] = []

        def keep(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001
            sent.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            with session_scope(engine) as s:
                rows, total = queries.browse(s, model_version_id=None, filters=queries.VideoFilter(text="AMIGOS"))
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        assert total == 1 and [r.caption for r in rows] == ["Amigos at the gym"]
        searches = [(q, p) for q, p in sent if "lower(videos.caption) LIKE" in q]
        assert len(searches) == 2  # the count and the page (which may walk the id index: matches come early)
        (statement, parameters), = [(q, p) for q, p in searches if "count(" in q]
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
        assert "ix_videos_caption_trgm" in plan and "ix_videos_name_trgm" in plan, plan
        dispose_engines()
        downgrade(pg_url, "0006")
        assert _trigram_indexes(make_engine(pg_url)) == set()
    finally:
        dispose_engines()
        downgrade(pg_url, "base")


def test_without_the_right_to_add_pg_trgm_the_upgrade_warns_and_search_still_works(pg_url: str) -> None:
    """A role without CREATE on its database cannot install pg_trgm: 0007 warns, leaves the indexes out and the
    upgrade completes; caption search is then a scan with the same answer."""
    from sqlalchemy.engine import make_url

    from db import queries

    admin = make_engine(pg_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CREATE ROLE limited LOGIN")
        conn.exec_driver_sql("CREATE DATABASE limited_db OWNER postgres")
    dispose_engines()
    root = make_url(pg_url).set(database="limited_db")
    with make_engine(root.render_as_string(hide_password=False)).connect() as conn:
        conn.exec_driver_sql("GRANT ALL ON SCHEMA public TO limited")
        conn.commit()
    dispose_engines()
    url = root.set(username="limited").render_as_string(hide_password=False)
    try:
        with pytest.warns(UserWarning, match="could not create the pg_trgm extension"):
            upgrade(url)
        assert current(url) == "0008"
        engine = make_engine(url)
        assert _trigram_indexes(engine) == set()
        with session_scope(engine) as s:
            repo.ensure_venues(s, venues=[("Gym", 101)])
            repo.add_video(s, sha256="a" * 64, path="media/a.mp4", original_name="Amigos.mp4", duration=6.0,
                           fps=12.0, width=320, height=240, size_bytes=1, has_audio=True, caption="", source="test")
        with session_scope(engine) as s:
            _, total = queries.browse(s, model_version_id=None, filters=queries.VideoFilter(text="amigos"))
        assert total == 1
    finally:
        dispose_engines()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS limited_db WITH (FORCE)")
            conn.exec_driver_sql("DROP ROLE IF EXISTS limited")
        dispose_engines()
