"""allocations by decision number: what an imported sheet of allocations is matched against

`import_allocations` reads the allocations of the sheet's decision numbers in one query (repository
`recorded_by_key`); without an index that query reads every allocation of the province, each import.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_allocations_decision_no", "allocations", ["decision_no"])


def downgrade() -> None:
    op.drop_index("ix_allocations_decision_no", table_name="allocations")
