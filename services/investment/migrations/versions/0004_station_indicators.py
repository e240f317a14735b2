"""station indicator facts per unit and year, append-only versions

The facts behind the plans' targets (population, managed health records, doctors and their days, family
medicine, technical services, national criteria, BHYT eligibility) per commune station or district health
centre and year, each version with its source; a correction is the next version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "station_indicators",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("unit_code", sa.String(length=10), nullable=False),
        sa.Column("unit_valid_from", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=True),
        sa.Column("population_managed", sa.BigInteger(), nullable=True),
        sa.Column("doctors", sa.Integer(), nullable=True),
        sa.Column("doctor_days_per_week", sa.Integer(), nullable=True),
        sa.Column("doctors_family_medicine", sa.Integer(), nullable=True),
        sa.Column("services_performed", sa.Integer(), nullable=True),
        sa.Column("services_in_list", sa.Integer(), nullable=True),
        sa.Column("national_criteria_met", sa.Boolean(), nullable=True),
        sa.Column("criteria_scores", sa.JSON(), nullable=True),
        sa.Column("bhyt_eligible", sa.Boolean(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_code", "unit_valid_from", "year", "version"),
    )
    op.create_index("ix_station_indicators_year", "station_indicators", ["year", "unit_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_station_indicators_year", table_name="station_indicators")
    op.drop_table("station_indicators")
