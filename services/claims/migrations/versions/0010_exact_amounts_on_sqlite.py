"""exact amounts on SQLite: NUMERIC values kept as whole units of their last place

SQLite has no decimal type, so its NUMERIC columns held amounts as binary floating point. The models now keep them
as whole units of the column's scale there (`ExactNumeric`, services/common/db.py: 123.45 đồng is 12345), which
this migration applies to the rows already stored. PostgreSQL's NUMERIC is exact and is left as it is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 19:10:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# table -> (column, scale) of every NUMERIC column of the claims database
COLUMNS = {
    "claims": [
        (name, 2)
        for name in (
            "t_tongchi_bv", "t_tongchi_bh", "t_bntt", "t_bncct", "t_bhtt", "t_nguonkhac", "t_bhtt_gdv",
            "bhtt_fee_for_service", "bhtt_capitation", "bhtt_drg",
        )
    ],
    "claim_lines": [("quantity", 3), ("unit_price", 3)]
    + [
        (name, 2)
        for name in (
            "tyle_tt_bh", "thanh_tien_bv", "thanh_tien_bh", "muc_huong", "t_nguonkhac", "t_bntt", "t_bncct", "t_bhtt",
        )
    ],
    "assessments": [("requested", 2), ("approved_amount", 2)],
}


def convert(conn: Connection, to_units: bool) -> None:
    """The stored amounts to whole units (or back to floating point), on SQLite; nothing elsewhere."""
    if conn.dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        sets = ", ".join(
            # ROUND(x * 10^s) of a float that was written from an s-place decimal is that decimal's units exactly
            f"{c} = CAST(ROUND({c} * {10**s}) AS INTEGER)" if to_units else f"{c} = {c} / {10**s}.0"
            for c, s in columns
        )
        conn.execute(text(f"UPDATE {table} SET {sets}"))  # noqa: S608  # nosec B608 - names from the list above


def upgrade() -> None:
    convert(op.get_bind(), to_units=True)


def downgrade() -> None:
    convert(op.get_bind(), to_units=False)
