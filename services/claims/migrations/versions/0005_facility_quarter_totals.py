"""facility-quarter totals kept by intake and assessment, backfilled from the claims

The reconciliation and the capitation summary read these rows instead of scanning claims (issue 19). The
backfill computes exactly what the scan computed: accepted claims, their newest assessment, sums in cents.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_CENTS = 'CAST(ROUND({} * 100) AS BIGINT)'
_BACKFILL = f"""
INSERT INTO facility_quarter_totals (facility_code, period_year, period_quarter, claims, assessed, requested,
    approved, rejected, pending, fee_for_service, capitation, drg)
SELECT facility_code, y, q, COUNT(*), COUNT(aid), COALESCE(SUM(req), 0),
    COALESCE(SUM(CASE WHEN aid IS NOT NULL THEN appr END), 0),
    COALESCE(SUM(CASE WHEN aid IS NOT NULL THEN req - appr END), 0),
    COALESCE(SUM(CASE WHEN aid IS NULL THEN req END), 0),
    COALESCE(SUM(ffs), 0), COALESCE(SUM(cap), 0), COALESCE(SUM(drg), 0)
FROM (
    SELECT c.facility_code, COALESCE(c.period_year, 0) AS y, COALESCE(c.period_quarter, 0) AS q, latest.aid,
        COALESCE({_CENTS.format('c.t_bhtt')}, 0) AS req, {_CENTS.format('a.approved_amount')} AS appr,
        COALESCE({_CENTS.format('c.bhtt_fee_for_service')}, 0) AS ffs,
        COALESCE({_CENTS.format('c.bhtt_capitation')}, 0) AS cap,
        COALESCE({_CENTS.format('c.bhtt_drg')}, 0) AS drg
    FROM claims c
    LEFT JOIN (SELECT claim_id, MAX(id) AS aid FROM assessments GROUP BY claim_id) latest ON latest.claim_id = c.id
    LEFT JOIN assessments a ON a.id = latest.aid
    WHERE c.status = 'accepted'
) t
GROUP BY facility_code, y, q
"""  # noqa: S608  # nosec B608 - constants of this migration


def upgrade() -> None:
    op.create_table('facility_quarter_totals',
    sa.Column('facility_code', sa.String(length=10), nullable=False),
    sa.Column('period_year', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('period_quarter', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('claims', sa.BigInteger(), nullable=False),
    sa.Column('assessed', sa.BigInteger(), nullable=False),
    sa.Column('requested', sa.BigInteger(), nullable=False),
    sa.Column('approved', sa.BigInteger(), nullable=False),
    sa.Column('rejected', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('fee_for_service', sa.BigInteger(), nullable=False),
    sa.Column('capitation', sa.BigInteger(), nullable=False),
    sa.Column('drg', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('facility_code', 'period_year', 'period_quarter')
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table('facility_quarter_totals')
