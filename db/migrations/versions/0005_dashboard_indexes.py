"""indexes for the dashboard at 200k videos (docs/scale.md: EXPLAIN before and after)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:50:00
"""
from __future__ import annotations

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_oos_set_video_label', 'oos_predictions',
     ['set_id', 'video_id', 'label_venue_id', 'suggested_venue_id', 'is_issue']),
    ('ix_oos_set_suggested_prob', 'oos_predictions', ['set_id', 'suggested_probability']),
    ('ix_videos_id_venue', 'videos', ['id', 'current_venue_id']),
    ('ix_labels_who_video', 'labels', ['who', 'video_id']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
