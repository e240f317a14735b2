"""file chunks: a large file's records cut into runs that any claims replica may load (issue 19)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table(
        'file_chunks',
        sa.Column('file_id', big_id, sa.ForeignKey('claim_files.id'), primary_key=True),
        sa.Column('chunk_no', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('first', sa.Integer(), nullable=False),
        sa.Column('end', sa.Integer(), nullable=False),
        sa.Column('next_index', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('accepted', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('warnings', sa.Integer(), nullable=False),
        sa.Column('byte_start', sa.BigInteger(), nullable=True),
        sa.Column('byte_end', sa.BigInteger(), nullable=True),
        sa.Column('head_end', sa.BigInteger(), nullable=True),
        sa.Column('tail_start', sa.BigInteger(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_owner', sa.String(80), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    # The stall timer's question: pending chunks whose worker is gone.
    op.create_index('ix_file_chunks_status', 'file_chunks', ['status'])
    # A file checked but not finished under the previous revision was loaded from its start, in order: it becomes
    # one chunk of all its records that resumes where it stood (its `next_index`, the records committed), with
    # the counts it has, so the stall timer finishes it on the new path (its file-level warnings, which the
    # previous revision stored only when finishing, are then missing). Files not yet checked need nothing.
    op.execute(
        "INSERT INTO file_chunks (file_id, chunk_no, first, \"end\", next_index, status, accepted, rejected, "
        "warnings, attempts, created_at) "
        "SELECT id, 0, 0, total, next_index, CASE WHEN next_index >= total THEN 'done' ELSE 'pending' END, "
        "accepted, rejected, warnings, 0, uploaded_at FROM claim_files "
        "WHERE status = 'processing' AND total IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index('ix_file_chunks_status', table_name='file_chunks')
    op.drop_table('file_chunks')
