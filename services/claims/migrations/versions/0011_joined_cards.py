"""joined cards: a partial index of the claims made under several cards

MA_THE_BHYT of a visit under several cards holds them joined by ";" (QĐ 130). A search for one card matched only a
claim's whole value, so a visit made partly under that card was not found. The search now also reads the claims
whose value holds a ";" (services/claims/views.py, card_clause), through this partial index: the few multi-card
claims, not every claim.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WHERE = sa.text("ma_the_bhyt LIKE '%;%'")


def upgrade() -> None:
    op.create_index("ix_claims_joined_cards", "claims", ["ma_the_bhyt"], sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_claims_joined_cards", table_name="claims")
