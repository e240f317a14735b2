"""project capital of the 20% BHYT surplus: its fund year and legal use

Capital of `bhyt_surplus_20` names the fund year of the surplus (2015–2020, before the fiscal year) and one of
the four legal uses, like finance's allocations (services/common/surplus.py). Earlier rows keep NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("project_capital", sa.Column("fund_year", sa.Integer(), nullable=True))
    op.add_column("project_capital", sa.Column("surplus_use", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("project_capital", "surplus_use")
    op.drop_column("project_capital", "fund_year")
