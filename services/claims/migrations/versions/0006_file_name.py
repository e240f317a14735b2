"""claim files keep the uploaded file's name, for the pages' file list

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claim_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filename', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('claim_files', schema=None) as batch_op:
        batch_op.drop_column('filename')
