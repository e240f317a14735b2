"""capitation spend by the card's registered facility (MA_DKBD) kept beside the treating facility's figures

The capitation fund of a facility bears the cost of the cards registered there, including their visits to
other facilities (NĐ 146/2018 Điều 25 k2 as amended by NĐ 75/2023; issue 16). The facility-quarter totals get
three columns keyed by the registered facility; they are backfilled from the accepted claims with the rule of
services/claims/domain/totals.py as it stands at this revision (the first card's MA_DKBD; none: the treating
facility), copied here so that a later change of the rule does not change what this revision did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_COLUMNS = ('registered_claims', 'capitation_registered', 'capitation_own')
_CODE = re.compile(r'^\d{2}[0-9A-Z]{3}$')
_CLAIMS = sa.text(
    'SELECT facility_code, COALESCE(period_year, 0), COALESCE(period_quarter, 0), ma_dkbd, '
    'COALESCE(CAST(ROUND(bhtt_capitation * 100) AS BIGINT), 0) FROM claims WHERE status = \'accepted\''
)


def _registered(ma_dkbd: str | None, treating: str) -> str:
    for part in (ma_dkbd or '').split(';'):
        if part.strip():
            code = part.strip().upper()
            return code if _CODE.match(code) else treating
    return treating


def upgrade() -> None:
    with op.batch_alter_table('facility_quarter_totals', schema=None) as batch_op:
        for column in _COLUMNS:
            batch_op.add_column(sa.Column(column, sa.BigInteger(), nullable=False, server_default='0'))
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    """The three columns from the accepted claims, over rows whose other columns are already kept (0005)."""
    sums: dict[tuple[str, int, int], list[int]] = {}
    result = conn.execute(_CLAIMS.execution_options(stream_results=True))
    while rows := result.fetchmany(10_000):
        for treating, year, quarter, ma_dkbd, capitation in rows:
            registered = _registered(ma_dkbd, treating)
            row = sums.setdefault((registered, int(year), int(quarter)), [0, 0, 0])
            row[0] += 1
            row[1] += int(capitation)
            row[2] += int(capitation) if registered == treating else 0
    table = sa.table(
        'facility_quarter_totals',
        *(sa.column(c) for c in ('facility_code', 'period_year', 'period_quarter', 'claims', 'assessed', 'requested',
                                 'approved', 'rejected', 'pending', 'fee_for_service', 'capitation', 'drg',
                                 *_COLUMNS)),
    )
    for (facility, year, quarter), (count, registered, own) in sorted(sums.items()):
        values = {'registered_claims': count, 'capitation_registered': registered, 'capitation_own': own}
        key = (table.c.facility_code == facility) & (table.c.period_year == year) & (table.c.period_quarter == quarter)
        done = conn.execute(table.update().where(key).values(**values)).rowcount
        if not done:  # a facility whose cards were treated elsewhere only
            zeros = dict.fromkeys(('claims', 'assessed', 'requested', 'approved', 'rejected', 'pending',
                                   'fee_for_service', 'capitation', 'drg'), 0)
            conn.execute(table.insert().values(
                facility_code=facility, period_year=year, period_quarter=quarter, **zeros, **values
            ))


def downgrade() -> None:
    # Rows of facilities that only had cards treated elsewhere are all zero in the columns that stay.
    op.execute(
        'DELETE FROM facility_quarter_totals WHERE claims = 0 AND assessed = 0 AND requested = 0 AND capitation = 0'
    )
    with op.batch_alter_table('facility_quarter_totals', schema=None) as batch_op:
        for column in _COLUMNS:
            batch_op.drop_column(column)
