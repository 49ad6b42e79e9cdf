"""the corpus map: embedding runs (vectors, layouts, indexes of a model version), data issues found in them, and
saved selections of videos

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'embedding_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_version_id', sa.Integer(), nullable=False),
        sa.Column('features_version', sa.String(length=80), nullable=False),
        sa.Column('version', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('stages_done', sa.JSON(), nullable=False),
        sa.Column('n_videos', sa.Integer(), nullable=False),
        sa.Column('artifact_dir', sa.String(length=400), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['training_jobs.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_embedding_runs_model', 'embedding_runs', ['model_version_id', 'features_version', 'version'],
                    unique=False)
    op.create_table(
        'data_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=20), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('is_issue', sa.Boolean(), nullable=False),
        sa.Column('duplicate_of', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['embedding_runs.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'video_id', 'type', name='uq_data_issue'),
    )
    op.create_index('ix_data_issues_run_type', 'data_issues', ['run_id', 'type', 'is_issue', 'video_id'],
                    unique=False)
    op.create_table(
        'saved_selections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'saved_selection_videos',
        sa.Column('selection_id', sa.Integer(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['selection_id'], ['saved_selections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('selection_id', 'video_id'),
    )


def downgrade() -> None:
    op.drop_table('saved_selection_videos')
    op.drop_table('saved_selections')
    op.drop_index('ix_data_issues_run_type', table_name='data_issues')
    op.drop_table('data_issues')
    op.drop_index('ix_embedding_runs_model', table_name='embedding_runs')
    op.drop_table('embedding_runs')
