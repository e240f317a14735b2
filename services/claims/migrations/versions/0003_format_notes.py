"""format notes: what the reader repaired in a file (kind, table, records); partial birth dates as written

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Append-only: one row per (batch of records committed, kind, table); a file's note is their sum,
    # so a worker that resumes a file after a crash never counts a record twice.
    op.create_table('claim_format_notes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('table_name', sa.String(length=20), nullable=True),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['claim_files.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('claim_format_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_format_notes_file_id'), ['file_id'], unique=False)

    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ngay_sinh_raw', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_column('ngay_sinh_raw')

    with op.batch_alter_table('claim_format_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_format_notes_file_id'))

    op.drop_table('claim_format_notes')
