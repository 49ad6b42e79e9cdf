"""The stable evaluation split: every video gets train or test once (core.splits), from its content hash and
the salt the database keeps; a label correction never moves it. Every training path reads it from here."""
from __future__ import annotations

import secrets
from collections.abc import Iterator

from app.context import AppContext
from core.splits import SplitCandidate, assign_stable_splits
from db import repo
from db.session import session_scope

SALT_KEY = "split_salt"


def split_salt(session) -> str:  # noqa: ANN001 - a Session
    """The database's split salt (made once, if a database predates it)."""
    salt = repo.get_meta(session, key=SALT_KEY)
    if salt is None:
        salt = secrets.token_hex(16)
        repo.set_meta(session, key=SALT_KEY, value=salt)
    return salt


def ensure_splits(ctx: AppContext) -> int:
    """Give every video without a split its split (after ingest, and the backfill of databases from before
    migration 0002); videos that have one keep it. Returns how many were assigned."""
    with session_scope(ctx.engine) as session:
        pending = repo.videos_without_split(session)
        if not pending:
            return 0
        salt = split_salt(session)
        existing = repo.split_counts(session)
        chosen = assign_stable_splits(
            [SplitCandidate(vid, sha, venue) for vid, sha, venue in pending],
            salt=salt, test_share=ctx.settings.test_share, existing=existing,
        )
        return repo.set_splits(session, splits=chosen)


def iter_splits(ctx: AppContext) -> Iterator[dict[str, object]]:
    """{"video_id", "split"} for every video, streamed (assigning missing ones first)."""
    ensure_splits(ctx)
    with session_scope(ctx.engine) as session:
        for vid, split in repo.iter_splits(session):
            yield {"video_id": vid, "split": split}
