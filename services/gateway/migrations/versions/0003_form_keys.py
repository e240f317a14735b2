"""page form keys: an idempotent answer may be a redirect

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:40:00

A page form carries a hidden `form_key`; the first sending's answer (the redirect to what it recorded) is
kept under it like an Idempotency-Key's, so a double click or a resent form records nothing twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('location')
