"""Database preparation: migrate to head and seed the venue table."""
from __future__ import annotations

from app.context import AppContext
from core.venues import venue188
from db import repo
from db.migrate import upgrade
from db.session import session_scope


def prepare_database(ctx: AppContext) -> None:
    """Migrate to head, make sure all 188 VENUE-188 venues exist and every video has its stable split."""
    from app.services.splits import ensure_splits

    upgrade(ctx.settings.db_url)
    with session_scope(ctx.engine) as session:
        repo.ensure_venues(session, venues=[(name, vid) for vid, name in venue188()])
    ensure_splits(ctx)
