"""data version: one row bumped by every transaction that writes investment's tables

The stamp of investment's kept funding answers (issue 19): a project's current status is updated in place, so
row counts cannot tell whether an answer is stale; this version can.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('data_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])


def downgrade() -> None:
    op.drop_table('data_version')
