"""yearly reports: the sections a unit writes itself, and who has submitted their report

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:35:00

`report_sections` keeps a unit's "Tồn tại, hạn chế" and "Kiến nghị, đề xuất" per year (append-only, the
latest printed); `report_submissions` each unit's yearly report as sent (date, document, file name), so the
plan shows who has reported and who is late after 30/11 (plan section V).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('report_sections',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('shortcomings', sa.Text(), nullable=False),
    sa.Column('proposals', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=140), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_sections_unit'), ['unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_sections_year'), ['year'], unique=False)

    op.create_table('report_submissions',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=140), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_submissions_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_submissions_unit'), ['unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_submissions_year'), ['year'], unique=False)


def downgrade() -> None:
    op.drop_table('report_submissions')
    op.drop_table('report_sections')
