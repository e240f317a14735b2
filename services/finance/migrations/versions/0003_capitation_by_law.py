"""capitation by the law: quarterly reports, results and payments; the year's settlement; surplus uses

Quarterly settlement reports (with the advance they give and its due date), BHXH's quarterly results and
the payments, refunds and offsets that settle them — all append-only money rows with the same triggers as
0002. Settlements say whether they are provisional (a quarter) or final (a year) and keep the decision that
set the stations' share. Allocations keep the legal use of 20% surplus money.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_MONEY_TABLES = ("capitation_reports", "capitation_results", "capitation_payments")


def _append_only_triggers() -> None:
    # finance_append_only() exists since 0002 on PostgreSQL.
    for table in NEW_MONEY_TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION finance_append_only()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only: {action} of {table} refused'); END"
                )


def upgrade() -> None:
    op.create_table(
        "capitation_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("facility_code", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fee_for_service", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("capitation", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("drg", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("advance", sa.BigInteger(), nullable=False),
        sa.Column("advance_period", sa.String(length=7), nullable=False),
        sa.Column("advance_due", sa.Date(), nullable=False),
        sa.Column("result_due", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=True),
        sa.Column("supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["supersedes_id"], ["capitation_reports.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_capitation_reports_facility_period", "capitation_reports", ["facility_code", "period"])
    op.create_table(
        "capitation_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("facility_code", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_date", sa.Date(), nullable=False),
        sa.Column("assessed", sa.Integer(), nullable=False),
        sa.Column("pending", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("approved", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("approved_vnd", sa.BigInteger(), nullable=False),
        sa.Column("advanced", sa.BigInteger(), nullable=False),
        sa.Column("to_pay", sa.BigInteger(), nullable=False),
        sa.Column("payment_due", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["capitation_reports.id"]),
        sa.ForeignKeyConstraint(["supersedes_id"], ["capitation_results.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_capitation_results_facility_period", "capitation_results", ["facility_code", "period"])
    op.create_table(
        "capitation_payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("facility_code", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("result_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("offset_period", sa.String(length=7), nullable=True),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_capitation_payments_amount_positive"),
        sa.ForeignKeyConstraint(["result_id"], ["capitation_results.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_capitation_payments_facility_period", "capitation_payments", ["facility_code", "period"])
    # Plain ADD COLUMN (never a batch copy, which would drop 0002's triggers on SQLite).
    op.add_column("capitation_settlements", sa.Column("provisional", sa.Boolean(), nullable=True))
    op.add_column("capitation_settlements", sa.Column("station_share_decision_no", sa.String(length=80), nullable=True))
    op.add_column("capitation_settlements", sa.Column("station_share_decision_date", sa.Date(), nullable=True))
    op.add_column("allocations", sa.Column("surplus_use", sa.String(length=40), nullable=True))
    _append_only_triggers()


def downgrade() -> None:
    op.drop_column("allocations", "surplus_use")
    op.drop_column("capitation_settlements", "station_share_decision_date")
    op.drop_column("capitation_settlements", "station_share_decision_no")
    op.drop_column("capitation_settlements", "provisional")
    for table in reversed(NEW_MONEY_TABLES):
        op.drop_table(table)
