"""sign-in failures expire: users.last_failed_at

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04 13:20:00

Failed sign-ins are counted within a window since the last one (app.services.accounts.FAIL_WINDOW_S), so one wrong
guess now and then no longer keeps an account locked; the count and the lock are taken in one transaction.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('last_failed_at')
