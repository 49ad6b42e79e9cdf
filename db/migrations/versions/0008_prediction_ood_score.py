"""predictions.ood_score: how unlike the model's training videos a video is (core/ood.py)

1.0 is the threshold (the 99th percentile of held-out training videos); Browse's "Only videos unlike the
training data" reads `ood_score > 1` of one model version through `ix_predictions_model_ood`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 13:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('predictions') as batch:
        batch.add_column(sa.Column('ood_score', sa.Float(), nullable=True))
    op.create_index('ix_predictions_model_ood', 'predictions', ['model_version_id', 'ood_score'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_predictions_model_ood', table_name='predictions')
    with op.batch_alter_table('predictions') as batch:
        batch.drop_column('ood_score')
