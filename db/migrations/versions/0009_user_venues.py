"""own venue categories: venues.parent_id (a tree) and venues.source ('venue188' | 'user')

VENUE-188's 188 Foursquare leaves stay the default tree (source 'venue188', no parent); a team's own
categories are added with source 'user' and an optional parent among the venues.

Revision ID: 0009
Revises: 0007 (rechained after 0008 at merge)
Create Date: 2026-12-04 13:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('venues') as batch:
        batch.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('source', sa.String(length=20), server_default='venue188', nullable=False))
        batch.create_foreign_key('fk_venues_parent_id', 'venues', ['parent_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('venues') as batch:
        batch.drop_constraint('fk_venues_parent_id', type_='foreignkey')
        batch.drop_column('source')
        batch.drop_column('parent_id')
