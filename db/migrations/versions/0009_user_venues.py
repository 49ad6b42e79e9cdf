"""own venue categories: venues.parent_id (a tree) and venues.source ('venue188' | 'user')

VENUE-188's 188 Foursquare leaves stay the default tree (source 'venue188', no parent); a team's own
categories are added with source 'user' and an optional parent among the venues.

Plain columns (ALTER TABLE ADD / DROP COLUMN), no table rebuild: rebuilding `venues` on SQLite drops the table that
every video and label references, which foreign keys refuse once there are labelled videos. So parent_id is not a
declared foreign key (SQLite cannot drop such a column without that rebuild); db.repo.add_venue checks the parent,
and venues are never deleted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 13:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('venues', sa.Column('parent_id', sa.Integer(), nullable=True))
    op.add_column('venues', sa.Column('source', sa.String(length=20), server_default='venue188', nullable=False))


def downgrade() -> None:
    op.drop_column('venues', 'source')
    op.drop_column('venues', 'parent_id')
