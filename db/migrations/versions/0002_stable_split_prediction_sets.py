"""stable evaluation split, out-of-sample prediction sets, job kinds

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:00:00

Adds videos.split (filled by app.services.splits.ensure_splits at the next start: the split's rule lives in
core/splits.py, which db/ does not import), the app_meta table with a fresh random split salt, the
prediction_sets / oos_predictions tables of cross-validation, and training_jobs.kind.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table('app_meta',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.bulk_insert(meta, [{'key': 'split_salt', 'value': secrets.token_hex(16)}])
    with op.batch_alter_table('videos') as batch:
        batch.add_column(sa.Column('split', sa.String(length=8), nullable=True))
        batch.create_index('ix_videos_split_venue', ['split', 'current_venue_id'], unique=False)
    with op.batch_alter_table('training_jobs') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), server_default='train', nullable=False))
    op.create_table('prediction_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('architecture', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('features_version', sa.String(length=80), nullable=False),
    sa.Column('venue_ids', sa.JSON(), nullable=False),
    sa.Column('label_snapshot_id', sa.Integer(), nullable=False),
    sa.Column('label_snapshot_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('n_videos', sa.Integer(), nullable=False),
    sa.Column('folds_done', sa.JSON(), nullable=False),
    sa.Column('n_issues', sa.Integer(), nullable=True),
    sa.Column('artifact_dir', sa.String(length=400), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['training_jobs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('oos_predictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('fold', sa.Integer(), nullable=False),
    sa.Column('label_venue_id', sa.Integer(), nullable=False),
    sa.Column('label_probability', sa.Float(), nullable=False),
    sa.Column('suggested_venue_id', sa.Integer(), nullable=False),
    sa.Column('suggested_probability', sa.Float(), nullable=False),
    sa.Column('quality', sa.Float(), nullable=False),
    sa.Column('is_issue', sa.Boolean(), nullable=False),
    sa.Column('topk', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['label_venue_id'], ['venues.id'], ),
    sa.ForeignKeyConstraint(['set_id'], ['prediction_sets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['suggested_venue_id'], ['venues.id'], ),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('set_id', 'video_id', name='uq_oos_set_video')
    )
    op.create_index('ix_oos_set_quality', 'oos_predictions', ['set_id', 'quality'], unique=False)
    op.create_index('ix_oos_video', 'oos_predictions', ['video_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_oos_video', table_name='oos_predictions')
    op.drop_index('ix_oos_set_quality', table_name='oos_predictions')
    op.drop_table('oos_predictions')
    op.drop_table('prediction_sets')
    with op.batch_alter_table('training_jobs') as batch:
        batch.drop_column('kind')
    with op.batch_alter_table('videos') as batch:
        batch.drop_index('ix_videos_split_venue')
        batch.drop_column('split')
    op.drop_table('app_meta')
