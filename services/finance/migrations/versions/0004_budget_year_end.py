"""budget year end: carry-over (chuyển nguồn) and close (quyết toán) of an allocation's undisbursed money

One append-only money table, `year_end_records`, with the same triggers as 0002 and 0003. A correction is
a negative record naming the one it reverses (`reverses_id`), as disbursements do.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "year_end_records"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("decision_no", sa.String(length=80), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="ck_year_end_records_sign",
        ),
        sa.CheckConstraint("kind IN ('carry_over', 'close')", name="ck_year_end_records_kind"),
        sa.ForeignKeyConstraint(["allocation_id"], ["allocations.id"]),
        sa.ForeignKeyConstraint(["reverses_id"], ["year_end_records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_year_end_records_allocation_id", TABLE, ["allocation_id"])
    # finance_append_only() exists since 0002 on PostgreSQL.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION finance_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'append-only: {action} of {TABLE} refused'); END"
            )


def downgrade() -> None:
    op.drop_table(TABLE)
