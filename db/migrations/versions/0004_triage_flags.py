"""triage flags (dead modalities) per video

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:45:00

Adds `video_triage`: one row per video with its flags as ",flag,flag," (no or near-silent audio, black or flat
frames, frozen picture, empty caption, no readable caption word; thresholds in core/features/triage.py), the
measures they came from, and the rule version. The rows are backfilled by the application, not here (db/ does not
decode videos): `app.services.triage.compute_missing` runs at the end of every feature extraction
(`python -m app features`, the first `make run`), and computes every video that has no row of the current version.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('video_triage',
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('flags', sa.String(length=200), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('video_id')
    )


def downgrade() -> None:
    op.drop_table('video_triage')
