"""Database preparation: migrate to head and seed the venue table."""
from __future__ import annotations

from app.context import AppContext
from core.venues import venue188
from db import repo
from db.migrate import upgrade
from db.session import session_scope


def _owner_only_database(ctx: AppContext) -> None:
    """The SQLite file and its journals readable by their owner only (0600)."""
    from pathlib import Path

    from app.settings import owner_only

    url = ctx.settings.db_url
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url.split("///", 1)[1])
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists():
            owner_only(each, 0o600)


def prepare_database(ctx: AppContext) -> None:
    """Migrate to head, make sure all 188 VENUE-188 venues exist and every video has its stable split."""
    from app.services.splits import ensure_splits

    upgrade(ctx.settings.db_url)
    _owner_only_database(ctx)
    with session_scope(ctx.engine) as session:
        repo.ensure_venues(session, venues=[(name, vid) for vid, name in venue188()])
    ensure_splits(ctx)
