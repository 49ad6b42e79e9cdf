"""dashboard indexes at 200k videos, second round (docs/scale.md: EXPLAIN before and after)

- `ix_oos_set_pair`: `queries.oos_confused_pairs` and `queries.issue_counts` read a set's rows from
  oos_predictions alone (the few relabelled videos are joined apart); this index holds them in
  (label, suggestion) order, so the pairs are grouped without a temporary B-tree.
- `ix_videos_caption_name`, SQLite only: a caption search counts its matches over this narrow copy of
  the two columns instead of the wide rows (a PostgreSQL B-tree would refuse captions over ~2.7 kB).
- ANALYZE: databases upgraded here get the planner statistics that `repo.refresh_statistics` keeps
  after each bulk write.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    op.create_index('ix_oos_set_pair', 'oos_predictions',
                    ['set_id', 'label_venue_id', 'suggested_venue_id', 'is_issue'], unique=False)
    if _sqlite():
        op.create_index('ix_videos_caption_name', 'videos', ['caption', 'original_name'], unique=False)
    op.execute(sa.text('ANALYZE'))


def downgrade() -> None:
    if _sqlite():
        op.drop_index('ix_videos_caption_name', table_name='videos')
    op.drop_index('ix_oos_set_pair', table_name='oos_predictions')
