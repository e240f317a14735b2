"""capital funded by a finance allocation: project_capital.funded_by_allocation

Issue 16: a II.5 budget allocation and the project capital it pays for were both counted by the gateway. A capital
row may now name the finance allocation whose money it is (null: not finance's money), so the gateway counts that
money once. Nullable, no default: the rows recorded before stay the projects' own money.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("project_capital", sa.Column("funded_by_allocation", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_project_capital_funded_by_allocation", "project_capital", ["funded_by_allocation"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_project_capital_funded_by_allocation", table_name="project_capital")
    op.drop_column("project_capital", "funded_by_allocation")
