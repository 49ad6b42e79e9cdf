"""caption search on PostgreSQL through trigram indexes (pg_trgm), where the server allows the extension

Browse's caption search is `lower(caption) LIKE '%word%' OR lower(original_name) LIKE '%word%'`: a B-tree
cannot serve a pattern with a leading wildcard, so PostgreSQL scanned all 200k rows (68 ms to count the
matches, 67 ms for the first page). GIN trigram indexes on the two lower() expressions turn it into a
bitmap OR of two index scans: 3.4 ms and 4.5 ms (EXPLAIN ANALYZE at 200k, docs/scale.md).

pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13: a role with CREATE
on the database installs it. Where the server has no pg_trgm, or the role may not install it, the search
keeps working without the indexes: the migration says so in a warning and goes on (inside a savepoint, so
the rest of the upgrade is unharmed). SQLite has its own narrow index for this (0006) and gets nothing here.
The indexes are not in db.models for that reason: they exist only where the extension does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:00:00
"""
from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LATER = ("caption search scans the videos table instead (same answers, slower at 100k+ videos); to add the "
         "indexes later, as a role that may create pg_trgm: `alembic -x url=URL downgrade 0006`, then "
         "`python -m app migrate`")
INDEXES = {'ix_videos_caption_trgm': 'caption', 'ix_videos_name_trgm': 'original_name'}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    if not _postgresql():
        return
    bind = op.get_bind()
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if available is None:
        warnings.warn(f"pg_trgm is not installed on this PostgreSQL server: {LATER}", stacklevel=1)
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        warnings.warn(f"could not create the pg_trgm extension ({reason}): {LATER}", stacklevel=1)
        return
    for name, column in INDEXES.items():
        op.execute(sa.text(f'CREATE INDEX IF NOT EXISTS {name} ON videos USING gin (lower({column}) gin_trgm_ops)'))
    op.execute(sa.text('ANALYZE videos'))


def downgrade() -> None:
    if not _postgresql():
        return
    for name in INDEXES:
        op.execute(sa.text(f'DROP INDEX IF EXISTS {name}'))
