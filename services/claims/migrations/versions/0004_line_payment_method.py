"""payment method per line: Σ line T_BHTT by MA_PTTT kept on each claim; commune stations by investment's event

Spend (capitation, fee for service, DRG) is Σ line T_BHTT with MA_PTTT = 2, 1, 3; it was derived from XML1
T_BHTT_GDV, which real exporters write as 0. Existing claims are filled from their stored lines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_METHODS = (('bhtt_fee_for_service', '1'), ('bhtt_capitation', '2'), ('bhtt_drg', '3'))


def upgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        for column, _ in _METHODS:
            batch_op.add_column(sa.Column(column, sa.Numeric(precision=18, scale=2), nullable=True))
    for column, method in _METHODS:
        # A one-off backfill of the new columns; claims stay append-only for everything else.
        op.execute(
            f"UPDATE claims SET {column} = (SELECT COALESCE(SUM(claim_lines.t_bhtt), 0) FROM claim_lines "  # noqa: S608  # nosec B608 - constants of this migration
            f"WHERE claim_lines.claim_id = claims.id AND claim_lines.ma_pttt = '{method}')"
        )
    op.create_table('commune_stations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('station_code', sa.String(length=10), nullable=False),
    sa.Column('facility_code', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('commune_stations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_stations_facility_code'), ['facility_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_commune_stations_station_code'), ['station_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commune_stations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_stations_station_code'))
        batch_op.drop_index(batch_op.f('ix_commune_stations_facility_code'))
    op.drop_table('commune_stations')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        for column, _ in reversed(_METHODS):
            batch_op.drop_column(column)
