"""command answers: each keyed command recorded once (services/common/answers.py)

The gateway frees a request's Idempotency-Key when it answers 5xx, so the person can send the request again; the
command may have been recorded all the same (its reply late, or recorded just before its deadline). Each RPC call
of a keyed request now carries a command key: the service keeps the key's digest with the answer it gave, in the
same transaction as the command's writes, and answers the same key again with it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "command_answers"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_command_answers_created_at", TABLE, ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_command_answers_created_at", table_name=TABLE)
    op.drop_table(TABLE)
